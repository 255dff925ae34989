"""Take a snapshot: names, RAM, and what PVE is sent."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from app.operations import snapshots
from app.operations.base import Refused
from app.operations.snapshots import RAM_WARNING, SNAPSHOT, SnapshotParams, fresh_snapname
from app.proxmox import parse_upid
from tests.operations.answers import ct, recorded, vm, vm_snapshots
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VM_SNAPSHOTS = "/nodes/node1/qemu/101/snapshot"
CT_SNAPSHOTS = "/nodes/node1/lxc/100/snapshot"


async def test_snapshot_with_ram_of_a_running_vm_warns_and_posts_vmstate(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", VM_SNAPSHOTS, vm_snapshots())
    proxmox.answer("POST", VM_SNAPSHOTS, upid("node1", "qmsnapshot", 101))
    params = SnapshotParams(snapname="pre-kernel", description="kernel 6.8 → 6.14", vmstate=True)
    assert await SNAPSHOT.preflight(context(vm()), params) == [RAM_WARNING]
    answer = await SNAPSHOT.call(context(vm()), params)
    assert answer is not None and parse_upid(answer).type == SNAPSHOT.task_type(vm(), params) == "qmsnapshot"
    assert proxmox.sent == [
        Sent("GET", VM_SNAPSHOTS),
        Sent(
            "POST",
            VM_SNAPSHOTS,
            {"snapname": "pre-kernel", "description": "kernel 6.8 → 6.14", "vmstate": "1"},
        ),
    ]
    assert proxmox.sent[1].body == "snapname=pre-kernel&description=kernel+6.8+%E2%86%92+6.14&vmstate=1"
    assert SNAPSHOT.describe(vm(), params) == "Take snapshot 'pre-kernel' including RAM of VM 101 matt"


async def test_snapshot_of_a_container_sends_only_its_name(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", CT_SNAPSHOTS, recorded("gp_lxc_snapshot_list.json"))
    proxmox.answer("POST", CT_SNAPSHOTS, upid("node1", "vzsnapshot", 100))
    params = SnapshotParams(snapname="nightly")
    assert await SNAPSHOT.preflight(context(ct()), params) == []
    await SNAPSHOT.call(context(ct()), params)
    assert proxmox.changes == [Sent("POST", CT_SNAPSHOTS, {"snapname": "nightly"})]
    assert SNAPSHOT.describe(ct(), params) == "Take snapshot 'nightly' of CT 100 test-lxc"


async def test_snapshot_refuses_a_name_the_guest_already_has(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", CT_SNAPSHOTS, recorded("gp_lxc_snapshot_list.json"))
    with pytest.raises(Refused) as refused:
        await SNAPSHOT.preflight(context(ct()), SnapshotParams(snapname="snapshot1"))
    assert (refused.value.message, refused.value.field) == (
        "CT 100 test-lxc already has a snapshot named 'snapshot1'.",
        "snapname",
    )
    assert proxmox.changes == []


async def test_snapshot_refuses_ram_for_containers_and_locked_guests_before_asking(
    proxmox: MemoryPve, context: Ctx
) -> None:
    with pytest.raises(Refused) as refused:
        await SNAPSHOT.preflight(context(ct()), SnapshotParams(snapname="x1", vmstate=True))
    assert refused.value.field == "vmstate" and refused.value.message.startswith("Containers have no RAM")
    with pytest.raises(Refused, match=r"^VM 101 is locked \(backup\)"):
        await SNAPSHOT.preflight(context(vm(lock="backup")), SnapshotParams(snapname="x1"))
    assert proxmox.sent == []


def test_snapshot_names_follow_pve_and_skip_reserved_ones() -> None:
    assert re.fullmatch(r"snap-\d{8}-\d{4}", SnapshotParams().snapname)
    for bad in ("current", "VZDUMP", "1st", "x", "a" * 41, "with space"):
        with pytest.raises(ValidationError):
            SnapshotParams(snapname=bad)
    assert not SNAPSHOT.applies_to(vm(template=1))


def test_a_fresh_name_is_the_default_unless_the_guest_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    base = "snap-20261206-0930"
    monkeypatch.setattr(snapshots, "default_snapname", lambda: base)
    assert fresh_snapname([]) == base and fresh_snapname(["other"]) == base
    assert fresh_snapname([base]) == f"{base}-2"
    assert fresh_snapname([base, f"{base}-2"]) == f"{base}-3"
