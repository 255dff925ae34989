"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import time

import httpx

from app.config import Settings
from app.demo.fake import DemoPve
from tests.factories import make_user, signed_in
from tests.servers import AppServer


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_proxmox(client: httpx.Client, pve: DemoPve) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["checks"] == {"database": "ok", "proxmox": "ok"}
    pve.fail("GET", "/version", 401, "authentication failure")
    failing = client.get("/readyz")
    assert failing.status_code == 503
    assert failing.json()["checks"]["proxmox"].startswith("error: ")


def test_metrics_count_upstream_requests_by_templated_path(app_server: AppServer, settings: Settings) -> None:
    with signed_in(app_server.url, make_user(settings, "viewer")) as http:
        time.sleep(0.6)
        http.get("/")
        http.get("/")  # within the cache TTL: served from the cache
        text = http.get("/metrics").text
    assert 'proxgate_upstream_requests_total{method="GET",path="/cluster/resources"' in text
    assert 'path="/nodes/{node}/status"' in text
    assert 'proxgate_cache_lookups_total{cache="cluster_resources",result="hit"}' in text
    assert 'proxgate_http_requests_total{method="GET",route="/",status="200"}' in text
