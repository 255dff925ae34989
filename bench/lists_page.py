"""Benchmark: the IP inventory (/ips) and the backup list (/backups), first page, over a big cluster.

Serves the demo cluster (seed_cluster) from fakepve over TLS in this process, runs the app in its own process
(`python -m app.cli serve`, SQLite in a temporary directory, PROXGATE_RESOURCES_TTL=3) exactly as
bench/guests_page.py does, signs in, loads each page once (cold: every config, agent and storage is read),
waits until the app's background reads settle (its upstream request count stops growing), then measures the
first page warm (what a person and the page's own 30 s refresh get), and its HTMX refresh.

    .venv/bin/python bench/lists_page.py [--guests 2000] [--requests 50]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from guests_page import BENCH_ACCOUNT, BENCH_KEY, PASSWORD, USER, App, Timings  # noqa: E402

from app.demo.seed import seed_cluster  # noqa: E402
from pvesim.fake import DemoPve  # noqa: E402
from tests.factories import login  # noqa: E402
from tests.fakepve_thread import ServedFake  # noqa: E402

PAGES = (("/ips", "ip-table"), ("/backups", "backup-table"))
TARGET_MS = 100


def timed(http: httpx.Client, path: str, htmx: bool = False) -> tuple[float, httpx.Response]:
    """One GET, its client-side seconds and the answer; anything but 200 stops the benchmark."""
    started = time.perf_counter()
    answer = http.get(path, headers={"HX-Request": "true"} if htmx else {})
    took = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"{path} answered {answer.status_code}: {answer.text[:300]}")
    return took, answer


def rows(answer: httpx.Response, table: str) -> int:
    """How many rows the page's table has."""
    body = answer.text.split(f'id="{table}"', 1)[-1].split("</table>", 1)[0]
    return len(re.findall(r"<tr data-", body))


def upstream_requests(http: httpx.Client) -> int:
    """How many requests the app has sent to Proxmox, /cluster/resources aside (from its /metrics)."""
    total = 0
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("proxgate_upstream_requests_total{") and "/cluster/resources" not in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def settle(http: httpx.Client, quiet: float = 3.0, limit: float = 900.0) -> float:
    """Wait until the app sends nothing to Proxmox for `quiet` seconds; the seconds waited."""
    started = time.monotonic()
    last, since = upstream_requests(http), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() - started < limit:
        time.sleep(0.5)
        now = upstream_requests(http)
        if now != last:
            last, since = now, time.monotonic()
    return time.monotonic() - started


def measure(app: App, requests: int) -> list[tuple[str, float, Timings, Timings, int, int]]:
    """Per page: (path, cold seconds, warm timings, HTMX refresh timings, rows shown, bytes)."""
    out = []
    with httpx.Client(base_url=app.url, timeout=300) as http:
        if login(http, USER, PASSWORD).status_code != 303:
            raise SystemExit("sign-in failed")
        for path, table in PAGES:
            cold, first = timed(http, path)
            settle(http)
            warm, refresh = Timings(), Timings()
            for _ in range(requests):
                took, answer = timed(http, path)
                warm.client.append(took)
                refresh.client.append(timed(http, path, htmx=True)[0])
            out.append((path, cold, warm, refresh, rows(answer, table), len(answer.content)))
    return out


def report(results: list[tuple[str, float, Timings, Timings, int, int]], args: argparse.Namespace) -> None:
    """The markdown table, with the target and the command that made it."""
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(f"`{command}`  ({args.guests} guests, fakepve over TLS on loopback, TTL 3 s)\n")
    print("| page | first load (cold) | first page warm p50 / p95 | HTMX refresh p50 | rows, size | target |")
    print("|---|---:|---:|---:|---:|---|")
    for path, cold, warm, refresh, shown, size in results:
        verdict = "PASS" if warm.p(0.5) < TARGET_MS else "FAIL"
        print(
            f"| {path} | {cold * 1000:,.0f} ms | {warm.p(0.5):.1f} / {warm.p(0.95):.1f} ms | "
            f"{refresh.p(0.5):.1f} ms | {shown}, {size / 1024:,.0f} KiB | p50 < {TARGET_MS} ms {verdict} |"
        )


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--guests", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    pve = DemoPve()
    seed_cluster(pve, guests=args.guests)
    pve.apitokens[BENCH_ACCOUNT] = BENCH_KEY
    pve.time_scale = 0
    pve.max_requests = 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        served = ServedFake(pve, Path(tmp))
        app = App(served, Path(tmp), 3.0)
        try:
            results = measure(app, args.requests)
        finally:
            app.stop()
            served.stop()
    report(results, args)


if __name__ == "__main__":
    main()
