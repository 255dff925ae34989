"""What Proxmox's clone refuses, checked before anything is sent: the snapshot to copy from, mounts and devices
it cannot copy, and where a copy on another node may keep its disks.

The rules are qemu-server's clone_vm (check_storage_access_clone) and pve-container's clone_vm.
"""

from __future__ import annotations

from typing import Any

from app.operations.base import Guest, Refused
from app.proxmox.client import PveClient
from app.proxmox.diskparse import Disk, parse_disks


async def source_config(pve: PveClient, guest: Guest, snapname: str | None) -> dict[str, Any]:
    """The config a clone copies: the guest's, or the snapshot's when it is copied from one."""
    path = guest.paths.snapshot_config(snapname) if snapname else guest.paths.config
    return dict(await pve.get(path) or {})


async def from_snapshot(pve: PveClient, guest: Guest, snapname: str | None, full: bool) -> None:
    """A named snapshot must exist; a running container can only be copied from one (Proxmox's rule)."""
    running_ct = guest.type == "lxc" and guest.status == "running" and full
    if not snapname and not running_ct:
        return
    found = await pve.get(guest.paths.snapshots) or []
    names = sorted(str(s["name"]) for s in found if isinstance(s, dict) and s.get("name") != "current")
    if snapname and snapname not in names:
        offer = ", ".join(names) or "none"
        raise Refused(f"{guest.label} has no snapshot '{snapname}'; it has: {offer}.", field="snapname")
    if not snapname and names:
        raise Refused(
            f"{guest.label} is running: Proxmox copies a running container only from a snapshot. Choose one "
            f"of: {', '.join(names)}, or shut it down first.",
            field="snapname",
        )
    if not snapname:
        raise Refused(
            f"{guest.label} is running and has no snapshot: Proxmox copies a running container only from a "
            "snapshot. Take a snapshot first, or shut it down.",
            field="snapname",
        )


def copyable(guest: Guest, config: dict[str, Any]) -> None:
    """Refuse what no clone can copy: a container's bind and device mounts, a VM's passed-through disks."""
    # pve-container's clone_vm dies 'unable to clone mountpoint'; qemu-server's check_storage_access_clone
    # cannot parse a host path as a volume id.
    for disk in _copied(guest.type, config):
        if disk.storage:
            continue
        if guest.type == "lxc":
            what = "a device mount" if disk.volume.startswith("/dev/") else "a bind mount of a host directory"
            fix = "remove the mount point first"
        else:
            what = "a passed-through CD drive" if disk.cdrom else "a passed-through disk"
            fix = "detach it first"
        raise Refused(
            f"{guest.label} cannot be copied: {disk.key} is {what} ({disk.volume}), which Proxmox does not "
            f"copy; {fix}."
        )


async def movable(
    pve: PveClient, guest: Guest, config: dict[str, Any], target: str, storage: str | None
) -> None:
    """Refuse a copy to another node that Proxmox would refuse, naming the disks or storage in the way."""
    # Both clone_vm: a storage chosen for the copy must be shared. qemu-server's check_storage_access_clone
    # wants every disk and CD-ROM image on shared storage, whatever the target storage; pve-container's
    # looks at the target storage instead of the volume's when one is chosen.
    resources = await pve.cluster_resources()
    shared = {s.storage for s in resources.storages if s.node == guest.node and s.shared}
    if storage and storage not in shared:
        content = "images" if guest.type == "qemu" else "rootdir"
        fitting = {s.storage for s in resources.storages if s.node == target and content in s.content}
        offer = ", ".join(sorted(shared & fitting)) or "none"
        raise Refused(
            f"Storage '{storage}' is not shared: Proxmox copies a guest to another node only onto shared "
            f"storage. Choose one of: {offer}, or leave it empty.",
            field="storage",
        )
    if guest.type == "lxc" and storage:
        return
    local = [d for d in _copied(guest.type, config) if d.storage and d.storage not in shared]
    if not local:
        return
    images = [d for d in local if d.cdrom and not d.cloudinit]
    disks = len(local) - len(images)
    if guest.type == "lxc":
        fix = f"choose a shared storage for the copy's disks, or copy it on {guest.node}"
    else:
        moves = [f"move the disk{'s' if disks > 1 else ''} to shared storage"] if disks else []
        moves += [f"eject the CD image{'s' if len(images) > 1 else ''}"] if images else []
        fix = f"copy it on {guest.node}, or {' and '.join(moves)} first"
    raise Refused(
        f"{guest.label} cannot be copied to {target}: {', '.join(_where(d) for d in local)} "
        f"{'is' if len(local) == 1 else 'are'} on storage only {guest.node} has; {fix}.",
        field="target",
    )


def _copied(kind: str, config: dict[str, Any]) -> list[Disk]:
    """The drives or mount points a clone looks at: not the unused ones, not empty CD-ROM drives."""
    return [d for d in parse_disks(kind, config) if not d.unused and d.volume not in ("none", "cdrom", "")]


def _where(disk: Disk) -> str:
    """'scsi0 on local-lvm', or 'ide2 (local:iso/x.iso) on local' for a CD-ROM image."""
    if disk.cdrom and not disk.cloudinit:
        return f"{disk.key} ({disk.volume}) on {disk.storage}"
    return f"{disk.key} on {disk.storage}"
