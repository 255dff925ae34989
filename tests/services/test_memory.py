"""The memory trimmer hands freed heap pages back: the process's resident size falls to what is in use."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.runtime.memory import MemoryTrimmer


def resident_mib() -> float:
    """This process's resident size (VmRSS) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def test_freed_heap_pages_go_back_to_the_system() -> None:
    trimmer = MemoryTrimmer()
    if not trimmer.available:
        pytest.skip("this C library has no malloc_trim")
    await trimmer.round()
    # Dicts of 30 keys are too big for Python's own allocator: like the rows of a big cluster view, they come
    # from the C heap. One in a hundred outlives the rest, so the heap cannot shrink from its top.
    rows = [{f"key{k}": n for k in range(30)} for n in range(60_000)]
    kept = rows[::100]
    del rows
    before = resident_mib()
    await trimmer.round()
    after = resident_mib()
    assert before - after > 20, f"resident {before:.0f} MiB before the trim, {after:.0f} MiB after"
    assert len(kept) == 600
