"""Prometheus metrics: HTTP requests, upstream (PVE) requests and cache lookups."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from app.services.audit import Checkpoint

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "proxgate_http_requests_total",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "proxgate_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upstream_requests = Counter(
            "proxgate_upstream_requests_total",
            "Requests sent to Proxmox VE",
            ["method", "path", "status"],
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "proxgate_upstream_request_duration_seconds",
            "Proxmox VE request latency",
            ["method", "path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "proxgate_cache_lookups_total", "Cache lookups", ["cache", "result"], registry=self.registry
        )
        # A scraper keeps this history outside the database: the chain can never be shorter than it said.
        self.audit_head_seq = Gauge(
            "proxgate_audit_head_seq",
            "Sequence number of the audit chain's head at the last signed checkpoint",
            registry=self.registry,
        )

    def request_done(self, method: str, path_template: str, status: str, seconds: float) -> None:
        """Record one upstream request (the PveClient's observer hook)."""
        self.upstream_requests.labels(method, path_template, status).inc()
        self.upstream_latency.labels(method, path_template).observe(seconds)

    def cache_lookup(self, cache: str, hit: bool) -> None:
        """Record a cache hit or miss (the PveClient's observer hook)."""
        self.cache_lookups.labels(cache, "hit" if hit else "miss").inc()

    def audit_checkpointed(self, checkpoint: Checkpoint) -> None:
        """Record the head of a checkpoint just written (the audit chain's on_checkpoint hook)."""
        self.audit_head_seq.set(checkpoint.seq)

    def render(self) -> bytes:
        """The exposition text for /metrics."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts requests and their latency, labelled by the matched route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.http_requests.labels(method, template, str(status)).inc()
            self.metrics.http_latency.labels(method, template).observe(time.perf_counter() - started)
