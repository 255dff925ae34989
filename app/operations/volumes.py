"""Which of a guest's volumes Proxmox destroys when the guest goes (deleted, or restored over), and which it
leaves alone: what the previews of those changes list, as qemu-server and pve-container decide it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.operations.guest import Guest
from app.operations.sizes import parse_size, readable
from app.proxmox.diskparse import Disk, is_cloudinit, parse_disks

QMDUMP_MAP = re.compile(r"^#qmdump#map:(\S+?):(\S+?):(\S*?):(\S*?):$")
CLOUDINIT_LINE = re.compile(r"^((?:ide|sata|scsi)\d+):\s*(\S.*?)\s*$")


@dataclass
class Fate:
    """A guest's disks by what Proxmox does with them: destroyed, or left alone (and why)."""

    destroyed: list[Disk] = field(default_factory=list)
    # Disks the guest owns that stay, detached as unused disks (a VM's disks its backup has none for).
    detached: list[Disk] = field(default_factory=list)
    # (disk, why it stays) for volumes of other guests, bind mounts and passed-through devices.
    kept: list[tuple[Disk, str]] = field(default_factory=list)


def disk_text(disk: Disk) -> str:
    """'scsi0: local-lvm:vm-100-disk-0 (32 GiB)'; a cloud-init drive says so."""
    if disk.cloudinit:
        return f"{disk.key}: {disk.volume} (cloud-init drive)"
    size = f" ({readable(parse_size(disk.size))})" if disk.size else ""
    return f"{disk.key}: {disk.volume}{size}"


def destroyed_with(guest: Guest) -> Fate:
    """What deleting the guest does to each disk of its config (unused ones included)."""
    # QemuServer::destroy_vm frees a drive only when it is no CD-ROM (the cloud-init drive counts as a disk),
    # not a host path, and owned by the VM; LXC::destroy_lxc_container frees, through
    # delete_mountpoint_volume, only volume mounts (no bind or device mounts) the container owns.
    fate = Fate()
    for disk in parse_disks(guest.type, guest.config):
        if disk.cdrom and not disk.cloudinit:
            continue
        why = left_alone(guest, disk)
        if why:
            fate.kept.append((disk, why))
        else:
            fate.destroyed.append(disk)
    return fate


def left_alone(guest: Guest, disk: Disk) -> str | None:
    """Why Proxmox does not destroy this disk with the guest, or None when it does."""
    if not disk.storage:
        what = "a passed-through device" if disk.volume.startswith("/dev/") else "a host path"
        if guest.type == "lxc" and not disk.volume.startswith("/dev/"):
            what = "a bind mount of a host directory"
        return f"is {what}; Proxmox leaves it as it is"
    owner = disk.owner
    if owner != guest.vmid:
        whose = f"guest {owner}'s volume" if owner else "a volume no guest owns"
        return f"is {whose}; Proxmox destroys only the volumes a guest owns, so it stays"
    return None


def kept_notes(fate: Fate) -> list[str]:
    """'Disk mp0: /mnt/data is a bind mount ...; Proxmox leaves it as it is.' for each disk that stays."""
    return [f"Disk {disk_text(disk)} {why}." for disk, why in fate.kept]


def restored_over(guest: Guest, in_backup: set[str]) -> Fate:
    """What restoring a backup over the guest does to each disk; `detached` are the disks that stay."""
    # pve-container's restore calls destroy_lxc_container on the old config: a container goes as if deleted.
    # A VM's restore_cleanup_oldconf frees only the owned drives the backup restores, by drive key; the VM's
    # other volumes stay, and the rescan after the restore adds them as unused disks.
    if guest.type == "lxc":
        return destroyed_with(guest)
    fate = Fate()
    for disk in parse_disks(guest.type, guest.config):
        if disk.cdrom and not disk.cloudinit:
            continue
        why = left_alone(guest, disk)
        if why:
            fate.kept.append((disk, why.replace("so it stays", "so it stays (out of the restored config)")))
        elif disk.key in in_backup and not disk.unused:
            fate.destroyed.append(disk)
        else:
            fate.detached.append(disk)
    return fate


def backup_drives(config_text: str) -> set[str]:
    """The drives a VM backup restores, from its config file: the '#qmdump#map:scsi0:...' line vzdump writes
    for each disk it saved, and its cloud-init drives (QemuServer's parse_backup_hints)."""
    drives = set()
    for line in config_text.splitlines():
        if line.startswith("["):
            break
        mapped = QMDUMP_MAP.match(line)
        drive = CLOUDINIT_LINE.match(line)
        if mapped:
            drives.add(mapped.group(1))
        elif drive and is_cloudinit(drive.group(2).split(",", 1)[0]):
            drives.add(drive.group(1))
    return drives
