"""Delete a guest, and convert one into a template: the previews say what is lost, the calls what PVE is sent."""

from __future__ import annotations

import re

import pytest

from app.operations.base import Guest, NoParams, Refused
from app.operations.destroy import DELETE, TEMPLATE, DeleteParams
from app.proxmox import parse_upid
from tests.operations.answers import ct, no_snapshots, qemu_snapshots, recorded, stopped, vm
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VM_DISK_LOSSES = [
    "Disk scsi0: storage:vm-101-disk-0 (10 GiB) is destroyed",
    "Disk scsi1: storage:vm-101-disk-3 (30 GiB) is destroyed",
    "Disk scsi2: storage:vm-101-disk-2 (10 GiB) is destroyed",
]


def snapshots_of_vm() -> list[dict[str, object]]:
    """Two snapshots of VM 101."""
    return qemu_snapshots({"name": "base", "snaptime": 1767225600}, {"name": "b2", "snaptime": 1767312000})


# ---------------------------------------------------------------------- delete


async def test_delete_previews_every_disk_and_snapshot_and_sends_its_options_in_the_query(
    proxmox: MemoryPve, context: Ctx
) -> None:
    guest = vm(**stopped())
    proxmox.answer("GET", "/nodes/node1/qemu/101/snapshot", snapshots_of_vm())
    proxmox.answer("DELETE", "/nodes/node1/qemu/101", upid("node1", "qmdestroy", 101))
    params = DeleteParams(purge=True, destroy_unreferenced_disks=True)
    assert await DELETE.preflight(context(guest), params) == []
    assert proxmox.sent == []  # the preflight reads nothing: the pipeline read the status and config
    preview = await DELETE.preview(context(guest), params)
    assert preview.facts == [("Guest", "VM 101 matt on node1")]
    assert preview.losses == [
        *VM_DISK_LOSSES,  # not the empty CD-ROM drive ide2
        "2 snapshots go with it: base, b2",
        "Any other disk with VMID 101 on any storage is destroyed as well",
    ]
    assert preview.notes == [
        "Backups of this guest are kept; delete them separately if they should go too.",
        "It is also removed from backup jobs, replication jobs and HA.",
    ]
    assert preview.data == {
        "disks": ["storage:vm-101-disk-0", "storage:vm-101-disk-3", "storage:vm-101-disk-2"],
        "snapshots": ["base", "b2"],
    }
    answer = await DELETE.call(context(guest), params)
    assert answer is not None and parse_upid(answer).type == DELETE.task_type(guest, params) == "qmdestroy"
    assert proxmox.changes == [
        Sent("DELETE", "/nodes/node1/qemu/101", {"purge": "1", "destroy-unreferenced-disks": "1"})
    ]
    assert DELETE.describe(guest, params) == (
        "Delete VM 101 matt and its disks (purge it from jobs and HA, destroy unreferenced disks)"
    )
    assert DELETE.typed_confirmation and DELETE.reads_config


async def test_delete_without_options_sends_none(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("DELETE", "/nodes/node1/qemu/101", upid("node1", "qmdestroy", 101))
    await DELETE.call(context(vm(**stopped())), DeleteParams())
    assert proxmox.sent == [Sent("DELETE", "/nodes/node1/qemu/101")]
    assert DELETE.describe(vm(), DeleteParams()) == "Delete VM 101 matt and its disks"


@pytest.mark.parametrize(
    ("guest", "reason"),
    [
        (vm(), "VM 101 matt is running; shut it down first to delete it."),
        (vm(**stopped(lock="backup")), "VM 101 is locked (backup); wait for that to finish."),
        (
            vm({"protection": 1}, **stopped()),
            "VM 101 matt is protected (protection=1); turn protection off in its options to delete it.",
        ),
    ],
)
async def test_delete_refuses_running_locked_and_protected_guests(
    proxmox: MemoryPve, context: Ctx, guest: Guest, reason: str
) -> None:
    with pytest.raises(Refused) as refused:
        await DELETE.preflight(context(guest), DeleteParams())
    assert (refused.value.message, refused.value.field) == (reason, None)
    assert proxmox.sent == []


async def test_delete_of_an_ha_managed_container_needs_purge(proxmox: MemoryPve, context: Ctx) -> None:
    # The recorded container status says ha.managed = 1.
    guest = ct(**stopped())
    assert guest.ha_managed
    with pytest.raises(Refused) as refused:
        await DELETE.preflight(context(guest), DeleteParams())
    assert refused.value.field == "purge"
    assert refused.value.message.startswith(
        "CT 100 test-lxc is managed by HA; Proxmox deletes it only with 'purge'"
    )
    assert await DELETE.preflight(context(guest), DeleteParams(purge=True)) == []


async def test_delete_preview_of_a_container_lists_its_volumes_not_its_bind_mounts(
    proxmox: MemoryPve, context: Ctx
) -> None:
    # mp0 of the recorded config is a bind mount (/mnt/foo/bar): a host directory PVE leaves alone.
    proxmox.answer("GET", "/nodes/node1/lxc/100/snapshot", recorded("gp_lxc_snapshot_list.json"))
    preview = await DELETE.preview(context(ct(**stopped())), DeleteParams(purge=True))
    assert preview.losses == [
        "Disk rootfs: vmstore:subvol-100-disk-0 (30 GiB) is destroyed",
        "2 snapshots go with it: snapshot1, snapshot2",
    ]
    assert preview.notes[0] == (
        "Disk mp0: /mnt/foo/bar is a bind mount of a host directory; Proxmox leaves it as it is."
    )


# ---------------------------------------------------------------------- convert to template


async def test_template_of_a_stopped_vm_previews_and_posts(proxmox: MemoryPve, context: Ctx) -> None:
    guest = vm(**stopped())
    proxmox.answer("GET", "/nodes/node1/qemu/101/snapshot", no_snapshots(running=0))
    proxmox.answer("POST", "/nodes/node1/qemu/101/template", upid("node1", "qmtemplate", 101))
    assert await TEMPLATE.preflight(context(guest), NoParams()) == []
    preview = await TEMPLATE.preview(context(guest), NoParams())
    assert preview.losses == [
        "This cannot be undone: a template can never be started again, only cloned.",
        "Disk scsi0: storage:vm-101-disk-0 (10 GiB) becomes a read-only base image",
        "Disk scsi1: storage:vm-101-disk-3 (30 GiB) becomes a read-only base image",
        "Disk scsi2: storage:vm-101-disk-2 (10 GiB) becomes a read-only base image",
    ]
    answer = await TEMPLATE.call(context(guest), NoParams())
    assert answer is not None and parse_upid(answer).type == TEMPLATE.task_type(guest, NoParams())
    assert proxmox.sent == [
        Sent("GET", "/nodes/node1/qemu/101/snapshot"),  # the preflight's; the preview reads nothing
        Sent("POST", "/nodes/node1/qemu/101/template"),
    ]
    assert proxmox.sent[-1].body == ""
    assert TEMPLATE.describe(guest, NoParams()) == "Convert VM 101 matt into a template (irreversible)"


async def test_template_of_a_container_answers_no_upid(proxmox: MemoryPve, context: Ctx) -> None:
    # PVE's lxc template returns null: the vztemplate worker's UPID is discarded (FACTS.md).
    proxmox.answer("POST", "/nodes/node1/lxc/100/template", None)
    assert await TEMPLATE.call(context(ct(**stopped())), NoParams()) is None
    assert proxmox.changes == [Sent("POST", "/nodes/node1/lxc/100/template")]


async def test_template_refuses_a_guest_with_snapshots(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", "/nodes/node1/qemu/101/snapshot", snapshots_of_vm())
    with pytest.raises(Refused) as refused:
        await TEMPLATE.preflight(context(vm(**stopped())), NoParams())
    assert refused.value.message == (
        "VM 101 matt has 2 snapshots; Proxmox cannot make a template of a guest with snapshots. Delete them first."
    )
    assert proxmox.changes == []


@pytest.mark.parametrize(
    ("guest", "reason"),
    [
        (vm(**stopped(template=1)), "VM 101 matt is already a template."),
        (vm(), "VM 101 matt is running; shut it down first to convert it to a template."),
        (ct(**stopped(lock="mounted")), "CT 100 is locked (mounted); wait for that to finish."),
    ],
)
async def test_template_refuses_templates_running_and_locked_guests(
    proxmox: MemoryPve, context: Ctx, guest: Guest, reason: str
) -> None:
    with pytest.raises(Refused, match=f"^{re.escape(reason)}$"):
        await TEMPLATE.preflight(context(guest), NoParams())
    assert proxmox.sent == []
    assert not TEMPLATE.applies_to(guest)
