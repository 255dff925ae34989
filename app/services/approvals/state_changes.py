"""What changed about a target between a request and now, in words an approver reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LABELS = {
    "status": "its status",
    "lock": "its lock",
    "node": "its node",
    "protected": "its protection",
    "size": "its size",
}


def _shown(value: Any) -> str:
    return "none" if value in (None, "") else str(value)


def differences(before: Mapping[str, Any], after: Mapping[str, Any] | None) -> list[str]:
    """Each difference as one sentence; an empty list when nothing that matters changed."""
    if not after or not after.get("exists", True):
        return ["it no longer exists"] if before.get("exists", True) else []
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new or key == "exists":
            continue
        if key == "digest":
            found.append("its configuration changed (snapshots, disks or options)")
        else:
            found.append(f"{LABELS.get(key, key)} was {_shown(old)} and is {_shown(new)} now")
    return found
