"""Grow a disk of a VM or container (Proxmox cannot shrink one), and what to do inside the guest after."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.operations.base import Context, Guest, Operation, Params, Preview, Refused, Risk
from app.operations.checks import not_locked, require_guest
from app.operations.forms import Form, Widget
from app.operations.sizes import SIZE, parse_size, readable, requested_bytes
from app.proxmox.diskparse import Disk, parse_disks

QEMU_DISK = r"^(ide[0-3]|scsi\d{1,2}|virtio\d{1,2}|sata[0-5]|efidisk0|tpmstate0)$"
LXC_DISK = r"^(rootfs|mp\d{1,3})$"


class ResizeParams(Params):
    """Which disk, and its new size: absolute (64G) or growth (+10G); K, M, G or T."""

    disk: Annotated[str, Widget(choices="disks")] = Field(
        ..., pattern=f"{QEMU_DISK}|{LXC_DISK}", title="Disk", description="scsi0, virtio1, rootfs, mp0, ..."
    )
    size: Annotated[str, Widget(placeholder="64G, or +10G")] = Field(
        ...,
        pattern=SIZE.pattern,
        max_length=24,
        title="New size",
        description="A size such as 64G, or +10G to grow by 10 GiB (K, M, G or T)",
    )


def _disk(guest: Guest, key: str) -> Disk:
    disks = {d.key: d for d in parse_disks(guest.type, guest.config) if not d.unused}
    disk = disks.get(key)
    if disk is None:
        have = ", ".join(k for k, d in disks.items() if not d.cdrom) or "none"
        raise Refused(f"{guest.label} has no disk '{key}'; its disks are: {have}.", field="disk")
    if disk.cdrom:
        raise Refused(f"{key} is a CD-ROM drive; it has no size to change.", field="disk")
    return disk


def sizes(guest: Guest, params: ResizeParams) -> tuple[int, int]:
    """(current bytes, requested bytes) of the disk; Refused for anything but growth."""
    disk = _disk(guest, params.disk)
    current = parse_size(disk.size)
    if current is None:
        raise Refused(f"Proxmox gives no size for {params.disk}; resize it in Proxmox itself.", field="disk")
    wanted = requested_bytes(params.size, current)
    if wanted < current:
        hint = (
            " (a size without a unit is in bytes: write 64G for 64 GiB)" if params.size[-1].isdigit() else ""
        )
        raise Refused(
            f"Proxmox cannot shrink disks: {params.disk} is {readable(current)} and {readable(wanted)} is "
            f"smaller{hint}.",
            field="size",
        )
    if wanted == current:
        raise Refused(f"{params.disk} is already {readable(current)}.", field="size")
    return current, wanted


async def _preflight(ctx: Context, params: ResizeParams) -> list[str]:
    guest = require_guest(ctx)
    not_locked(guest)
    sizes(guest, params)
    return []


def device_name(guest: Guest, key: str) -> str:
    """The Linux device a VM disk most likely shows up as: virtio1 -> /dev/vdb, scsi0 -> /dev/sda."""
    disks = [d.key for d in parse_disks(guest.type, guest.config) if not d.cdrom and not d.unused]
    if key.startswith("virtio"):
        order = [k for k in disks if k.startswith("virtio")]
        return "/dev/vd" + chr(ord("a") + order.index(key))
    order = [k for k in disks if k.startswith(("scsi", "sata", "ide"))]
    return "/dev/sd" + chr(ord("a") + order.index(key)) if key in order else "the disk"


def guest_steps(guest: Guest, key: str) -> list[str]:
    """What to run inside a VM so that it uses the new space; the device name filled in where known."""
    if str(guest.config.get("ostype", "")).startswith("win"):
        return [
            "In Disk Management (diskmgmt.msc): Action → Rescan Disks, then right-click the volume → Extend Volume.",
            "Or in PowerShell: Update-HostStorageCache; "
            "Resize-Partition -DriveLetter C -Size (Get-PartitionSupportedSize -DriveLetter C).SizeMax",
        ]
    dev = device_name(guest, key)
    return [
        f"lsblk {dev}   # check the new size; N below is the number of its last partition",
        f"sgdisk -e {dev}   # GPT disks only: move the backup partition table to the new end",
        f"growpart {dev} N   # grow that partition (package cloud-guest-utils)",
        f"With LVM: pvresize {dev}N, then lvextend -r -l +100%FREE /dev/VG/LV (-r grows the filesystem too)",
        f"Without LVM: resize2fs {dev}N for ext4, or xfs_growfs / (the mount point) for XFS",
    ]


async def _preview(ctx: Context, params: ResizeParams) -> Preview:
    guest = require_guest(ctx)
    current, wanted = sizes(guest, params)
    disk = _disk(guest, params.disk)
    preview = Preview(
        facts=[
            ("Disk", f"{params.disk} ({disk.volume})"),
            ("Size now", readable(current)),
            ("Size after", f"{readable(wanted)} (+{readable(wanted - current)})"),
        ],
        losses=["The disk cannot be made smaller again afterwards: Proxmox cannot shrink disks."],
        data={"disk": params.disk, "old_bytes": current, "new_bytes": wanted},
    )
    if guest.type == "lxc":
        preview.notes.append("Proxmox grows the container's filesystem itself: nothing to do inside it.")
    else:
        preview.notes.append(
            "The VM sees the bigger disk at once; its partition and filesystem grow when told:"
        )
        preview.steps = guest_steps(guest, params.disk)
    return preview


async def _resize(ctx: Context, params: ResizeParams) -> str | None:
    guest = require_guest(ctx)
    # The digest makes Proxmox refuse if the config changed after the size was checked and approved.
    answer = await ctx.pve.put(
        guest.paths.resize, disk=params.disk, size=params.size, digest=guest.config.get("digest")
    )
    return str(answer) if answer else None


def _describe(guest: Guest | None, params: ResizeParams) -> str:
    if guest is None:
        return f"Resize {params.disk} to {params.size}"
    try:
        current, wanted = sizes(guest, params)
    except Refused:
        return f"Resize {params.disk} of {guest.label} to {params.size}"
    return f"Resize {params.disk} of {guest.label} from {readable(current)} to {readable(wanted)}"


RESIZE = Operation(
    "resize",
    "Resize disk",
    "guest",
    Risk.destructive,
    ResizeParams,
    _describe,
    _resize,
    preflight=_preflight,
    available=lambda g: not g.template,
    preview=_preview,
    target_key=lambda guest, p: f"guest:{guest.vmid if guest else ''}:disk:{p.disk}",
    task_type=lambda guest, p: "resize",
    reads_config=True,
    about="Grows `disk` to `size` (`64G`) or by `+10G`. Refused when shrinking, for the same size, CD-ROMs "
    "and unknown disks.",
    form=Form(
        summary="Resize a disk", submit="Resize", note="Disks can only grow: Proxmox cannot shrink them."
    ),
)
