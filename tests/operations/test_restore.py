"""Restore a backup as a new guest: node, storage, archive and VMID checks, and addresses still in use."""

from __future__ import annotations

import pytest

from app.operations.base import Refused
from app.operations.clone import RESTORE, RestoreParams
from app.proxmox import parse_upid
from tests.operations.answers import cluster, recorded, vmid_taken, volume, with_pbs
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VM_CONFIG = "/nodes/node1/qemu/101/config"
NEXTID = "/cluster/nextid"
VM_BACKUP = "local:backup/vzdump-qemu-101-2026_01_01-00_00_00.vma.zst"
CT_BACKUP = "local:backup/vzdump-lxc-105-2026_01_01-00_00_00.tar.zst"
PBS_BACKUP = "datastore:backup/vm/931/2023-12-14T04:34:34Z"  # recorded
STATIC = {"ipconfig0": "ip=10.0.20.5/24,gw=10.0.20.1"}  # a cloud-init address, as PVE keeps it in the config
# GET /nodes/{node}/vzdump/extractconfig answers the config file as one string, snapshot sections included.
EXTRACTED = (
    "boot: order=scsi0\ncores: 2\nipconfig0: ip=10.0.20.5/24,gw=10.0.20.1\nname: leap154\n"
    "scsi0: local-zfs:vm-101-disk-0,size=8G\n\n[base]\nipconfig0: ip=10.0.99.9/24\n"
)


async def test_restore_of_a_vm_backup_warns_of_addresses_its_guest_still_uses(
    proxmox: MemoryPve, context: Ctx
) -> None:
    # VM 101 (leap154, node1 in the recorded cluster) still has the address its backup carries.
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", "/nodes/node1/storage/local/content", [volume(VM_BACKUP, "backup", 1610612736)])
    proxmox.answer("GET", NEXTID, recorded("gp_cluster_nextid.json"))
    proxmox.answer("GET", "/nodes/node1/vzdump/extractconfig", EXTRACTED)
    proxmox.answer("GET", VM_CONFIG, {**recorded("cp_qemu_config_pve6.2.json"), **STATIC})
    proxmox.answer("POST", "/nodes/node1/qemu", upid("node1", "qmrestore", 100))
    params = RestoreParams(archive=VM_BACKUP, node="node1", storage="local-zfs")
    assert await RESTORE.preflight(context(None), params) == [
        "The restored guest keeps the static address 10.0.20.5/24 (ipconfig0) that VM 101 leap154 uses: change it "
        "before both run, or the network sees the address twice."
    ]
    assert proxmox.sent[3] == Sent("GET", "/nodes/node1/vzdump/extractconfig", {"volume": VM_BACKUP})
    answer = await RESTORE.call(context(None), params)
    assert answer is not None and parse_upid(answer).type == RESTORE.task_type(None, params) == "qmrestore"
    assert proxmox.changes == [
        Sent(
            "POST",
            "/nodes/node1/qemu",
            {"vmid": "100", "storage": "local-zfs", "unique": "1", "archive": VM_BACKUP},
        )
    ]
    assert RESTORE.describe(None, params) == f"Restore {VM_BACKUP} as new guest 100 on node1"
    assert params.subject() == ("node1", "qemu", 100, None)


async def test_restore_warning_is_skipped_when_the_config_cannot_be_read(
    proxmox: MemoryPve, context: Ctx
) -> None:
    text = "unable to extract configuration"
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", "/nodes/node1/storage/local/content", [volume(VM_BACKUP, "backup", 1610612736)])
    proxmox.answer("GET", NEXTID, "100")
    proxmox.fail(
        "GET", "/nodes/node1/vzdump/extractconfig", 500, text, {"data": None, "message": text + "\n"}
    )
    assert await RESTORE.preflight(context(None), RestoreParams(archive=VM_BACKUP, node="node1")) == []


async def test_restore_of_a_container_backup_with_start(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("GET", "/nodes/node1/storage/local/content", [volume(CT_BACKUP, "backup", 402653184)])
    proxmox.answer("GET", NEXTID, "100")
    proxmox.answer("POST", "/nodes/node1/lxc", upid("node1", "vzrestore", 100))
    params = RestoreParams(archive=CT_BACKUP, node="node1", storage="local-zfs", unique=False, start=True)
    assert await RESTORE.preflight(context(None), params) == []  # CT 105 is not in the cluster
    await RESTORE.call(context(None), params)
    assert proxmox.changes == [
        Sent(
            "POST",
            "/nodes/node1/lxc",
            {"vmid": "100", "storage": "local-zfs", "start": "1", "ostemplate": CT_BACKUP, "restore": "1"},
        )
    ]
    assert RESTORE.task_type(None, params) == "vzrestore"


@pytest.mark.parametrize(
    ("params", "offline", "reason", "field"),
    [
        (
            RestoreParams(archive=VM_BACKUP, node="node9"),
            (),
            "There is no node 'node9'; choose one of: node1, node2, node3, node4.",
            "node",
        ),
        (RestoreParams(archive=VM_BACKUP, node="node3"), ("node3",), "Node node3 is offline.", "node"),
        (
            RestoreParams(archive=CT_BACKUP, node="node1"),
            (),
            "Choose a storage for the container's volumes on node1: local-zfs.",
            "storage",
        ),
        (
            RestoreParams(archive=VM_BACKUP, node="node1", storage="cloud-init"),
            (),
            "Storage 'cloud-init' cannot hold images on node1; choose one of: local-zfs.",
            "storage",
        ),
        (
            RestoreParams(archive="local:backup/vzdump-qemu-7-x.vma", node="node1"),
            (),
            "'local:backup/vzdump-qemu-7-x.vma' is not on storage local as seen from node1.",
            "archive",
        ),
    ],
)
async def test_restore_refuses_bad_nodes_storages_and_archives(
    proxmox: MemoryPve, context: Ctx, params: RestoreParams, offline: tuple[str, ...], reason: str, field: str
) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster(offline=offline))
    proxmox.answer(
        "GET",
        "/nodes/node1/storage/local/content",
        [volume(VM_BACKUP, "backup", 1), volume(CT_BACKUP, "backup", 1)],
    )
    with pytest.raises(Refused) as refused:
        await RESTORE.preflight(context(None), params)
    assert (refused.value.message, refused.value.field) == (reason, field)
    assert proxmox.changes == []


async def test_restore_of_a_recorded_pbs_backup_to_a_taken_vmid(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", "/cluster/resources", with_pbs())
    proxmox.answer(
        "GET", "/nodes/node1/storage/datastore/content", recorded("cp_storage_content_pbs_backups.json")
    )
    proxmox.fail("GET", NEXTID, *vmid_taken())
    with pytest.raises(Refused) as refused:
        await RESTORE.preflight(context(None), RestoreParams(archive=PBS_BACKUP, node="node1", vmid=200))
    assert (refused.value.message, refused.value.field) == ("VM 200 already exists", "vmid")
    assert proxmox.sent[-1] == Sent("GET", NEXTID, {"vmid": "200"})
    with pytest.raises(Refused, match="^Cannot tell from its name"):
        await RESTORE.preflight(context(None), RestoreParams(archive="local:backup/weekly.tar", node="node1"))
