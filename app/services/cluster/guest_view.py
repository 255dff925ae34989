"""Pure parsing for the guest page: the snapshot list as a tree (disks: app.proxmox.diskparse)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SnapshotNode:
    """A snapshot and the ones taken after it; `current` is PVE's 'You are here!' entry."""

    name: str
    description: str = ""
    snaptime: int | None = None
    vmstate: bool = False
    parent: str | None = None
    current: bool = False
    children: list[SnapshotNode] = field(default_factory=list)


def snapshot_tree(items: list[Mapping[str, Any]]) -> list[SnapshotNode]:
    """The roots of the snapshot tree; children ordered by time and 'current' last among its siblings."""
    nodes: dict[str, SnapshotNode] = {}
    for item in items:
        name = str(item.get("name", ""))
        nodes[name] = SnapshotNode(
            name=name,
            description="" if name == "current" else str(item.get("description") or ""),
            snaptime=int(item["snaptime"]) if item.get("snaptime") not in (None, "") else None,
            vmstate=bool(int(item.get("vmstate") or 0)),
            parent=str(item["parent"]) if item.get("parent") else None,
            current=name == "current",
        )
    roots: list[SnapshotNode] = []
    for node in nodes.values():
        parent = nodes.get(node.parent) if node.parent else None
        (parent.children if parent else roots).append(node)
    for node in [*nodes.values()]:
        node.children.sort(key=_snapshot_order)
    roots.sort(key=_snapshot_order)
    return roots


def _snapshot_order(node: SnapshotNode) -> tuple[int, int, str]:
    return (1 if node.current else 0, node.snaptime or 0, node.name)
