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
# PVE::Storage parse_volname: the owner is in the name of the volume's last part, so a linked clone
# ('base-100-disk-0/vm-101-disk-0') belongs to 101; on directory storages the folder '100/' names it too.
OWNER = re.compile(r"^(?:vm|base|subvol|basevol)-(\d+)-")
OWNER_FOLDER = re.compile(r"^(\d+)/")
# QemuServer::Drive::drive_is_cloudinit.
CLOUDINIT = re.compile(r"[:/](?:vm-\d+-)?cloudinit(?:\.(?:raw|qcow2|vmdk))?$")


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

    @property
    def owner(self) -> int | None:
        """The VMID that owns the volume by its name; None for host paths and volumes no guest owns."""
        return volume_owner(self.volume)

    @property
    def cloudinit(self) -> bool:
        """True for a VM's cloud-init drive (a CD-ROM that Proxmox makes and destroys with the VM)."""
        return is_cloudinit(self.volume)


def is_cloudinit(volume: str) -> bool:
    """True for a cloud-init drive's volume (local-lvm:vm-100-cloudinit, local:100/vm-100-cloudinit.qcow2)."""
    return bool(CLOUDINIT.search(volume))


def volume_owner(volume: str) -> int | None:
    """The VMID in a volume id's name (local-lvm:vm-100-disk-0, local:100/vm-100-disk-0.qcow2,
    ceph:base-100-disk-0/vm-101-disk-0 is 101's), or None for a host path or an unowned volume."""
    storage, colon, name = volume.partition(":")
    if not colon or not storage or volume.startswith("/"):
        return None
    found = OWNER.match(name.rsplit("/", 1)[-1]) or OWNER_FOLDER.match(name)
    return int(found.group(1)) if found else None


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
