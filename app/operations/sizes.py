"""Disk sizes as Proxmox writes them (32G, 512M, 10.5G, plain bytes) and as people read them."""

from __future__ import annotations

import re

UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
# PVE's pattern for resize's size: '+' means grow by, no unit means bytes.
SIZE = re.compile(r"^(\+?)(\d+(?:\.\d+)?)([KMGT]?)$")


def parse_size(text: str | None) -> int | None:
    """Bytes of a config size such as '32G' or '4M'; None when missing or unreadable."""
    found = SIZE.match((text or "").strip())
    if not found or found.group(1):
        return None
    return int(float(found.group(2)) * UNITS[found.group(3)])


def requested_bytes(request: str, current: int) -> int:
    """The size a resize asks for: '+10G' grows the current size, '64G' is absolute."""
    found = SIZE.match(request.strip())
    if not found:
        raise ValueError(f"not a size: {request!r}")
    amount = int(float(found.group(2)) * UNITS[found.group(3)])
    return current + amount if found.group(1) else amount


def readable(size: int | None) -> str:
    """Bytes as '32 GiB', '1.5 TiB' or '512 MiB' (whole numbers without decimals)."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def ago(seconds: float) -> str:
    """A span as people say it: '3 days', '5 hours', '12 minutes', 'less than a minute'."""
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            count = int(seconds // length)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"
