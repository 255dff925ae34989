"""Benchmark: a guest page with its charts on a 10,000-guest cluster, and 50 people looking at one guest.

Serves the demo cluster (seed_cluster, 20 nodes) from fakepve over TLS in this process, runs the app in its own
process (bench/timed_serve.py: `proxgate serve` whose answers carry the app's own time, SQLite,
PROXGATE_RESOURCES_TTL=3) and signs in. A page view with charts is the page (/guests/{vmid}) and then its
chart data (/api/v1/guests/{vmid}/rrd), as static/js/charts.js fetches it.

    .venv/bin/python bench/guest_charts.py [--guests 10000] [--views 100] [--viewers 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from app.demo.seed import seed_cluster  # noqa: E402
from bench.guests_page import BENCH_ACCOUNT, BENCH_KEY, PASSWORD, USER, App  # noqa: E402
from pvesim.fake import DemoPve  # noqa: E402
from tests.factories import login  # noqa: E402
from tests.fakepve_thread import ServedFake  # noqa: E402

TIMEFRAMES = ("hour", "day", "week", "month", "year")


class TimedApp(App):
    """The app in its own process, run by bench/timed_serve.py so that answers carry the app's own time."""

    SERVE = (str(ROOT / "bench" / "timed_serve.py"),)


@dataclass
class Timings:
    """Client-side latencies and the app's own time, in milliseconds."""

    client: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    size: int = 0

    def p(self, share: float, server: bool = False) -> float:
        """The share-quantile (0.5 = median)."""
        values = sorted(self.server if server else self.client)
        return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def timed_get(http: httpx.Client, url: str, timings: Timings, params: dict[str, str] | None = None) -> None:
    """One GET, timed by the client and by the app's Server-Timing; anything but 200 stops the benchmark."""
    started = time.perf_counter()
    answer = http.get(url, params=params)
    timings.client.append((time.perf_counter() - started) * 1000)
    if answer.status_code != 200:
        raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    parts = dict(
        p.strip().split(";dur=") for p in answer.headers.get("server-timing", "").split(",") if ";dur=" in p
    )
    timings.server.append(float(parts["total"]))
    timings.size = len(answer.content)


def rrd_requests(pve: DemoPve, vmid: int | None = None) -> int:
    """GET .../rrddata requests the fake answered (of one guest, if given)."""
    tail = f"/{vmid}/rrddata" if vmid else "/rrddata"
    return sum(1 for m, p, _ in pve.requests if m == "GET" and p.split("?")[0].endswith(tail))


@dataclass
class Crowd:
    """What the viewers of one guest did and caused upstream."""

    views: int = 0
    errors: int = 0
    rrddata: int = 0
    upstream: int = 0
    wall: float = 0.0


async def crowd(app: App, cookies: httpx.Cookies, pve: DemoPve, vmid: int, viewers: int) -> Crowd:
    """`viewers` people open the guest at once, then each steps through every timeframe."""
    result = Crowd()
    rrd_before, all_before = rrd_requests(pve, vmid), len(pve.requests)

    async def viewer(http: httpx.AsyncClient) -> None:
        pages = [http.get(f"/guests/{vmid}")]
        for timeframe in TIMEFRAMES:
            pages.append(http.get(f"/api/v1/guests/{vmid}/rrd", params={"timeframe": timeframe}))
        for page in pages:
            answer = await page
            result.views += 1
            result.errors += answer.status_code != 200

    limits = httpx.Limits(max_connections=viewers, max_keepalive_connections=viewers)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=app.url, cookies=cookies, limits=limits, timeout=120) as http:
        await asyncio.gather(*(viewer(http) for _ in range(viewers)))
    result.wall = time.perf_counter() - started
    result.rrddata = rrd_requests(pve, vmid) - rrd_before
    result.upstream = len(pve.requests) - all_before
    return result


@dataclass
class Results:
    """Everything measured."""

    page: Timings
    charts: Timings
    views: Timings
    first: Timings
    frames: dict[str, Timings]
    crowd: Crowd


def measure(pve: DemoPve, app: App, args: argparse.Namespace) -> Results:
    """The warm page and chart data, every timeframe, and the crowd on a guest nobody has looked at yet."""
    running = [v for v in pve.vms if v.status == "running" and not v.template]
    vmid, other = running[0].vmid, running[len(running) // 2].vmid
    results = Results(Timings(), Timings(), Timings(), Timings(), {t: Timings() for t in TIMEFRAMES}, Crowd())
    with httpx.Client(base_url=app.url, timeout=120) as http:
        if login(http, USER, PASSWORD).status_code != 303:
            raise SystemExit("sign-in failed")
        timed_get(http, f"/guests/{vmid}", Timings())  # fills the cluster view's cache
        timed_get(http, f"/api/v1/guests/{vmid}/rrd", results.first)  # the cold chart data: one upstream call
        for _ in range(args.views):
            before = (len(results.page.server), len(results.charts.server))
            timed_get(http, f"/guests/{vmid}", results.page)
            timed_get(http, f"/api/v1/guests/{vmid}/rrd", results.charts)
            results.views.client.append(results.page.client[before[0]] + results.charts.client[before[1]])
            results.views.server.append(results.page.server[before[0]] + results.charts.server[before[1]])
        for timeframe in TIMEFRAMES:
            timed_get(http, f"/api/v1/guests/{vmid}/rrd", Timings(), {"timeframe": timeframe})
            for _ in range(20):
                timed_get(
                    http, f"/api/v1/guests/{vmid}/rrd", results.frames[timeframe], {"timeframe": timeframe}
                )
        results.crowd = asyncio.run(crowd(app, http.cookies, pve, other, args.viewers))
    return results


def report(r: Results, args: argparse.Namespace) -> None:
    """The markdown tables, with the targets and the command that made them."""
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(f"`{command}`  ({args.guests} guests on 20 nodes, fakepve over TLS on loopback, TTL 3 s)\n")
    print(f"| measure (warm, N={args.views}) | server p50 | server p95 | client p50 | target | |")
    print("|---|---:|---:|---:|---|---|")
    rows = (("guest page", r.page), ("its chart data (hour)", r.charts), ("page + chart data", r.views))
    for name, t in rows:
        target = "p50 < 50 ms" if t is r.views else ""
        verdict = ("PASS" if t.p(0.5, True) < 50 else "FAIL") if target else ""
        print(
            f"| {name} | {t.p(0.5, True):.1f} ms | {t.p(0.95, True):.1f} ms | {t.p(0.5):.1f} ms | {target} | {verdict} |"
        )
    print(
        f"\nFirst (cold) chart data of a guest, one upstream rrddata call: server {r.first.server[0]:.0f} ms.\n"
    )
    print("| chart data, warm (N=20) | points | JSON size | server p50 |")
    print("|---|---:|---:|---:|")
    for timeframe, t in r.frames.items():
        points = {"hour": 60, "day": 1440, "week": 336, "month": 1440, "year": 1440}[timeframe]
        print(f"| {timeframe} | {points} | {t.size / 1024:.0f} KiB | {t.p(0.5, True):.1f} ms |")
    c = r.crowd
    print(
        f"\n{args.viewers} viewers open one guest at the same moment, then each steps through the five "
        f"timeframes ({c.views} requests, {c.errors} errors, {c.wall:.1f} s): **{c.rrddata} upstream rrddata "
        f"calls** (target: one per timeframe, {len(TIMEFRAMES)}); {c.upstream} upstream requests in all "
        "(the page's own reads of status, config, snapshots, agent, tasks are not cached)."
    )


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--guests", type=int, default=10_000)
    parser.add_argument("--views", type=int, default=100)
    parser.add_argument("--viewers", type=int, default=50)
    args = parser.parse_args()
    pve = DemoPve()
    seed_cluster(pve, guests=args.guests)
    pve.apitokens[BENCH_ACCOUNT] = BENCH_KEY
    pve.max_requests = 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        served = ServedFake(pve, Path(tmp))
        app = TimedApp(served, Path(tmp), 3.0)
        try:
            results = measure(pve, app, args)
        finally:
            app.stop()
            served.stop()
    report(results, args)


if __name__ == "__main__":
    main()
