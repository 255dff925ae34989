"""App overhead per action: time spent in Proxgate itself (auth, validation, preflight logic, two audit writes,
the watch row, the response), i.e. the request's wall time minus the time spent waiting for Proxmox.

    .venv/bin/python bench/action_overhead.py [--actions 300]

The demo cluster (fakepve, tasks finishing at once) runs in a thread; the app runs under uvicorn on SQLite.
Upstream time is taken from the app's own upstream-request observer, so only the app's share remains.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.demo.seed import seed_cluster  # noqa: E402
from pvesim.fake import DemoPve  # noqa: E402
from tests.conftest import TOKEN_ID, TOKEN_SECRET, app_settings  # noqa: E402
from tests.factories import make_token, make_user  # noqa: E402
from tests.fakepve_thread import ServedFake  # noqa: E402
from tests.servers import AppServer  # noqa: E402

WATCHER_PATHS = ("/nodes/{node}/tasks/{upid}/status",)


class UpstreamClock:
    """Sums the time the app's requests to Proxmox took, per thread of the app (the task watcher excluded)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.lock = threading.Lock()

    def wrap(self, original):  # type: ignore[no-untyped-def]
        """The observer hook, recording as well as forwarding."""

        def request_done(method: str, path: str, status: str, seconds: float) -> None:
            if path not in WATCHER_PATHS:
                with self.lock:
                    self.total += seconds
            original(method, path, status, seconds)

        return request_done


def main(count: int) -> None:
    """Run `count` actions one after another and print the overhead distribution."""
    folder = Path(tempfile.mkdtemp(prefix="proxgate-action-bench-"))
    pve = DemoPve()
    seed_cluster(pve, guests=30)
    pve.apitokens[TOKEN_ID] = TOKEN_SECRET
    served = ServedFake(pve, folder)
    settings = app_settings(served, f"sqlite:///{folder / 'db.sqlite'}", folder / "data", resources_ttl=3.0)
    server = AppServer(settings)
    clock = UpstreamClock()
    metrics = server.app.state.runtime.metrics
    metrics.request_done = clock.wrap(metrics.request_done)
    headers = {"Authorization": f"Bearer {make_token(settings, make_user(settings, 'operator'))}"}
    vm = next(v for v in pve.vms if v.status == "running" and not v.template and not v.lock)
    overheads, walls = [], []
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        for i in range(count + 20):
            before = clock.total
            started = time.perf_counter()
            answer = http.post(f"/api/v1/guests/{vm.vmid}/actions/snapshot", json={"snapname": f"b{i}"})
            wall = time.perf_counter() - started
            answer.raise_for_status()
            vm.snapshots.clear()  # keep the config small, as a real guest's would be
            if i >= 20:  # warm-up: first connections, first statements compiled
                walls.append(wall * 1000)
                overheads.append((wall - (clock.total - before)) * 1000)
    server.stop()
    served.stop()
    overheads.sort()
    p50, p95 = statistics.median(overheads), overheads[int(len(overheads) * 0.95) - 1]
    print(
        f"`.venv/bin/python bench/action_overhead.py --actions {count}`  (snapshot actions, SQLite, token auth)\n"
    )
    print("| measure | p50 | p95 | target | |")
    print("|---|---:|---:|---:|---|")
    print(
        f"| wall time per action (client side) | {statistics.median(walls):.1f} ms | {sorted(walls)[int(len(walls) * 0.95) - 1]:.1f} ms | | |"
    )
    print(
        f"| app overhead per action (wall minus upstream) | {p50:.1f} ms | {p95:.1f} ms | p50 <= 10 ms | {'PASS' if p50 <= 10 else 'FAIL'} |"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=300)
    main(parser.parse_args().actions)
