"""Sizes and durations spelled the way PVE's tools print them."""

from __future__ import annotations

import re

from fakepve.lxc import SIZE_UNITS

GIB = 1024**3
MIB = 1024**2
# PUT .../resize: absolute or '+' relative, decimals allowed, no unit means bytes.
RESIZE = re.compile(r"^(\+)?(\d+(?:\.\d+)?)([KMGT])?$")
CONFIG_SIZE = re.compile(r"(\d+(?:\.\d+)?)([KMGT])?")


def config_bytes(text: str | None) -> int:
    """Bytes of a config size= value (32G, 4M, 528K, 10752M, bare bytes); 0 if absent or unreadable."""
    found = CONFIG_SIZE.fullmatch(str(text or "").strip())
    if not found:
        return 0
    return int(float(found.group(1)) * SIZE_UNITS.get(found.group(2) or "", 1))


def requested_size(text: str, current: int) -> int:
    """The new size in bytes for a resize request, as qemu-server computes it (int, relative to current)."""
    found = RESIZE.match(text)
    if not found:
        raise ValueError(text)
    value = float(found.group(2)) * SIZE_UNITS.get(found.group(3) or "", 1)
    return int(value + current if found.group(1) else value)


def iec(size: float) -> str:
    """render_bytes with one decimal: '32.0 GiB', '512.0 MiB'."""
    for unit, factor in (("TiB", 1024**4), ("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{int(size)} B"


def vzdump_size(size: int) -> str:
    """VZDump::format_size: '512MB', '3.12GB'."""
    if size < MIB:
        return f"{size // 1024}KB"
    if size < GIB:
        return f"{size // MIB}MB"
    if size < 1024**4:
        return f"{size / GIB:.2f}GB"
    return f"{size / 1024**4:.2f}TB"


def hms(seconds: float) -> str:
    """VZDump::format_time: 00:01:05."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def lvm_size(size: int) -> str:
    """lvresize's '32.00 GiB (8192 extents)' (4 MiB extents)."""
    return f"{size / GIB:.2f} GiB ({size // (4 * MIB)} extents)"
