"""Benchmark: planning to empty one node of the demo cluster (where each guest goes, or why it stays).

Serves the demo cluster (seed_cluster) over TLS in a process of its own, with added latency per request if asked,
then plans emptying the node with the most guests, `--runs` times, counting the upstream requests by path. The
plan reads each guest's config and its migration precondition once (the precondition answers for every node),
and judges each candidate node from them.

    .venv/bin/python bench/empty_node_plan.py [--guests 2000] [--latency 0] [--runs 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shlex
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

# Run by path, a script has bench/ on sys.path, not the repository root: import this checkout's app and tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.operations.evacuation import plan_evacuation  # noqa: E402
from app.proxmox import PveClient, PveConnection  # noqa: E402
from bench.ip_inventory import BENCH_ACCOUNT, run_async, serve_fake  # noqa: E402


class Requests:
    """An UpstreamObserver that counts upstream requests by path template."""

    def __init__(self) -> None:
        self.by_path: Counter[str] = Counter()

    def request_done(self, method: str, path_template: str, status: str, seconds: float) -> None:
        """Count one request."""
        self.by_path[f"{method} {path_template}"] += 1

    def cache_lookup(self, cache: str, hit: bool) -> None:
        """Not needed here."""


async def plans(address: str, fingerprint: str, secret: str, runs: int) -> None:
    """Plan emptying the fullest node `runs` times; print the times, the plan's outcome and the requests."""
    conn = PveConnection(address, BENCH_ACCOUNT, secret, fingerprint=fingerprint, timeout=120)
    counted = Requests()
    async with PveClient(conn, counted) as client:
        guests = Counter(g.node for g in (await client.cluster_resources()).guests)
        node, count = guests.most_common(1)[0]
        seconds, actions = [], Counter[str]()
        for _ in range(runs):
            client.invalidate_resources()
            counted.by_path.clear()
            started = time.perf_counter()
            plan = await plan_evacuation(client, node, with_local_disks=False)
            seconds.append(time.perf_counter() - started)
            actions = Counter(m.action for m in plan.moves)
    print(f"Emptying {node} ({count} guests): median {statistics.median(seconds):.2f} s of {runs} runs")
    print(f"Plan: {', '.join(f'{n} {a}' for a, n in sorted(actions.items()))}")
    print(f"Requests per plan: {sum(counted.by_path.values())}")
    for path, n in counted.by_path.most_common():
        print(f"  {n:5d}  {path}")


def main() -> None:
    """Parse the options, serve the fake, plan, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the fake waits before answering")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"`{shlex.join([os.path.relpath(sys.executable), *sys.argv])}`")
    secret = str(uuid.uuid4())
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=serve_fake, args=(args.guests, args.latency, secret, theirs), daemon=True
    )
    child.start()
    try:
        address, fingerprint, _cafile = ours.recv()
        run_async(plans(address, fingerprint, secret, args.runs))
    finally:
        ours.send("stop")
        child.join(30)


if __name__ == "__main__":
    main()
