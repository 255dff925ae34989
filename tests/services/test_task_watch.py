"""The task watcher: a few status checks at a time, a bound for nodes that stay away, and lost calls that
either turn up in the node's task list or end as never started."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import ApprovalRequest
from app.db.executions import Execution
from app.db.models import utcnow
from app.proxmox.client import PveClient
from app.services.audit.query import AuditFilter, list_events
from app.services.pipeline.task_watch import TaskWatcher
from pvesim.fake import DemoPve
from tests.approval_guests import add_vm
from tests.fakepve_thread import TOKEN_ID, ServedFake
from tests.services.conftest import Chain


@pytest.fixture
def sessions(chain: Chain) -> async_sessionmaker[AsyncSession]:
    """Sessions of a new, migrated database with a keyed audit chain."""
    return chain.sessions


async def add(sessions: async_sessionmaker[AsyncSession], *rows: Any) -> None:
    """Store rows."""
    async with sessions() as db:
        for row in rows:
            db.add(row)
        await db.commit()


def execution(**values: Any) -> Execution:
    """An execution of a start by alice, with these fields."""
    base: dict[str, Any] = {
        "operation": "start",
        "risk": "reversible",
        "actor_name": "alice",
        "auth_method": "session",
        "guest_type": "qemu",
    }
    return Execution(**{**base, **values})


async def test_a_node_that_stays_away_ends_its_task_as_unknown(
    sessions: async_sessionmaker[AsyncSession], pve_client: PveClient, pve: DemoPve, served_fake: ServedFake
) -> None:
    vm = next(v for v in pve.vms if v.node == "pve2" and not v.lock)
    upid = served_fake.call(pve.backup(vm.vmid, secs=0))
    request = ApprovalRequest(
        operation="delete",
        risk="destructive",
        target_key="x",
        reason="r",
        description="d",
        status="executing",
        requester_id=1,
        requester_name="alice",
        requester_method="session",
        expires_at=utcnow(),
    )
    await add(sessions, request)
    await add(sessions, execution(upid=upid, node="pve2", state="running", approval_id=request.id))
    pve.set_node_offline("pve2")
    watcher = TaskWatcher(pve_client, sessions, failure_limit=3)
    assert [await watcher.poll_once() for _ in range(3)] == [0, 0, 1]
    async with sessions() as db:
        rows, _ = await list_events(db, AuditFilter(q=upid))
        ended = await db.get(ApprovalRequest, request.id)
    assert rows[0].outcome == "unknown" and "3 times in a row" in (rows[0].message or "")
    assert (
        ended is not None
        and ended.status == "failed"
        and "its end is unknown" in (ended.result_message or "")
    )


async def test_status_checks_run_a_few_at_a_time(
    sessions: async_sessionmaker[AsyncSession], pve_client: PveClient, pve: DemoPve, served_fake: ServedFake
) -> None:
    vms = [v for v in pve.vms if not v.lock][:12]
    upids = [served_fake.call(pve.backup(v.vmid, secs=0)) for v in vms]
    await add(sessions, *(execution(upid=u, node=u.split(":")[1], state="running") for u in upids))
    pve.slow_network(0.2)
    watcher = TaskWatcher(pve_client, sessions, concurrency=3)
    checking, most = 0, 0
    original = pve_client.task_status

    async def counted(node: str, upid: str) -> Any:
        nonlocal checking, most
        checking += 1
        most = max(most, checking)
        try:
            return await original(node, upid)
        finally:
            checking -= 1

    pve_client.task_status = counted  # type: ignore[method-assign]
    assert await watcher.poll_once() == 12
    assert most == 3


async def test_a_lost_call_without_a_task_ends_as_not_started(
    sessions: async_sessionmaker[AsyncSession], pve_client: PveClient
) -> None:
    long_ago = utcnow() - timedelta(minutes=10)
    await add(
        sessions,
        execution(
            vmid=9390,
            node="pve1",
            task_type="qmstart",
            state="calling",
            created_at=long_ago,
            lease_until=long_ago,
        ),
    )
    watcher = TaskWatcher(pve_client, sessions)
    assert await watcher.reconcile_once() == 1
    assert await watcher.reconcile_once() == 0
    async with sessions() as db:
        rows, _ = await list_events(db, AuditFilter(vmid=9390))
    assert [(r.outcome, r.upid) for r in rows] == [("not-started", None)]
    assert "not sent again" in (rows[0].message or "")


async def test_a_call_still_in_flight_is_left_alone(
    sessions: async_sessionmaker[AsyncSession], pve_client: PveClient
) -> None:
    await add(
        sessions,
        execution(
            vmid=9391,
            node="pve1",
            task_type="qmstart",
            state="calling",
            lease_until=utcnow() + timedelta(seconds=30),
            lease_owner="another-process",
        ),
    )
    assert await TaskWatcher(pve_client, sessions).reconcile_once() == 0
    await asyncio.sleep(0)


async def test_a_long_upload_whose_process_died_is_looked_for_from_its_last_renewal(
    sessions: async_sessionmaker[AsyncSession],
    pve_client: PveClient,
    pve: DemoPve,
    served_fake: ServedFake,
    scratch: None,
) -> None:
    # A call of 20 minutes ago whose process renewed its lease until 40 s ago, when Proxmox had the whole file and
    # started the task: long past GIVE_UP from the call, and yet the call's task.
    vm = add_vm(pve, 9392)
    upid = served_fake.call(pve.backup(vm.vmid, secs=0, user=TOKEN_ID))
    now = utcnow()
    await add(
        sessions,
        execution(
            vmid=vm.vmid,
            node=vm.node,
            task_type="vzdump",
            state="calling",
            created_at=now - timedelta(minutes=20),
            renewed_at=now - timedelta(seconds=40),
            lease_until=now - timedelta(seconds=5),
            lease_owner="a-process-that-died",
        ),
    )
    assert await TaskWatcher(pve_client, sessions).reconcile_once() == 1
    async with sessions() as db:
        rows, _ = await list_events(db, AuditFilter(vmid=vm.vmid))
    assert [(r.outcome, r.upid) for r in rows] == [("started", upid)]
    assert f"Found in {vm.node}'s task list" in (rows[0].message or "")
