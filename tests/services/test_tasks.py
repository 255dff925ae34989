"""TaskService against the shared fake: the cluster's recent tasks, filters, a task with its whole log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from app.proxmox.client import PveClient
from app.services.cluster.tasks import ClusterTask, TaskFilter, TaskService, task_state
from app.services.errors import Invalid, NotFound
from pvesim.fake import DemoPve
from tests.backup_guests import (
    VM,
    Made,
)

SAMPLES = Path(__file__).parents[1] / "proxmox" / "samples"


def test_states_follow_the_exit_status() -> None:
    assert task_state("OK", False) == "ok"
    assert task_state("WARNINGS: 2", False) == "warning"
    assert task_state("VM 100 already running", False) == "error"
    assert task_state(None, False) == "error"
    assert task_state(None, True) == "running"


def test_real_task_lists_are_read() -> None:
    rows = TypeAdapter(list[ClusterTask]).validate_python(
        json.loads((SAMPLES / "cp_node_tasks_list_pve6.4.json").read_text())
        + json.loads((SAMPLES / "ha_node_tasks_vzdump_empty_id.json").read_text())
    )
    assert [t.state for t in rows] == ["ok", "error", "ok", "ok"]
    assert rows[0].duration(0) == 1 and rows[3].vmid is None and rows[3].id == ""
    running = ClusterTask.model_validate(
        {"upid": "UPID:x", "node": "pve1", "status": "RUNNING", "starttime": 10}
    )
    assert running.running and running.duration(25) == 15
    silent = ClusterTask.model_validate({"upid": "UPID:x", "node": "pve1", "starttime": 10})
    assert silent.running, "PVE's cluster list leaves status out while a task runs"
    token = ClusterTask.model_validate({"upid": "u", "node": "n", "user": "root@pam", "tokenid": "proxgate"})
    assert token.who == "root@pam!proxgate"


async def test_recent_tasks_include_the_fakes_tasks_newest_first(
    pve_client: PveClient, pve: DemoPve, backup_guests: Made
) -> None:
    tasks = await TaskService(pve_client).list_tasks()
    upids = [t.upid for t in tasks]
    assert backup_guests.backup_upid in upids and backup_guests.failed_upid in upids
    starts = [t.starttime for t in tasks]
    assert starts == sorted(starts, reverse=True)
    ok = next(t for t in tasks if t.upid == backup_guests.backup_upid)
    assert (ok.state, ok.type, ok.vmid, ok.who) == ("ok", "vzdump", VM, "root@pam!proxgate")
    failed = next(t for t in tasks if t.upid == backup_guests.failed_upid)
    assert failed.state == "error" and failed.status == "job errors"


async def test_filters(pve_client: PveClient, backup_guests: Made) -> None:
    service = TaskService(pve_client)

    async def upids(**wanted: object) -> set[str]:
        return {t.upid for t in await service.list_tasks(TaskFilter(**wanted))}  # type: ignore[arg-type]

    assert backup_guests.failed_upid in await upids(status="error")
    assert backup_guests.backup_upid not in await upids(status="error")
    assert backup_guests.backup_upid in await upids(node="pve1", type="vzdump", vmid=VM, user="PROXGATE")
    assert not await upids(node="pve2", vmid=VM)
    assert not await upids(user="alice@pve")


async def test_detail_has_the_whole_log_and_the_end(
    pve_client: PveClient, pve: DemoPve, backup_guests: Made
) -> None:
    pve.tasks[backup_guests.backup_upid]["log"][1:1] = [f"INFO: padding line {n}" for n in range(1500)]
    detail = await TaskService(pve_client).task_detail(backup_guests.backup_upid)
    assert detail.state == "ok" and not detail.running and detail.status.exitstatus == "OK"
    assert len(detail.log) == len(pve.tasks[backup_guests.backup_upid]["log"]) > 1500
    assert detail.log[-1] == "TASK OK" and detail.log[0].startswith("INFO: starting new backup job")
    assert detail.endtime == pve.tasks[backup_guests.backup_upid]["endtime"]
    assert detail.duration is not None and detail.duration >= 0
    failed = await TaskService(pve_client).task_detail(backup_guests.failed_upid)
    assert failed.state == "error" and failed.log[-1] == "TASK ERROR: job errors"


async def test_bad_and_unknown_upids(pve_client: PveClient) -> None:
    service = TaskService(pve_client)
    with pytest.raises(Invalid, match="unable to parse worker upid"):
        await service.task_detail("not-a-upid")
    with pytest.raises(NotFound, match="unable to parse worker upid|no such task"):
        await service.task_detail("UPID:pve1:00000001:00000007:00000000:qmstart:100:root@pam:")
