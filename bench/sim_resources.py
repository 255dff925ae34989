"""Benchmark: the CPU the simulated cluster spends on one GET /cluster/resources answer at 10,000 guests.

Seeds the demo cluster, then answers the request in this process (no network): pvesim's answer, which keeps each
guest's entry between answers, against the one fakepve builds from scratch (the simulator's answer before cost that
and more: it wrote each node's own usage over it). CPU time, not wall time, so other work on the machine matters less.

    .venv/bin/python bench/sim_resources.py [--guests 10000] [--runs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fakepve import FakePve
from fakepve.server import USER

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.demo.seed import seed_cluster  # noqa: E402
from pvesim.fake import DemoPve  # noqa: E402


class Request(dict[str, Any]):
    """What the answer reads of a request: no ?type=, and root@pam."""

    query: dict[str, str] = {}

    def __init__(self) -> None:
        super().__init__({USER: "root@pam"})


async def from_scratch(pve: DemoPve) -> bytes:
    """fakepve's own answer, every entry built and encoded anew (the simulator added each node's usage to it)."""
    response = await FakePve._resources(pve, Request())
    return bytes(response.body)


async def kept(pve: DemoPve) -> bytes:
    """pvesim's answer."""
    response = await pve._resources(Request())
    return bytes(response.body)


async def cpu_ms(answer: Callable[[DemoPve], Awaitable[bytes]], pve: DemoPve, runs: int) -> list[float]:
    """CPU milliseconds of each of runs answers, after two unmeasured ones."""
    for _ in range(2):
        await answer(pve)
    spent = []
    for _ in range(runs):
        start = time.process_time()
        await answer(pve)
        spent.append((time.process_time() - start) * 1000)
    return spent


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    pve = DemoPve()
    seed_cluster(pve, guests=args.guests)
    print(f"`.venv/bin/python bench/sim_resources.py --guests {args.guests} --runs {args.runs}`\n")
    print("| answer | bytes | CPU per answer, min / median |\n|---|---:|---:|")
    for name, answer in (("built from scratch (fakepve)", from_scratch), ("kept entries (pvesim)", kept)):
        spent = await cpu_ms(answer, pve, args.runs)
        size = len(await answer(pve))
        print(f"| {name} | {size:,} | {min(spent):.0f} / {statistics.median(spent):.0f} ms |")


if __name__ == "__main__":
    asyncio.run(main())
