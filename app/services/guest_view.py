"""Pure parsing for the guest page: disks from a config, and the snapshot list as a tree."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

QEMU_DISK = re.compile(r"^(scsi|virtio|sata|ide|efidisk|tpmstate|unused)\d+$")
LXC_DISK = re.compile(r"^(rootfs|mp\d+|unused\d+)$")
SIZE = re.compile(r"(?:^|,)size=([^,]+)")


@dataclass(frozen=True)
class Disk:
    """One disk line of a guest config."""

    key: str
    storage: str | None
    volume: str
    size: str | None
    cdrom: bool
    mountpoint: str | None = None

    @property
    def unused(self) -> bool:
        """True for a detached disk (unusedN)."""
        return self.key.startswith("unused")


def parse_disks(kind: str, config: Mapping[str, Any]) -> list[Disk]:
    """Every disk of a VM (scsi0, virtio1, efidisk0, ...) or container (rootfs, mp0, ...), in key order."""
    pattern = QEMU_DISK if kind == "qemu" else LXC_DISK
    disks = []
    for key in sorted((k for k in config if pattern.match(k)), key=_disk_order):
        text = str(config[key])
        volume = text.split(",", 1)[0]
        storage = volume.split(":", 1)[0] if ":" in volume else None
        size = SIZE.search(text)
        mount = re.search(r"(?:^|,)mp=([^,]+)", text)
        disks.append(
            Disk(
                key,
                storage,
                volume,
                size.group(1) if size else None,
                "media=cdrom" in text,
                mount.group(1) if mount else ("/" if key == "rootfs" else None),
            )
        )
    return disks


def _disk_order(key: str) -> tuple[int, str, int]:
    base = re.match(r"([a-z]+)(\d*)$", key)
    name, number = (base.group(1), int(base.group(2) or 0)) if base else (key, 0)
    return (1 if name == "unused" else 0, name, number)


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
