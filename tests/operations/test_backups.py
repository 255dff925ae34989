"""Back up now: the storages offered, vzdump's form, and its "OK" that started nothing."""

from __future__ import annotations

import pytest

from app.operations.backups import BACKUP, BackupParams, backup_storages
from app.operations.base import Refused
from app.proxmox import PveClient, parse_upid
from tests.operations.answers import cluster, ct, vm, with_pbs
from tests.operations.conftest import Ctx
from tests.operations.memory_pve import MemoryPve, Sent, upid

VZDUMP = "/nodes/node1/vzdump"


async def test_backup_posts_vzdump_with_the_vmid_as_a_string(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("POST", VZDUMP, upid("node1", "vzdump", 101))
    params = BackupParams(storage="local", protected=True)
    assert await BACKUP.preflight(context(vm()), params) == []
    answer = await BACKUP.call(context(vm()), params)
    assert answer is not None and parse_upid(answer).type == BACKUP.task_type(vm(), params) == "vzdump"
    form = {
        "vmid": "101",
        "storage": "local",
        "mode": "snapshot",
        "compress": "zstd",
        "notes-template": "{{guestname}}",
        "protected": "1",
    }
    assert proxmox.sent == [Sent("GET", "/cluster/resources"), Sent("POST", VZDUMP, form)]
    assert proxmox.sent[1].body == (
        "vmid=101&storage=local&mode=snapshot&compress=zstd&notes-template=%7B%7Bguestname%7D%7D&protected=1"
    )
    assert BACKUP.describe(vm(), params) == "Back up VM 101 matt to local (snapshot mode, zstd, protected)"


async def test_backup_in_stop_mode_warns_and_leaves_out_empty_options(
    proxmox: MemoryPve, context: Ctx
) -> None:
    proxmox.answer("GET", "/cluster/resources", cluster())
    proxmox.answer("POST", VZDUMP, upid("node1", "vzdump", 100))
    params = BackupParams(storage="local", mode="stop", compress="0", notes="")
    assert await BACKUP.preflight(context(ct()), params) == [
        "Mode 'stop' shuts CT 100 test-lxc down for the backup and starts it again afterwards."
    ]
    await BACKUP.call(context(ct()), params)
    assert proxmox.changes == [
        Sent("POST", VZDUMP, {"vmid": "100", "storage": "local", "mode": "stop", "compress": "0"})
    ]


async def test_backup_refuses_a_storage_that_takes_no_backups(proxmox: MemoryPve, context: Ctx) -> None:
    proxmox.answer("GET", "/cluster/resources", with_pbs())
    with pytest.raises(Refused) as refused:
        await BACKUP.preflight(context(vm()), BackupParams(storage="local-zfs"))
    # Shared storages are offered first.
    assert (refused.value.message, refused.value.field) == (
        "Storage 'local-zfs' does not take backups on node1; choose one of: datastore, local.",
        "storage",
    )
    with pytest.raises(Refused, match=r"^VM 101 is locked \(backup\)"):
        await BACKUP.preflight(context(vm(lock="backup")), BackupParams(storage="local"))
    assert proxmox.changes == []


async def test_backup_answered_ok_started_nothing(proxmox: MemoryPve, pve: PveClient, context: Ctx) -> None:
    # vzdump answers the string "OK" when none of the guests is on that node (FACTS.md, vzdump).
    proxmox.answer("POST", VZDUMP, "OK")
    changes = pve.changes
    with pytest.raises(Refused, match="^Proxmox started no backup: VM 101 matt is not on node1 any more"):
        await BACKUP.call(context(vm()), BackupParams(storage="local"))
    assert pve.changes == changes + 1  # the cluster view is read again


async def test_backup_storages_put_the_guests_job_storage_first(proxmox: MemoryPve, pve: PveClient) -> None:
    jobs = [  # GET /cluster/backup
        {
            "id": "backup-9f1c2d3e-0001",
            "type": "vzdump",
            "enabled": 1,
            "schedule": "21:00",
            "storage": "local",
            "vmid": "101,102",
            "mode": "snapshot",
        },
        {
            "id": "backup-9f1c2d3e-0002",
            "type": "vzdump",
            "enabled": 0,
            "schedule": "sun 01:00",
            "storage": "datastore",
            "all": 1,
        },
    ]
    proxmox.answer("GET", "/cluster/resources", with_pbs())
    proxmox.answer("GET", "/cluster/backup", jobs)
    assert await backup_storages(pve, "node1", 101) == ["local", "datastore"]
    assert await backup_storages(pve, "node1", 100) == ["datastore", "local"]


async def test_backup_storages_without_sys_audit_still_answer(proxmox: MemoryPve, pve: PveClient) -> None:
    reason = "Permission check failed (/, Sys.Audit)"
    proxmox.answer("GET", "/cluster/resources", with_pbs())
    proxmox.fail("GET", "/cluster/backup", 403, reason, {"data": None, "message": reason + "\n"})
    assert await backup_storages(pve, "node1", 101) == ["datastore", "local"]
