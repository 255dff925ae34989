"""The memory trimmer hands freed heap pages back: the process's resident size falls to what is in use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.services.runtime.memory import MemoryTrimmer

ROOT = Path(__file__).resolve().parents[2]
# Run in a process of its own: the test process's other threads (the app and the fake it serves) allocate and
# free meanwhile, and move its resident size by as much as the trim would.
FREED = """
import asyncio
from pathlib import Path

from app.services.runtime.memory import MemoryTrimmer


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def main() -> None:
    trimmer = MemoryTrimmer()
    await trimmer.round()
    # Dicts of 30 keys are too big for Python's own allocator: like the rows of a big cluster view, they come
    # from the C heap. One in a hundred outlives the rest, so the heap cannot shrink from its top.
    rows = [{f"key{k}": n for k in range(30)} for n in range(60_000)]
    kept = rows[::100]
    del rows
    before = resident_mib()
    await trimmer.round()
    after = resident_mib()
    print(f"{before:.1f} {after:.1f} {len(kept)}")


asyncio.run(main())
"""


def test_freed_heap_pages_go_back_to_the_system() -> None:
    if not MemoryTrimmer().available:
        pytest.skip("this C library has no malloc_trim")
    done = subprocess.run(  # noqa: S603 (this interpreter, our own script)
        [sys.executable, "-c", FREED], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    before, after, kept = done.stdout.split()
    assert float(before) - float(after) > 20, f"resident {before} MiB before the trim, {after} MiB after"
    assert kept == "600"
