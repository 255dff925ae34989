"""Benchmark: /ips on a new install of a big cluster (first paint, then the reading to the end) and after a restart.

Serves the demo cluster (seed_cluster, 10,000 guests) from fakepve over TLS in this process and runs the app in
its own process on a new SQLite database (`python -m app.cli serve`, as bench/lists_page.py does). Signs in and
times the first GET /ips (nothing read yet: the page shows what is known and its progress line), then follows
the progress line once a second to when every configuration, then every live answer, is read. Then stops the
app and starts another on the same database, and times its first GET /ips (answered from the stored index).

    .venv/bin/python bench/ips_first_paint.py [--guests 10000]
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
from guests_page import BENCH_ACCOUNT, BENCH_KEY, PASSWORD, USER, App  # noqa: E402

from app.demo.seed import seed_cluster  # noqa: E402
from pvesim.fake import DemoPve  # noqa: E402
from tests.factories import login  # noqa: E402
from tests.fakepve_thread import ServedFake  # noqa: E402

TARGET_S = 1.0
TTL = 3.0
STAGE = re.compile(r'id="ip-progress"[^>]*data-stage="(\w+)"')


def first_paint(app: App) -> tuple[float, str, int]:
    """Sign in, then one GET /ips once the cluster view the app read at start-up has expired (so the page pays
    for reading /cluster/resources): its seconds, its progress line ('' when whole) and its table rows."""
    with httpx.Client(base_url=app.url, timeout=300) as http:
        if login(http, USER, PASSWORD).status_code != 303:
            raise SystemExit("sign-in failed")
        time.sleep(TTL + 1)
        started = time.perf_counter()
        answer = http.get("/ips")
        took = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"/ips answered {answer.status_code}: {answer.text[:300]}")
    line = re.search(r"<strong>(Read [^<]*)</strong>", answer.text)
    shown = len(re.findall(r"<tr data-address", answer.text))
    return took, line.group(1).replace("&#39;", "'") if line else "", shown


def follow(app: App, limit: float = 1800.0) -> dict[str, float]:
    """Seconds from now until each stage of the reading ended ('configs', 'live'), asking once a second."""
    ended: dict[str, float] = {}
    started = time.monotonic()
    with httpx.Client(base_url=app.url, timeout=300) as http:
        login(http, USER, PASSWORD)
        while time.monotonic() - started < limit:
            found = STAGE.search(http.get("/ips/progress").text)
            stage = found.group(1) if found else "done"
            if stage != "configs":
                ended.setdefault("configs", time.monotonic() - started)
            if stage == "done":
                ended["live"] = time.monotonic() - started
                return ended
            time.sleep(1.0)
    raise SystemExit(f"the reading did not end in {limit:.0f} s")


def main() -> None:
    """Seed, serve, measure a new install and a restart, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--guests", type=int, default=10_000)
    args = parser.parse_args()
    pve = DemoPve()
    seed_cluster(pve, guests=args.guests)
    pve.apitokens[BENCH_ACCOUNT] = BENCH_KEY
    pve.time_scale = 0
    pve.max_requests = 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        served = ServedFake(pve, Path(tmp))
        try:
            app = App(served, Path(tmp), TTL)
            try:
                cold, line, cold_rows = first_paint(app)
                stages = follow(app)
            finally:
                app.stop()
            app = App(served, Path(tmp), TTL, add_user=False)
            try:
                warm, warm_line, warm_rows = first_paint(app)
            finally:
                app.stop()
        finally:
            served.stop()
    command = shlex.join([os.path.relpath(sys.executable), *sys.argv])
    print(f"`{command}`  ({args.guests:,} guests, fakepve over TLS on loopback in the bench's process, ")
    print("the app in its own process on a new SQLite database)\n")
    print("| measure | result | target | |")
    print("|---|---:|---|---|")
    verdict = "PASS" if cold <= TARGET_S else "FAIL"
    print(
        f"| first paint of /ips, new install | {cold * 1000:,.0f} ms ({cold_rows} rows; “{line}”) | ≤ 1 s | "
        f"{verdict} |"
    )
    print(f"| … every configuration read (configured addresses listed) | {stages['configs']:,.1f} s | | |")
    print(f"| … every guest agent and container read (complete) | {stages['live']:,.1f} s | | |")
    whole = "whole" if not warm_line else f"“{warm_line}”"
    print(
        f"| first paint of /ips after a restart | {warm * 1000:,.0f} ms ({warm_rows} rows, {whole}) | ≤ 1 s | "
        f"{'PASS' if warm <= TARGET_S else 'FAIL'} |"
    )


if __name__ == "__main__":
    main()
