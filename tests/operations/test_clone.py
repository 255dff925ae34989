"""Clone a guest: full or linked, to which node and storage, from which snapshot, and its free VMID."""

from __future__ import annotations

import pytest

from app.operations.base import Guest, Refused
from app.operations.clone import CLONE, CloneParams
from app.proxmox import parse_upid
from tests.operations.answers import cluster, ct, recorded, shared_everywhere, stopped, vm, vmid_taken
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VM_CONFIG = "/nodes/node1/qemu/101/config"
CT_CONFIG = "/nodes/node1/lxc/100/config"
NEXTID = "/cluster/nextid"
STATIC = {"ipconfig0": "ip=10.0.20.5/24,gw=10.0.20.1"}  # a cloud-init address, as PVE keeps it in the config


async def test_full_clone_of_a_running_vm_takes_the_next_id_and_warns(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", VM_CONFIG, {**recorded("cp_qemu_config_pve6.2.json"), **STATIC})
    proxmox.answer("GET", NEXTID, recorded("gp_cluster_nextid.json"))  # "100": PVE sends a string
    proxmox.answer("POST", "/nodes/node1/qemu/101/clone", upid("node1", "qmclone", 101))
    params = CloneParams(name="matt-copy")
    assert await CLONE.preflight(context(vm()), params) == [
        "The copy keeps the static address 10.0.20.5/24 (ipconfig0) that VM 101 matt uses: change it before "
        "both run, or the network sees the address twice.",
        "VM 101 matt is running: the copy is taken from its disks as they are now.",
    ]
    assert params.newid == 100
    answer = await CLONE.call(context(vm()), params)
    assert answer is not None and parse_upid(answer).type == CLONE.task_type(vm(), params) == "qmclone"
    assert proxmox.sent == [
        Sent("GET", VM_CONFIG),
        Sent("GET", NEXTID),
        Sent("POST", "/nodes/node1/qemu/101/clone", {"newid": "100", "full": "1", "name": "matt-copy"}),
    ]
    assert CLONE.describe(vm(), params) == "Clone VM 101 matt as 100 matt-copy (full copy)"


async def test_linked_clone_of_a_template_sends_full_0(proxmox: MemoryPve, context: Ctx) -> None:
    template = vm(**stopped(template=1))
    proxmox.answer("GET", VM_CONFIG, recorded("cp_qemu_config_pve6.2.json"))
    proxmox.answer("GET", NEXTID, "300")
    proxmox.answer("POST", "/nodes/node1/qemu/101/clone", upid("node1", "qmclone", 101))
    params = CloneParams(newid=300, full=False)
    assert await CLONE.preflight(context(template), params) == []
    await CLONE.call(context(template), params)
    assert proxmox.sent[1] == Sent("GET", NEXTID, {"vmid": "300"})
    assert proxmox.changes == [Sent("POST", "/nodes/node1/qemu/101/clone", {"newid": "300", "full": "0"})]
    assert CLONE.describe(template, params) == "Clone VM 101 matt as 300 (linked clone)"


async def test_clone_of_a_running_container_from_a_recorded_snapshot(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", "/nodes/node1/lxc/100/snapshot", recorded("gp_lxc_snapshot_list.json"))
    # Proxmox copies the snapshot's config; this one, unlike the recorded config, has no bind mount.
    snapshot = {k: v for k, v in recorded("gp_lxc_config.json").items() if k != "mp0"}
    proxmox.answer("GET", "/nodes/node1/lxc/100/snapshot/snapshot1/config", snapshot)
    proxmox.answer("GET", NEXTID, "100")
    proxmox.answer("POST", "/nodes/node1/lxc/100/clone", upid("node1", "vzclone", 100))
    params = CloneParams(name="web2", snapname="snapshot1")
    assert await CLONE.preflight(context(ct()), params) == []  # its net0 asks DHCP: no address to share
    await CLONE.call(context(ct()), params)
    assert proxmox.changes == [
        Sent(
            "POST",
            "/nodes/node1/lxc/100/clone",
            {"newid": "100", "full": "1", "hostname": "web2", "snapname": "snapshot1"},
        )
    ]


async def test_clone_of_a_container_with_a_recorded_bind_mount_is_refused_before_anything_is_sent(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", CT_CONFIG, recorded("gp_lxc_config.json"))
    with pytest.raises(Refused) as refused:
        await CLONE.preflight(context(ct(**stopped())), CloneParams())
    assert refused.value.message == (
        "CT 100 test-lxc cannot be copied: mp0 is a bind mount of a host directory (/mnt/foo/bar), which "
        "Proxmox does not copy; remove the mount point first."
    )
    assert proxmox.changes == []


async def test_clone_to_another_node_with_disks_on_shared_storage(proxmox: MemoryPve, context: Ctx) -> None:
    disks = {"scsi0": "ceph:vm-101-disk-0,size=10G", "scsi1": "ceph:vm-101-disk-1,size=30G"}
    config = {k: v for k, v in recorded("cp_qemu_config_pve6.2.json").items() if k != "scsi2"} | disks
    guest = vm(config, **stopped())
    proxmox.answer("GET", VM_CONFIG, config)
    proxmox.answer("GET", "/cluster/resources", cluster(*shared_everywhere("ceph", "rbd", "images,rootdir")))
    proxmox.answer("GET", NEXTID, "100")
    proxmox.answer("POST", "/nodes/node1/qemu/101/clone", upid("node1", "qmclone", 101))
    params = CloneParams(target="node2", storage="ceph")
    assert await CLONE.preflight(context(guest), params) == []
    await CLONE.call(context(guest), params)
    assert proxmox.changes == [
        Sent(
            "POST",
            "/nodes/node1/qemu/101/clone",
            {"newid": "100", "full": "1", "target": "node2", "storage": "ceph"},
        )
    ]
    assert CLONE.describe(guest, params) == "Clone VM 101 matt as 100 (full copy on node2)"


async def test_clone_to_another_node_refuses_disks_only_this_node_has(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", VM_CONFIG, recorded("cp_qemu_config_pve6.2.json"))
    proxmox.answer("GET", "/cluster/resources", cluster())
    with pytest.raises(Refused) as refused:
        await CLONE.preflight(context(vm(**stopped())), CloneParams(target="node2"))
    assert refused.value.field == "target"
    assert refused.value.message == (
        "VM 101 matt cannot be copied to node2: scsi0 on storage, scsi1 on storage, scsi2 on storage are on "
        "storage only node1 has; copy it on node1, or move the disks to shared storage first."
    )
    assert proxmox.changes == []


@pytest.mark.parametrize(
    ("guest", "params", "reason", "field"),
    [
        (
            vm(),
            CloneParams(full=False),
            "Linked clones can only be made from templates; make a full copy.",
            "full",
        ),
        (
            vm(**stopped(template=1)),
            CloneParams(full=False, storage="local-zfs"),
            "A storage can only be chosen for a full copy.",
            "storage",
        ),
        (vm(lock="backup"), CloneParams(), "VM 101 is locked (backup); wait for that to finish.", None),
    ],
)
async def test_clone_refuses_before_reading_anything(
    proxmox: MemoryPve, context: Ctx, guest: Guest, params: CloneParams, reason: str, field: str | None
) -> None:
    with pytest.raises(Refused) as refused:
        await CLONE.preflight(context(guest), params)
    assert (refused.value.message, refused.value.field) == (reason, field)
    assert proxmox.sent == []


async def test_clone_of_a_running_container_needs_a_snapshot(proxmox: MemoryPve, context: Ctx) -> None:
    snapshots = "/nodes/node1/lxc/100/snapshot"
    proxmox.answer("GET", snapshots, recorded("gp_lxc_snapshot_list.json"))
    for params, reason in [
        (
            CloneParams(),
            "CT 100 test-lxc is running: Proxmox copies a running container only from a snapshot. "
            "Choose one of: snapshot1, snapshot2, or shut it down first.",
        ),
        (
            CloneParams(snapname="nightly"),
            "CT 100 test-lxc has no snapshot 'nightly'; it has: snapshot1, snapshot2.",
        ),
    ]:
        with pytest.raises(Refused) as refused:
            await CLONE.preflight(context(ct()), params)
        assert (refused.value.message, refused.value.field) == (reason, "snapname")
    proxmox.answer("GET", snapshots, [{"name": "current", "description": "You are here!", "running": 1}])
    with pytest.raises(Refused, match="is running and has no snapshot"):
        await CLONE.preflight(context(ct()), CloneParams())
    assert proxmox.changes == []


async def test_clone_refuses_a_storage_that_takes_no_disks(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", VM_CONFIG, recorded("cp_qemu_config_pve6.2.json"))
    proxmox.answer("GET", "/cluster/resources", cluster())
    with pytest.raises(Refused) as refused:
        await CLONE.preflight(context(vm()), CloneParams(storage="local"))
    assert (refused.value.message, refused.value.field) == (
        "Storage 'local' cannot hold images on node1; choose one of: local-zfs.",
        "storage",
    )


async def test_clone_to_a_taken_vmid_names_the_newid_field(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", VM_CONFIG, recorded("cp_qemu_config_pve6.2.json"))
    proxmox.fail("GET", NEXTID, *vmid_taken())
    with pytest.raises(Refused) as refused:
        await CLONE.preflight(context(vm(**stopped())), CloneParams(newid=200))
    assert (refused.value.message, refused.value.field) == ("VM 200 already exists", "newid")


async def test_clone_to_an_offline_node_names_the_target_field(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", VM_CONFIG, recorded("cp_qemu_config_pve6.2.json"))
    proxmox.answer("GET", "/cluster/resources", cluster(offline=("node3",)))
    with pytest.raises(Refused) as refused:
        await CLONE.preflight(context(vm(**stopped())), CloneParams(target="node3"))
    assert (refused.value.message, refused.value.field) == ("Node node3 is offline.", "target")
