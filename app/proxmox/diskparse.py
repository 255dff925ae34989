"""Pure parsing of the disks in a guest config: VM drives (scsi0, virtio1, efidisk0, ...) and container mount
points (rootfs, mp0, ...), with the storage each volume is on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
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
