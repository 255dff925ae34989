"""Restore over a guest and delete a backup: both destroy data for good, so their previews say what."""

from __future__ import annotations

from typing import Any

import pytest

from app.operations.backup_changes import (
    DELETE_BACKUP,
    RESTORE_OVERWRITE,
    DeleteBackupParams,
    RestoreOverParams,
)
from app.operations.base import Guest, Refused
from app.proxmox import parse_upid
from tests.operations.answers import (
    cluster,
    ct,
    qemu_snapshots,
    recorded,
    stopped,
    vm,
    volume,
    with_pbs,
)
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

LOCAL_BACKUPS = "/nodes/node1/storage/local/content"
PBS_BACKUPS = "/nodes/node1/storage/datastore/content"
VM_BACKUP = "local:backup/vzdump-qemu-101-2026_01_01-00_00_00.vma.zst"
CT_BACKUP = "local:backup/vzdump-lxc-100-2026_01_01-00_00_00.tar.zst"
PBS_BACKUP = "datastore:backup/vm/931/2023-12-14T04:34:34Z"  # recorded (cp_storage_content_pbs_backups.json)


def local_backups() -> list[dict[str, Any]]:
    """GET .../storage/local/content?content=backup: a VM's backup and a container's."""
    return [
        volume(VM_BACKUP, "backup", 1610612736, ctime=1767225600, subtype="qemu", vmid=101, notes="matt"),
        {
            **volume(CT_BACKUP, "backup", 402653184, ctime=1767225600, subtype="lxc", vmid=100),
            "format": "tar.zst",
        },
    ]


# ---------------------------------------------------------------------- restore over a guest


async def test_restore_over_a_vm_previews_what_it_replaces_and_posts_force(
    proxmox: MemoryPve, context: Ctx
) -> None:
    guest = vm(**stopped())
    proxmox.answer("GET", LOCAL_BACKUPS, local_backups())
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer(
        "GET", "/nodes/node1/qemu/101/snapshot", qemu_snapshots({"name": "base", "snaptime": 1767000000})
    )
    proxmox.answer("POST", "/nodes/node1/qemu", upid("node1", "qmrestore", 101))
    # The backup was taken before scsi2 was added: vzdump wrote a map line for scsi0 and scsi1 only.
    saved = "".join(f"#qmdump#map:{d}:drive-{d}:storage:raw:\n" for d in ("scsi0", "scsi1"))
    proxmox.answer("GET", "/nodes/node1/vzdump/extractconfig", "memory: 8192\nscsi0: storage:x\n" + saved)
    params = RestoreOverParams(archive=VM_BACKUP, storage="local-zfs")
    assert await RESTORE_OVERWRITE.preflight(context(guest), params) == []
    preview = await RESTORE_OVERWRITE.preview(context(guest), params)
    assert preview.facts == [
        ("Guest", "VM 101 matt on node1"),
        ("Backup", VM_BACKUP),
        ("Taken", "2026-01-01 00:00 UTC"),
        ("Size", "1.5 GiB"),
        ("Notes", "matt"),
    ]
    assert preview.losses == [
        "Disk scsi0: storage:vm-101-disk-0 (10 GiB) is replaced by the backup's",
        "Disk scsi1: storage:vm-101-disk-3 (30 GiB) is replaced by the backup's",
        "All 1 snapshot are deleted: base",
        "Its configuration is replaced by the one in the backup",
    ]
    assert preview.notes == [
        "Disk scsi2: storage:vm-101-disk-2 (10 GiB) is not in the backup: it stays, as an unused disk.",
        "The restored disks go to storage local-zfs.",
    ]
    assert preview.data["kept_unused"] == ["storage:vm-101-disk-2"]
    await RESTORE_OVERWRITE.call(context(guest), params)
    assert proxmox.changes == [
        Sent(
            "POST",
            "/nodes/node1/qemu",
            {"vmid": "101", "force": "1", "storage": "local-zfs", "archive": VM_BACKUP},
        )
    ]
    assert proxmox.sent[0] == Sent("GET", LOCAL_BACKUPS, {"content": "backup"})
    assert RESTORE_OVERWRITE.describe(guest, params) == (
        f"Restore {VM_BACKUP} over VM 101 matt, replacing its disks, snapshots and configuration"
    )


async def test_restore_over_a_vm_whose_backup_config_cannot_be_read_shows_every_disk_replaced(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", LOCAL_BACKUPS, local_backups())
    proxmox.answer("GET", "/nodes/node1/qemu/101/snapshot", qemu_snapshots())
    message = {"data": None, "message": "Permission check failed (/storage/local, Datastore.Audit)\n"}
    proxmox.fail("GET", "/nodes/node1/vzdump/extractconfig", 403, "Permission check failed", message)
    preview = await RESTORE_OVERWRITE.preview(context(vm(**stopped())), RestoreOverParams(archive=VM_BACKUP))
    assert [loss.split(":")[0] for loss in preview.losses[:3]] == ["Disk scsi0", "Disk scsi1", "Disk scsi2"]
    assert preview.notes == [
        "The backup's configuration could not be read, so every disk is shown as replaced; a disk the backup "
        "does not hold would stay, as an unused disk."
    ]


async def test_restore_over_a_vm_from_a_recorded_pbs_backup_of_another_guest(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", PBS_BACKUPS, recorded("cp_storage_content_pbs_backups.json"))
    params = RestoreOverParams(archive=PBS_BACKUP)
    assert await RESTORE_OVERWRITE.preflight(context(vm(**stopped())), params) == [
        "This backup is of guest 931, not of 101."
    ]
    assert proxmox.calls == [("GET", PBS_BACKUPS)]  # no storage chosen: each disk's own


async def test_restore_over_a_container_goes_to_its_root_disks_storage(
    proxmox: MemoryPve, context: Ctx
) -> None:
    guest = ct({"rootfs": "local-zfs:subvol-100-disk-0,size=8G"}, **stopped())
    proxmox.answer("GET", LOCAL_BACKUPS, local_backups())
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("POST", "/nodes/node1/lxc", upid("node1", "vzrestore", 100))
    params = RestoreOverParams(archive=CT_BACKUP)
    assert await RESTORE_OVERWRITE.preflight(context(guest), params) == []
    await RESTORE_OVERWRITE.call(context(guest), params)
    assert proxmox.changes == [
        Sent(
            "POST",
            "/nodes/node1/lxc",
            {"vmid": "100", "force": "1", "storage": "local-zfs", "ostemplate": CT_BACKUP, "restore": "1"},
        )
    ]
    assert RESTORE_OVERWRITE.task_type(guest, params) == "vzrestore"


@pytest.mark.parametrize(
    ("guest", "archive", "reason", "field"),
    [
        (vm(), VM_BACKUP, "VM 101 matt is running; shut it down first to restore over it.", None),
        (
            vm({"protection": "1"}, **stopped()),
            VM_BACKUP,
            "VM 101 matt is protected (protection=1); turn protection off in its options to restore over it.",
            None,
        ),
        (
            vm(**stopped(lock="migrate")),
            VM_BACKUP,
            "VM 101 is locked (migrate); wait for that to finish.",
            None,
        ),
        (
            ct(**stopped()),
            VM_BACKUP,
            "This is a backup of a VM; it cannot be restored over CT 100 test-lxc.",
            "archive",
        ),
        (
            vm(**stopped()),
            "local:backup/weekly.tar",
            "Cannot tell from its name whether this backup is of a VM or a container.",
            "archive",
        ),
    ],
)
async def test_restore_over_refuses_before_reading_anything(
    proxmox: MemoryPve, context: Ctx, guest: Guest, archive: str, reason: str, field: str | None
) -> None:
    with pytest.raises(Refused) as refused:
        await RESTORE_OVERWRITE.preflight(context(guest), RestoreOverParams(archive=archive))
    assert (refused.value.message, refused.value.field) == (reason, field)
    assert proxmox.sent == []


async def test_restore_over_refuses_a_missing_backup_and_a_storage_for_other_content(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", LOCAL_BACKUPS, local_backups())
    proxmox.answer("GET", "/cluster/resources", cluster())
    gone = "local:backup/vzdump-qemu-101-2025_01_01-00_00_00.vma.zst"
    with pytest.raises(Refused) as refused:
        await RESTORE_OVERWRITE.preflight(context(vm(**stopped())), RestoreOverParams(archive=gone))
    assert (refused.value.message, refused.value.field) == (
        f"'{gone}' is not on storage local as seen from node1.",
        "archive",
    )
    # The recorded container's root disk is on 'vmstore', which node1 does not have.
    with pytest.raises(Refused) as refused:
        await RESTORE_OVERWRITE.preflight(context(ct(**stopped())), RestoreOverParams(archive=CT_BACKUP))
    assert (refused.value.message, refused.value.field) == (
        "Storage 'vmstore' cannot hold rootdir on node1; choose one of: local-zfs.",
        "storage",
    )
    assert proxmox.changes == []


# ---------------------------------------------------------------------- delete a backup


async def test_delete_backup_finds_a_node_previews_and_deletes(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", "/cluster/resources", with_pbs())
    proxmox.answer("GET", PBS_BACKUPS, recorded("cp_storage_content_pbs_backups.json"))
    path = f"{PBS_BACKUPS}/{PBS_BACKUP}"  # PVE takes the rest of the path as the volume id, '/' and all
    proxmox.answer("DELETE", path, upid("node1", "imgdel"))
    params = DeleteBackupParams(volume=PBS_BACKUP)
    assert await DELETE_BACKUP.preflight(context(None), params) == []
    assert params.node == "node1" and params.subject() == ("node1", "qemu", 931, PBS_BACKUP)
    preview = await DELETE_BACKUP.preview(context(None), params)
    assert preview.facts == [
        ("Backup", PBS_BACKUP),
        ("Taken", "2023-12-14 04:34 UTC"),
        ("Size", "255.0 GiB"),
        ("Of guest", "931 (no longer in the cluster)"),
        ("Stored on", "datastore, shared: any node reads it"),
    ]
    assert preview.data["shared"] is True
    assert preview.losses == ["The backup file (255.0 GiB) is deleted for good"]
    assert await DELETE_BACKUP.state(context(None), params) == {
        "exists": True,
        "protected": False,
        "size": 273804166061,
    }
    answer = await DELETE_BACKUP.call(context(None), params)
    assert answer is not None and parse_upid(answer).type == DELETE_BACKUP.task_type(None, params) == "imgdel"
    assert proxmox.changes == [Sent("DELETE", path)]
    assert DELETE_BACKUP.describe(None, params) == f"Delete backup {PBS_BACKUP}"
    assert DELETE_BACKUP.target_key(None, params) == f"volume:{PBS_BACKUP}"


async def test_delete_backup_skips_offline_nodes(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer(
        "GET",
        "/cluster/resources",
        with_pbs(offline=("node1",)),
    )
    proxmox.answer(
        "GET", "/nodes/node2/storage/datastore/content", recorded("cp_storage_content_pbs_backups.json")
    )
    params = DeleteBackupParams(volume=PBS_BACKUP)
    assert await DELETE_BACKUP.preflight(context(None), params) == []
    assert params.node == "node2"


@pytest.mark.parametrize(
    ("node", "offline", "reason", "field"),
    [
        ("node9", (), "Node node9 does not see storage datastore.", "node"),
        (None, ("node1", "node2", "node3", "node4"), "No online node sees storage datastore now.", "volume"),
    ],
)
async def test_delete_backup_refuses_without_a_node_that_sees_it(
    proxmox: MemoryPve, context: Ctx, node: str | None, offline: tuple[str, ...], reason: str, field: str
) -> None:
    proxmox.answer(
        "GET",
        "/cluster/resources",
        with_pbs(offline),
    )
    with pytest.raises(Refused) as refused:
        await DELETE_BACKUP.preflight(context(None), DeleteBackupParams(volume=PBS_BACKUP, node=node))
    assert (refused.value.message, refused.value.field) == (reason, field)
    assert proxmox.calls == [("GET", "/cluster/resources")]


async def test_delete_backup_refuses_a_protected_or_missing_backup(proxmox: MemoryPve, context: Ctx) -> None:
    items = recorded("cp_storage_content_pbs_backups.json")
    items[0]["protected"] = 1  # PVE lists `protected: 1` only when set
    proxmox.answer("GET", "/cluster/resources", with_pbs())
    proxmox.answer("GET", PBS_BACKUPS, items)
    with pytest.raises(Refused) as refused:
        await DELETE_BACKUP.preflight(context(None), DeleteBackupParams(volume=PBS_BACKUP))
    assert refused.value.field == "volume" and refused.value.message.startswith(f"{PBS_BACKUP} is protected;")
    assert (await DELETE_BACKUP.state(context(None), DeleteBackupParams(volume=PBS_BACKUP)))[
        "protected"
    ] is True
    missing = "datastore:backup/vm/931/2020-01-01T00:00:00Z"
    with pytest.raises(Refused) as refused:
        await DELETE_BACKUP.preflight(context(None), DeleteBackupParams(volume=missing))
    assert (refused.value.message, refused.value.field) == (
        f"'{missing}' is not on storage datastore as seen from node1.",
        "volume",
    )
    assert proxmox.changes == []
