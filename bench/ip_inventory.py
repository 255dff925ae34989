"""Benchmark: the IP inventory over 500 guests against a sequential loop of one config GET per guest.

Serves the demo cluster (seed_cluster, 500 guests) over TLS with 20 ms added latency per request, in a process
of its own (as a real PVE is another machine: its CPU does not compete with the client's), then times, side by
side: (a) the shell-helper way, GET /cluster/resources then one config GET per guest in a loop (httpx,
keep-alive); (a2) the same loop with a new connection per request, as `curl` in a shell loop does;
(b) a new IpService reading its index cold until every guest's config is read (the configured addresses: what
the loop shows) and (b2) until every guest agent and container has answered too (the whole inventory); (c) the
same service warm (its /cluster/resources cache cleared, as for a page view some seconds later). The service
runs on uvloop, as under `proxgate serve` (uvicorn[standard] picks it).

    .venv/bin/python bench/ip_inventory.py [--guests 500] [--latency 0.02] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

# Run by path, a script has bench/ on sys.path, not the repository root: import this checkout's app and tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.proxmox import PveClient, PveConnection, tls  # noqa: E402
from app.services.ips.service import CONCURRENCY, IpService  # noqa: E402

BENCH_ACCOUNT = "root@pam!bench"
TARGET = 40.0


@dataclass
class Row:
    """One scenario's numbers."""

    label: str
    reads: str
    seconds: list[float]
    requests: int

    @property
    def median(self) -> float:
        """Median wall time in seconds."""
        return statistics.median(self.seconds)


def serve_fake(guests: int, latency: float, secret: str, pipe: Connection) -> None:
    """In a child process: seed and serve the demo cluster, send (address, fingerprint), stop when told."""
    from app.demo.seed import seed_cluster
    from pvesim.fake import DemoPve
    from tests.fakepve_thread import ServedFake

    pve = DemoPve()
    seed_cluster(pve, guests=guests)
    pve.apitokens[BENCH_ACCOUNT] = secret
    pve.time_scale = 1.0  # latency is in PVE seconds, scaled by time_scale (0 would mean none)
    pve.slow_network(latency)
    with tempfile.TemporaryDirectory() as pki:
        served = ServedFake(pve, Path(pki))
        pipe.send((served.address, served.fingerprint, served.cafile))
        pipe.recv()
        served.stop()


def shell_loop(address: str, cafile: str, secret: str, fresh: bool) -> Row:
    """GET /cluster/resources, then each guest's config, one after the other (fresh: a connection each)."""
    headers = {"Authorization": f"PVEAPIToken={BENCH_ACCOUNT}={secret}"}
    base = f"https://{address}/api2/json"

    def client() -> httpx.Client:
        return httpx.Client(verify=cafile, headers=headers, timeout=60)

    with client() as http:
        http.get(
            f"{base}/version"
        ).raise_for_status()  # open the connection: time requests, not the handshake
        started = time.perf_counter()
        guests = [
            g for g in http.get(f"{base}/cluster/resources").json()["data"] if g["type"] in ("qemu", "lxc")
        ]
        for g in guests:
            path = f"{base}/nodes/{g['node']}/{g['type']}/{g['vmid']}/config"
            if fresh:
                with client() as once:
                    once.get(path).raise_for_status()
            else:
                http.get(path).raise_for_status()
        seconds = time.perf_counter() - started
    label = (
        "(a2) the same loop, a new connection per request (curl)"
        if fresh
        else ("(a) sequential loop, one config GET per guest (httpx, keep-alive)")
    )
    return Row(label, "configs only", [seconds], len(guests) + 1)


class Counter:
    """An UpstreamObserver that counts upstream requests, and notes when the last of `configs` config reads
    ended."""

    def __init__(self) -> None:
        self.requests = 0
        self.configs = 0
        self.configs_wanted = 0
        self.configs_done_at = 0.0

    def request_done(self, method: str, path_template: str, status: str, seconds: float) -> None:
        """Count one request."""
        self.requests += 1
        if path_template.endswith("/config"):
            self.configs += 1
            if self.configs == self.configs_wanted:
                self.configs_done_at = time.perf_counter()

    def cache_lookup(self, cache: str, hit: bool) -> None:
        """Not needed here."""


async def service_runs(
    address: str, fingerprint: str, secret: str, runs: int, concurrency: int
) -> tuple[Row, Row, Row]:
    """Cold (to the configs, and whole) and warm inventories, `runs` times each (a new service each time)."""
    conn = PveConnection(address, BENCH_ACCOUNT, secret, fingerprint=fingerprint, timeout=60)
    if concurrency > tls.LIMITS.max_connections:
        # More reads at once than the app's client keeps connections for: a client with as many, to see what
        # a larger pool would give (the app's own stays at LIMITS).
        tls.LIMITS = dataclasses.replace(tls.LIMITS, max_connections=concurrency)
    counter = Counter()
    configs = Row("(b) IpService cold: every configured address", "configs", [], 0)
    cold = Row("(b2) IpService cold: the whole index", "configs, then guest agents + CT interfaces", [], 0)
    warm = Row("(c) IpService.inventory() warm", "/cluster/resources; configs and live data cached", [], 0)
    async with PveClient(conn, counter) as client:
        await client.version()
        for _ in range(runs):
            service = IpService(client, wait=0, concurrency=concurrency)
            client.invalidate_resources()
            guests = len((await client.cluster_resources()).guests)
            client.invalidate_resources()
            counter.configs, counter.configs_wanted = 0, guests
            before, started = counter.requests, time.perf_counter()
            await service.read_index()
            inventory = await service.inventory()
            cold.seconds.append(time.perf_counter() - started)
            configs.seconds.append(counter.configs_done_at - started)
            cold.requests, configs.requests = counter.requests - before, guests + 1
            client.invalidate_resources()
            before, started = counter.requests, time.perf_counter()
            inventory = await service.inventory()
            warm.seconds.append(time.perf_counter() - started)
            warm.requests = counter.requests - before
            await service.aclose()
    for row in (cold, warm):
        row.reads += f"; {inventory.total} addresses"
    return configs, cold, warm


def run_async(coro: Any) -> Any:
    """Run on uvloop when it is installed (as uvicorn does), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def measure(args: argparse.Namespace) -> list[Row]:
    """Start the fake in its own process, run every scenario against it, stop it."""
    secret = str(uuid.uuid4())
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=serve_fake, args=(args.guests, args.latency, secret, theirs), daemon=True
    )
    child.start()
    try:
        address, fingerprint, cafile = ours.recv()
        rows = [
            shell_loop(address, cafile, secret, fresh=False),
            shell_loop(address, cafile, secret, fresh=True),
        ]
        rows += run_async(service_runs(address, fingerprint, secret, args.runs, args.concurrency))
    finally:
        ours.send("stop")
        child.join(30)
    return rows


def report(args: argparse.Namespace, rows: list[Row], show: Callable[[str], None] = print) -> None:
    """The markdown table, the verdict and the command."""
    loop = rows[0].median
    show(f"`{shlex.join([os.path.relpath(sys.executable), *sys.argv])}`")
    show(
        f"({args.guests} guests, {args.latency * 1000:.0f} ms added latency per request, TLS on loopback, "
        f"fake PVE in its own process, IpService concurrency {args.concurrency}, service rows: median of {args.runs})\n"
    )
    show("| scenario | upstream requests | what it reads | wall time | speed-up vs (a) |")
    show("|---|---:|---|---:|---:|")
    for row in rows:
        show(
            f"| {row.label} | {row.requests} | {row.reads} | {row.median * 1000:.0f} ms | {loop / row.median:.1f}x |"
        )
    configs, cold, warm = (loop / row.median for row in rows[2:5])

    def verdict(ratio: float) -> str:
        return f"{'PASS' if ratio >= TARGET else 'FAIL'} ({ratio:.1f}x)"

    # The loop reads what (b) reads (every guest's config); (b2) reads the guest agents as well, which the shell
    # helper never does: it is shown, not judged.
    show(
        f"\nTarget: the cold inventory of what the loop reads, every configured address, at least {TARGET:.0f}x "
        f"faster than loop (a): {verdict(configs)}; warm: {verdict(warm)}. The whole index, guest agents "
        f"included (more than the loop reads): {cold:.1f}x."
    )


def main() -> None:
    """Parse the options, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the fake waits before answering")
    parser.add_argument("--runs", type=int, default=3, help="cold and warm inventories (median reported)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="reads in flight at once")
    args = parser.parse_args()
    report(args, measure(args))


if __name__ == "__main__":
    main()
