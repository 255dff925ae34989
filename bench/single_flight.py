"""Benchmark: 100 concurrent cluster_resources() calls share one upstream request (single-flight).

Serves a fakepve with ~10,000 guests over TLS (with added network latency), then compares N concurrent callers
on a cold cache with N sequential uncached calls, and prints a markdown table plus the command that made it.

    .venv/bin/python bench/single_flight.py [--guests 10000] [--callers 100] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fakepve import FakePve

from app.proxmox import ClusterResources, PveClient, PveConnection

# ServedFake lives with the tests; the repository root is not on sys.path when a script is run by path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakepve_thread import ServedFake  # noqa: E402

BENCH_ACCOUNT = "root@pam!bench"  # the API token id
BENCH_KEY = str(uuid.uuid4())  # its secret, new each run


@dataclass
class Run:
    """One scenario's numbers."""

    name: str
    upstream: int
    wall: float
    latencies: list[float]

    def row(self) -> str:
        """The markdown table row."""
        lat = sorted(self.latencies)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        return (
            f"| {self.name} | {self.upstream} | {self.wall * 1000:.0f} ms "
            f"| {statistics.median(lat) * 1000:.0f} ms | {p95 * 1000:.0f} ms |"
        )


class Counter:
    """An UpstreamObserver that counts upstream requests."""

    def __init__(self) -> None:
        self.requests = 0

    def request_done(self, method: str, path_template: str, status: str, seconds: float) -> None:
        """Count one request."""
        self.requests += 1

    def cache_lookup(self, cache: str, hit: bool) -> None:
        """Not needed here."""


def seeded(guests: int, latency: float) -> FakePve:
    """A fake with `guests` VMs over 5 nodes, answering after `latency` seconds."""
    pve = FakePve()
    for n in range(guests):
        vmid = 100 + n
        config = {"tags": "prod;web"} if n % 3 == 0 else {}
        pve.add_vm(
            vmid, f"vm{vmid}", node=f"pve{n % 5 + 1}", status="running" if n % 2 else "stopped", config=config
        )
    pve.max_requests = 100_000
    pve.apitokens[BENCH_ACCOUNT] = BENCH_KEY
    pve.time_scale = 1.0  # latency is in PVE seconds, scaled by time_scale (0 would mean none)
    pve.slow_network(latency)
    return pve


async def timed(call: Callable[[], Awaitable[ClusterResources]], latencies: list[float]) -> None:
    """Await the call, keeping its latency."""
    started = time.perf_counter()
    await call()
    latencies.append(time.perf_counter() - started)


async def concurrent(client: PveClient, counter: Counter, callers: int) -> Run:
    """`callers` concurrent calls on a cold cache."""
    client.invalidate_resources()
    before, latencies = counter.requests, []
    started = time.perf_counter()
    await asyncio.gather(*(timed(client.cluster_resources, latencies) for _ in range(callers)))
    wall = time.perf_counter() - started
    return Run(f"{callers} concurrent, single-flight", counter.requests - before, wall, latencies)


async def sequential(client: PveClient, counter: Counter, callers: int) -> Run:
    """`callers` calls one after another, each with the cache invalidated first."""
    before, latencies = counter.requests, []
    started = time.perf_counter()
    for _ in range(callers):
        client.invalidate_resources()
        await timed(client.cluster_resources, latencies)
    wall = time.perf_counter() - started
    return Run(f"{callers} sequential, uncached", counter.requests - before, wall, latencies)


async def raw_body(served: ServedFake) -> bytes:
    """The /cluster/resources body as the fake sends it."""
    headers = {"Authorization": f"PVEAPIToken={BENCH_ACCOUNT}={BENCH_KEY}"}
    async with httpx.AsyncClient(verify=served.ssl_context(), headers=headers, timeout=60) as http:
        response = await http.get(f"{served.url}/api2/json/cluster/resources")
        response.raise_for_status()
        return response.content


def parse_cost(raw: bytes) -> tuple[float, float]:
    """Milliseconds to decode the body and to validate it into models (best of 5)."""
    decode = min(_timed(lambda: json.loads(raw)) for _ in range(5))
    rows = json.loads(raw)["data"]
    validate = min(_timed(lambda: ClusterResources.from_api(rows, datetime.now(UTC))) for _ in range(5))
    return decode * 1000, validate * 1000


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


async def measure(served: ServedFake, callers: int) -> tuple[Run, Run, int, bytes]:
    """Both scenarios against the served fake; the requests the fake recorded; a raw body."""
    counter = Counter()
    conn = PveConnection(served.address, BENCH_ACCOUNT, BENCH_KEY, fingerprint=served.fingerprint, timeout=60)
    async with PveClient(conn, counter) as client:
        await client.version()  # open the connection first: measure requests, not the TLS handshake
        served.pve.requests.clear()
        together = await concurrent(client, counter, callers)
        seen_by_fake = len(served.pve.requests)
        one_by_one = await sequential(client, counter, callers)
    return together, one_by_one, seen_by_fake, await raw_body(served)


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=10_000)
    parser.add_argument("--callers", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake waits before answering")
    args = parser.parse_args()
    pve = seeded(args.guests, args.latency)
    with tempfile.TemporaryDirectory() as pki:
        served = ServedFake(pve, Path(pki))
        try:
            together, one_by_one, seen_by_fake, raw = asyncio.run(measure(served, args.callers))
        finally:
            served.stop()
    decode_ms, validate_ms = parse_cost(raw)
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(
        f"`{command}`  ({args.guests} guests, {args.latency * 1000:.0f} ms added latency, TLS on loopback)\n"
    )
    print("| scenario | upstream requests | wall time | caller p50 | caller p95 |")
    print("|---|---:|---:|---:|---:|")
    print(together.row())
    print(one_by_one.row())
    print(f"\nRequests the fake recorded during the concurrent run: {seen_by_fake} (expected 1).")
    print(
        f"Parsing {args.guests} guests: JSON decode {decode_ms:.0f} ms, "
        f"pydantic validation {validate_ms:.0f} ms."
    )


if __name__ == "__main__":
    main()
