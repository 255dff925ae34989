"""Disk resize: only growth, the preview's sizes and steps, and '+10G' reaching PVE as %2B10G."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.operations.base import Guest, Refused
from app.operations.resize import RESIZE, ResizeParams, guest_steps
from app.proxmox import parse_upid
from tests.operations.answers import ct, stopped, vm
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VM_DIGEST = "51b7599f869b9a3f564804a0aed290f3de803292"  # of the recorded VM config
CT_DIGEST = "5911baea29f4c0073fb063fd9ab29e75892832bf"  # of the recorded container config


async def test_growing_a_vm_disk_previews_sizes_and_steps_and_puts_the_size_encoded(
    proxmox: MemoryPve, context: Ctx
) -> None:
    path = "/nodes/node1/qemu/101/resize"
    proxmox.answer("PUT", path, upid("node1", "resize", 101))
    params = ResizeParams(disk="scsi1", size="+10G")
    assert await RESIZE.preflight(context(vm()), params) == []
    preview = await RESIZE.preview(context(vm()), params)
    assert preview.facts == [
        ("Disk", "scsi1 (storage:vm-101-disk-3)"),
        ("Size now", "30 GiB"),
        ("Size after", "40 GiB (+10 GiB)"),
    ]
    assert preview.losses == [
        "The disk cannot be made smaller again afterwards: Proxmox cannot shrink disks."
    ]
    assert preview.data == {"disk": "scsi1", "old_bytes": 30 * 1024**3, "new_bytes": 40 * 1024**3}
    assert preview.steps[0].startswith("lsblk /dev/sdb ")  # scsi0 is sda, scsi1 sdb
    answer = await RESIZE.call(context(vm()), params)
    assert answer is not None and parse_upid(answer).type == RESIZE.task_type(vm(), params) == "resize"
    assert proxmox.sent == [Sent("PUT", path, {"disk": "scsi1", "size": "+10G", "digest": VM_DIGEST})]
    # PVE decodes '+' in a form as a space: ' 10G' would fail its size pattern (FACTS.md section 1).
    assert proxmox.sent[0].body == f"disk=scsi1&size=%2B10G&digest={VM_DIGEST}"
    assert proxmox.sent[0].content_type == "application/x-www-form-urlencoded"
    assert RESIZE.describe(vm(), params) == "Resize scsi1 of VM 101 matt from 30 GiB to 40 GiB"
    assert RESIZE.target_key(vm(), params) == "guest:101:disk:scsi1"


async def test_growing_a_container_root_disk_needs_nothing_inside(proxmox: MemoryPve, context: Ctx) -> None:
    path = "/nodes/node1/lxc/100/resize"
    proxmox.answer("PUT", path, upid("node1", "resize", 100))
    params = ResizeParams(disk="rootfs", size="32G")
    preview = await RESIZE.preview(context(ct()), params)
    assert preview.facts[2] == ("Size after", "32 GiB (+2 GiB)")
    assert preview.notes == ["Proxmox grows the container's filesystem itself: nothing to do inside it."]
    assert preview.steps == []
    await RESIZE.call(context(ct()), params)
    assert proxmox.sent == [Sent("PUT", path, {"disk": "rootfs", "size": "32G", "digest": CT_DIGEST})]


def test_guest_steps_name_the_device_or_windows_tools() -> None:
    virtio = vm({"virtio0": "storage:vm-101-disk-5,size=8G", "virtio1": "storage:vm-101-disk-6,size=8G"})
    steps = guest_steps(virtio, "virtio1")
    assert steps[0].startswith("lsblk /dev/vdb ") and "resize2fs /dev/vdbN" in steps[-1]
    windows = guest_steps(vm({"ostype": "win11"}), "scsi0")
    assert windows[0].startswith("In Disk Management (diskmgmt.msc)")


@pytest.mark.parametrize(
    ("guest", "disk", "size", "reason", "field"),
    [
        (
            vm(),
            "scsi5",
            "+1G",
            "VM 101 matt has no disk 'scsi5'; its disks are: scsi0, scsi1, scsi2.",
            "disk",
        ),
        (vm(), "ide2", "+1G", "ide2 is a CD-ROM drive; it has no size to change.", "disk"),
        (vm(), "scsi1", "20G", "Proxmox cannot shrink disks: scsi1 is 30 GiB and 20 GiB is smaller.", "size"),
        (
            vm(),
            "scsi1",
            "64",
            "Proxmox cannot shrink disks: scsi1 is 30 GiB and 64 B is smaller "
            "(a size without a unit is in bytes: write 64G for 64 GiB).",
            "size",
        ),
        (vm(), "scsi1", "30G", "scsi1 is already 30 GiB.", "size"),
        (ct(), "mp0", "+1G", "Proxmox gives no size for mp0; resize it in Proxmox itself.", "disk"),
        (ct(), "scsi0", "+1G", "CT 100 test-lxc has no disk 'scsi0'; its disks are: mp0, rootfs.", "disk"),
        (
            vm(**stopped(lock="clone")),
            "scsi1",
            "+1G",
            "VM 101 is locked (clone); wait for that to finish.",
            None,
        ),
    ],
)
async def test_resize_refuses_all_but_growth_of_a_real_disk(
    proxmox: MemoryPve, context: Ctx, guest: Guest, disk: str, size: str, reason: str, field: str | None
) -> None:
    params = ResizeParams(disk=disk, size=size)
    with pytest.raises(Refused) as refused:
        await RESIZE.preflight(context(guest), params)
    assert (refused.value.message, refused.value.field) == (reason, field)
    if field:
        label = "VM 101 matt" if guest.type == "qemu" else "CT 100 test-lxc"
        assert RESIZE.describe(guest, params) == f"Resize {disk} of {label} to {size}"
    assert proxmox.sent == []


def test_resize_params_take_pve_disk_names_and_sizes_only() -> None:
    for disk, size in [
        ("sdb", "+1G"),
        ("scsi0", "10GB"),
        ("scsi0", "-5G"),
        ("rootfs", "+ 1G"),
        ("mp0", "1P"),
    ]:
        with pytest.raises(ValidationError):
            ResizeParams(disk=disk, size=size)
    assert ResizeParams(disk="mp12", size="10.5G").size == "10.5G"
    assert RESIZE.describe(None, ResizeParams(disk="scsi0", size="+1G")) == "Resize scsi0 to +1G"
    assert RESIZE.target_key(None, ResizeParams(disk="scsi0", size="1G")) == "guest::disk:scsi0"
