"""Migrate a guest: Proxmox's precondition read first, its reasons in words, and the exact call for a live VM,
an offline one, and a container HA manages."""

from __future__ import annotations

from typing import Any

import pytest

from app.operations.base import MissingParameter, Refused
from app.operations.migrate import MIGRATE
from app.operations.migrate_params import MigrateParams
from app.proxmox import PveClient
from tests.operations.answers import cluster, ct, stopped, vm
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VM_MIGRATE = "/nodes/node1/qemu/101/migrate"
GIB = 1024**3


def precondition(running: int = 1, **extra: Any) -> dict[str, Any]:
    """GET .../qemu/101/migrate as qemu-server answers it: VM 101's three disks on local storage 'storage'."""
    disks = [
        {
            "volid": f"storage:vm-103-disk-{n}",
            "size": size * GIB,
            "cdrom": 0,
            "is_unused": 0,
            "drivename": key,
        }
        for n, size, key in ((0, 10, "scsi0"), (2, 10, "scsi2"), (3, 30, "scsi1"))
    ]
    answer = {
        "running": running,
        "allowed_nodes": ["node2", "node3", "node4"],
        "not_allowed_nodes": {},
        "local_disks": disks,
        "local_resources": [],
        "mapped-resources": [],
        "mapped-resource-info": {},
        "has-dbus-vmstate": 1,
    }
    return answer | extra


async def test_a_running_vm_with_local_disks_needs_with_local_disks_then_moves_live(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", VM_MIGRATE, precondition())
    proxmox.answer("POST", VM_MIGRATE, upid("node1", "qmigrate", 101))
    with pytest.raises(MissingParameter) as refused:
        await MIGRATE.preflight(context(vm()), MigrateParams(target="node2"))
    assert refused.value.field == "with_local_disks"
    assert refused.value.message.startswith(
        "VM 101 matt is running and storage:vm-103-disk-0 (10 GiB), storage:vm-103-disk-2 (10 GiB), "
        "storage:vm-103-disk-3 (30 GiB) are on storage only node1 has"
    )
    assert proxmox.changes == []

    params = MigrateParams(target="node2", with_local_disks=True)
    [warning] = await MIGRATE.preflight(context(vm()), params)
    assert warning.startswith("storage:vm-103-disk-0 (10 GiB), ") and " are copied to node2: " in warning
    await MIGRATE.call(context(vm()), params)
    assert proxmox.sent[-2] == Sent("GET", VM_MIGRATE, {})  # PVE answers for every node: no target to send
    assert proxmox.changes == [
        Sent("POST", VM_MIGRATE, {"target": "node2", "online": "1", "with-local-disks": "1"})
    ]
    assert MIGRATE.task_type(vm(), params) == "qmigrate"
    assert (
        MIGRATE.describe(vm(), params)
        == "Migrate VM 101 matt from node1 to node2 live, copying its local disks"
    )


async def test_a_node_proxmox_does_not_allow_is_refused_with_its_reason(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster())
    not_allowed = {"node4": {"unavailable_storages": ["storage"]}}
    proxmox.answer(
        "GET", VM_MIGRATE, precondition(0, allowed_nodes=["node2", "node3"], not_allowed_nodes=not_allowed)
    )
    proxmox.answer("POST", VM_MIGRATE, upid("node1", "qmigrate", 101))
    with pytest.raises(Refused) as refused:
        await MIGRATE.preflight(context(vm(**stopped())), MigrateParams(target="node4"))
    assert (refused.value.field, refused.value.message) == (
        "target",
        "VM 101 matt cannot move to node4: storage storage, which its disks are on, is not available there "
        "(choose a target storage). Nodes it can move to: node2, node3.",
    )
    params = MigrateParams(target="node4", target_storage="local-zfs")
    assert len(await MIGRATE.preflight(context(vm(**stopped())), params)) == 1
    await MIGRATE.call(context(vm(**stopped())), params)
    assert proxmox.changes == [Sent("POST", VM_MIGRATE, {"target": "node4", "targetstorage": "local-zfs"})]
    assert MIGRATE.describe(vm(**stopped()), params) == (
        "Migrate VM 101 matt from node1 to node4 offline, local disks to local-zfs"
    )


async def test_local_devices_and_a_local_iso_keep_a_vm_where_it_is(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", VM_MIGRATE, precondition(local_resources=["hostpci0"]))
    with pytest.raises(Refused, match=r"^VM 101 matt uses hostpci0, which only node1 has"):
        await MIGRATE.preflight(context(vm()), MigrateParams(target="node2", with_local_disks=True))
    iso = {"volid": "local:iso/debian.iso", "size": GIB, "cdrom": 1, "is_unused": 0}
    proxmox.answer("GET", VM_MIGRATE, precondition(local_disks=[iso]))
    with pytest.raises(
        Refused, match=r"^VM 101 matt's CD-ROM holds local:iso/debian.iso, on storage only node1"
    ):
        await MIGRATE.preflight(context(vm()), MigrateParams(target="node2"))
    assert proxmox.changes == []


async def test_a_local_cloud_init_drive_is_made_again_on_the_target(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster())
    drive = {"volid": "local-lvm:vm-101-cloudinit", "size": 4 * 1024**2, "cdrom": 1, "is_cloudinit": 1}
    proxmox.answer("GET", VM_MIGRATE, precondition(local_disks=[{**drive, "is_unused": 0}]))
    # Running, without with_local_disks: QemuMigrate neither copies nor refuses it ('generated').
    assert await MIGRATE.preflight(context(vm()), MigrateParams(target="node2")) == []


async def test_a_container_ha_manages_is_asked_of_ha_and_a_bind_mount_refused(
    proxmox: MemoryPve, context: Ctx
) -> None:
    ct_migrate = "/nodes/node1/lxc/100/migrate"
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", ct_migrate, {"running": 1, "allowed-nodes": ["node2"], "not-allowed-nodes": {}})
    proxmox.answer("GET", "/nodes/node1/lxc/100/config", ct().config)
    with pytest.raises(Refused, match=r"^mp0 of CT 100 test-lxc mounts /mnt/foo/bar from node1 itself"):
        await MIGRATE.preflight(context(ct()), MigrateParams(target="node2"))

    without_bind = {k: v for k, v in ct().config.items() if k != "mp0"}
    proxmox.answer(
        "GET", "/nodes/node1/lxc/100/config", without_bind | {"rootfs": "local-zfs:subvol-100-disk-0"}
    )
    proxmox.answer(
        "POST", "/cluster/ha/resources/ct:100/migrate", {"sid": "ct:100", "requested-node": "node2"}
    )
    params = MigrateParams(target="node2")
    warnings = await MIGRATE.preflight(context(ct()), params)
    assert any("is shut down, moved and started again on node2" in w for w in warnings)
    assert any(w.startswith("HA manages CT 100 test-lxc: Proxgate asks HA to move it") for w in warnings)
    assert await MIGRATE.call(context(ct()), params) is None
    assert proxmox.changes == [Sent("POST", "/cluster/ha/resources/ct:100/migrate", {"node": "node2"})]
    assert MIGRATE.task_type(ct(), params) is None
    assert (
        MIGRATE.describe(ct(), params)
        == "Ask HA to migrate CT 100 test-lxc from node1 to node2 by restarting it"
    )


async def test_the_end_event_says_where_the_task_moved_the_guest(proxmox: MemoryPve, pve: PveClient) -> None:
    task = upid("node1", "qmigrate", 101)
    lines = [
        "2026-12-06 10:12:01 starting migration of VM 101 to node 'node3' (10.0.0.3)",
        "2026-12-06 10:12:15 migration finished successfully (duration 00:00:14)",
        "TASK OK",
    ]
    proxmox.answer(
        "GET", f"/nodes/node1/tasks/{task}/log", [{"n": n + 1, "t": t} for n, t in enumerate(lines)]
    )
    assert MIGRATE.ended is not None
    assert await MIGRATE.ended(pve, "node1", task) == "moved from node1 to node3"
    assert proxmox.sent == [Sent("GET", f"/nodes/node1/tasks/{task}/log", {"start": "0", "limit": "50"})]
