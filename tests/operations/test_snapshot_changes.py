"""Roll back to a snapshot and delete one: destructive, so their previews say what is lost."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from app.operations import snapshot_changes
from app.operations.base import Refused
from app.operations.snapshot_changes import DELETE_SNAPSHOT, ROLLBACK, RollbackParams, SnapshotChoice
from app.proxmox import parse_upid
from tests.operations.answers import JAN_1, JAN_2, cluster, ct, recorded, stopped, vm, vm_snapshots
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VM_SNAPSHOTS = "/nodes/node1/qemu/101/snapshot"
CT_SNAPSHOTS = "/nodes/node1/lxc/100/snapshot"
NOW = JAN_2 + 2 * 3600 + 60


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ages in previews ('1 day ago') read the clock: hold it still."""
    monkeypatch.setattr(snapshot_changes, "time", SimpleNamespace(time=lambda: NOW))


# ---------------------------------------------------------------------- roll back


async def test_rollback_of_a_running_vm_warns_previews_and_posts(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", VM_SNAPSHOTS, vm_snapshots())
    proxmox.answer("GET", "/cluster/resources", cluster())
    path = f"{VM_SNAPSHOTS}/base/rollback"
    proxmox.answer("POST", path, upid("node1", "qmrollback", 101))
    params = RollbackParams(snapname="base", start=True)
    ctx = context(vm())
    assert await ROLLBACK.preflight(ctx, params) == [
        "VM 101 matt is running: Proxmox stops it for the rollback."
    ]
    preview = await ROLLBACK.preview(ctx, params)
    assert preview.facts == [("Snapshot", "base"), ("Taken", "2026-01-01 00:00 UTC (1 day ago)")]
    assert preview.losses == [
        "Everything written to its disks in the last 1 day is lost",
        "Configuration changes made since then are undone",
        "VM 101 matt is running now: it is stopped, and what is in its memory is lost",
    ]
    assert preview.notes == [
        "It is started once the rollback is done.",
        "Newer snapshots stay and can still be rolled back to: before-upgrade.",
    ]
    assert (
        preview.data["newer_snapshots"] == ["before-upgrade"] and preview.data["age_seconds"] == NOW - JAN_1
    )
    await ROLLBACK.call(ctx, params)
    assert proxmox.changes == [Sent("POST", path, {"start": "1"})]
    assert ROLLBACK.describe(vm(), params) == "Roll back VM 101 matt to snapshot 'base', then start it"


async def test_rollback_to_a_snapshot_with_ram_says_the_vm_resumes(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", VM_SNAPSHOTS, vm_snapshots())
    preview = await ROLLBACK.preview(context(vm(**stopped())), RollbackParams(snapname="before-upgrade"))
    assert preview.facts[-1] == ("Description", "before apt upgrade")
    assert preview.notes == [
        "The snapshot includes RAM: the VM resumes exactly where it was, already running."
    ]
    assert len(preview.losses) == 2 and preview.data["vmstate"] is True


async def test_rollback_of_a_container_to_a_recorded_snapshot(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", CT_SNAPSHOTS, recorded("gp_lxc_snapshot_list.json"))
    proxmox.answer("GET", "/cluster/resources", cluster())
    path = f"{CT_SNAPSHOTS}/snapshot1/rollback"
    proxmox.answer("POST", path, upid("node1", "vzrollback", 100))
    params = RollbackParams(snapname="snapshot1")
    guest = ct(**stopped())
    assert await ROLLBACK.preflight(context(guest), params) == []
    preview = await ROLLBACK.preview(context(guest), params)
    assert preview.facts[1:] == [
        ("Taken", "2024-03-06 19:28 UTC (666 days ago)"),
        ("Description", "description1"),
    ]
    assert preview.notes == ["Newer snapshots stay and can still be rolled back to: snapshot2."]
    await ROLLBACK.call(context(guest), params)
    assert proxmox.changes == [Sent("POST", path)]
    assert ROLLBACK.task_type(guest, params) == "vzrollback"


async def test_rollback_refuses_a_snapshot_the_guest_has_not(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", VM_SNAPSHOTS, vm_snapshots())
    with pytest.raises(Refused) as refused:
        await ROLLBACK.preflight(context(vm()), RollbackParams(snapname="nope"))
    assert (refused.value.message, refused.value.field) == (
        "VM 101 matt has no snapshot 'nope'; it has: base, before-upgrade.",
        "snapname",
    )
    assert proxmox.changes == []


async def test_rollback_past_newer_snapshots_on_zfs_is_refused(proxmox: MemoryPve, context: Ctx) -> None:
    # local-zfs is a zfspool on node1 in the recorded cluster: ZFS rolls back only to the latest snapshot.
    proxmox.answer("GET", VM_SNAPSHOTS, vm_snapshots())
    proxmox.answer("GET", "/cluster/resources", cluster())
    guest = vm(config={"scsi0": "local-zfs:vm-101-disk-0,size=10G"})
    with pytest.raises(Refused) as refused:
        await ROLLBACK.preflight(context(guest), RollbackParams(snapname="base"))
    assert refused.value.field == "snapname"
    assert refused.value.message == (
        "Disk scsi0 is on ZFS storage 'local-zfs', which can only roll back to its most recent snapshot; "
        "delete the newer snapshots first: before-upgrade."
    )
    # The latest one is fine on ZFS.
    assert await ROLLBACK.preflight(context(guest), RollbackParams(snapname="before-upgrade")) != []


async def test_rollback_refuses_templates_and_locked_guests_without_asking(
    proxmox: MemoryPve, context: Ctx
) -> None:
    with pytest.raises(Refused, match="templates cannot be rolled back"):
        await ROLLBACK.preflight(context(vm(**stopped(template=1))), RollbackParams(snapname="base"))
    with pytest.raises(Refused, match=r"^VM 101 is locked \(rollback\)"):
        await ROLLBACK.preflight(context(vm(lock="rollback")), RollbackParams(snapname="base"))
    assert proxmox.sent == []


# ---------------------------------------------------------------------- delete a snapshot


async def test_delete_snapshot_previews_its_children_and_deletes(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", VM_SNAPSHOTS, vm_snapshots())
    path = f"{VM_SNAPSHOTS}/base"
    proxmox.answer("DELETE", path, upid("node1", "qmdelsnapshot", 101))
    params = SnapshotChoice(snapname="base")
    assert await DELETE_SNAPSHOT.preflight(context(vm()), params) == []
    preview = await DELETE_SNAPSHOT.preview(context(vm()), params)
    assert preview.losses == ["The state of 2026-01-01 00:00 UTC (1 day ago) can no longer be rolled back to"]
    assert preview.notes == [
        "Its child snapshots stay (before-upgrade) and now follow nothing (they become the oldest)."
    ]
    assert preview.data == {
        "snapname": "base",
        "children": ["before-upgrade"],
        "vmstate": False,
        "parent": None,
    }
    answer = await DELETE_SNAPSHOT.call(context(vm()), params)
    assert answer is not None and parse_upid(answer).type == DELETE_SNAPSHOT.task_type(vm(), params)
    assert proxmox.changes == [Sent("DELETE", path)]
    assert DELETE_SNAPSHOT.describe(vm(), params) == "Delete snapshot 'base' of VM 101 matt"
    assert DELETE_SNAPSHOT.target_key(vm(), params) == "guest:101:snapshot:base"


async def test_delete_snapshot_with_ram_says_the_ram_goes_too(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", VM_SNAPSHOTS, vm_snapshots())
    preview = await DELETE_SNAPSHOT.preview(context(vm()), SnapshotChoice(snapname="before-upgrade"))
    assert preview.losses[1:] == ["Its saved RAM state is deleted with it"]
    assert preview.notes == [] and preview.data["parent"] == "base"


async def test_delete_snapshot_refuses_unknown_snapshots_and_templates(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", CT_SNAPSHOTS, recorded("gp_lxc_snapshot_list.json"))
    with pytest.raises(Refused) as refused:
        await DELETE_SNAPSHOT.preflight(context(ct()), SnapshotChoice(snapname="weekly"))
    assert (refused.value.message, refused.value.field) == (
        "CT 100 test-lxc has no snapshot 'weekly'; it has: snapshot1, snapshot2.",
        "snapname",
    )
    with pytest.raises(Refused, match="Proxmox keeps the snapshots of templates"):
        await DELETE_SNAPSHOT.preflight(context(ct(template=1)), SnapshotChoice(snapname="snapshot1"))
    with pytest.raises(ValidationError):
        SnapshotChoice(snapname="current")
    assert proxmox.changes == []
