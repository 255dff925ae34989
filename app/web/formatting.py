"""Template filters: sizes, durations, percentages and times as people read them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from markupsafe import Markup, escape

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(value: float | int | None) -> str:
    """1536 -> '1.5 KiB'."""
    if value is None:
        return "–"
    size = float(value)
    for unit in _UNITS:
        if abs(size) < 1024 or unit == _UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


def human_duration(seconds: float | int | None) -> str:
    """93784 -> '1d 2h 3m'; 45 -> '45s'."""
    if not seconds:
        return "–"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def percent(used: float | int | None, total: float | int | None = None) -> float:
    """used/total (or a 0–1 fraction) as 0–100, clamped; 0 when unknown."""
    if used is None:
        return 0.0
    fraction = float(used) if total is None else (float(used) / float(total) if total else 0.0)
    return max(0.0, min(100.0, fraction * 100))


def when(value: datetime | int | float | None) -> str:
    """A timestamp (datetime or epoch seconds) as 'YYYY-MM-DD HH:MM UTC'."""
    if value is None:
        return "–"
    return _utc(value).strftime("%Y-%m-%d %H:%M UTC")


def moment(value: datetime | int | float | None) -> Markup:
    """A <time> to the second in UTC, which the page's script shows in the reader's time zone (UTC on hover)."""
    if value is None:
        return Markup("–")
    at = _utc(value)
    text = at.strftime("%Y-%m-%d %H:%M:%S UTC")
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup('<time datetime="{}" title="{}" data-local>{}</time>').format(
        escape(stamp), escape(text), escape(text)
    )


def ago(value: datetime | int | float | None, now: datetime | None = None) -> str:
    """How long ago, as people say it: 'just now', '3 min ago', '2 h ago', '4 days ago'."""
    if value is None:
        return "–"
    seconds = ((now or datetime.now(UTC)) - _utc(value)).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return "just now"


def path_breaks(text: str | None) -> Markup:
    """The text escaped, free to break after each slash and nowhere else (a path has no spaces to break at)."""
    return Markup("/<wbr>").join(escape(part) for part in str(text or "").split("/"))


def diff_of(params: str | None) -> str:
    """The unified diff an audit event's parameters carry (a policy file's change), or '' when they carry none."""
    try:
        value = json.loads(params or "{}")
    except ValueError:
        return ""
    diff = value.get("diff") if isinstance(value, dict) else None
    return diff if isinstance(diff, str) else ""


def _utc(value: datetime | int | float) -> datetime:
    """A timestamp (datetime or epoch seconds) as an aware UTC datetime."""
    at = datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else value
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
