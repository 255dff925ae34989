"""Taking over a batch whose process stopped: one process wins the takeover, the guests it had sent are followed
and the waiting ones run in the owner's name once each; a stop at the same moment leaves one outcome per guest;
an owner who lost the right to change guests has the rest skipped, saying why."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from app.db.audit import AuditEvent
from app.db.models import Role, User
from app.proxmox.client import PveClient
from app.services import audit
from app.services.accounts import Principal
from app.services.accounts.users import create_user
from app.services.batches import BatchItem, BatchService, BatchView
from app.services.pipeline import ActionService, TaskWatcher
from pvesim.fake import DemoPve
from tests.bulk_guests import add_vms, bulk_guests
from tests.factories import PASSWORD
from tests.services.conftest import Chain


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range."""
    yield from bulk_guests(pve)


@pytest.fixture
async def watcher(chain: Chain, pve_client: PveClient) -> AsyncIterator[TaskWatcher]:
    """A task watcher that outlives the processes of a test (as another process's would)."""
    running = TaskWatcher(pve_client, chain.sessions, interval=0.1)
    running.start()
    yield running
    await running.stop()


@pytest.fixture
async def owner(chain: Chain) -> Principal:
    """An operator who starts the batches."""
    async with chain.sessions() as db:
        user = await create_user(db, "owner", PASSWORD, Role.operator)
        await db.commit()
        assert user.id is not None
        return Principal(user.id, user.username, user.role, "session")


def process(chain: Chain, pve_client: PveClient, name: str) -> BatchService:
    """The batch service of one app process on the shared database."""
    return BatchService(ActionService(pve_client, chain.sessions, name), chain.sessions, concurrency=2)


@contextlib.contextmanager
def slow_stops(pve: DemoPve, vmids: list[int]) -> Iterator[None]:
    """Each guest's stop takes half a second."""
    for vm in pve.vms:
        if vm.vmid in vmids:
            vm.stop_secs = 10
    scale, pve.time_scale = pve.time_scale, 0.05
    try:
        yield
    finally:
        pve.time_scale = scale


async def left_behind(service: BatchService, owner: Principal, vmids: list[int]) -> str:
    """A batch whose process stops once two guests were sent (the rest waiting); its id."""
    source = audit.Actor(owner.user_id, owner.username, "session")
    batch_id = await service.start(owner, "stop", [BatchItem(v) for v in vmids], reason="r", source=source)
    for _ in range(200):
        view = await service.get(batch_id)
        if sum(1 for i in view.items if i.status == "running" and i.upid) == 2:
            break
        await asyncio.sleep(0.02)
    await service.close()
    return batch_id


async def ended(service: BatchService, batch_id: str) -> BatchView:
    """The batch once it has ended."""
    for _ in range(400):
        view = await service.get(batch_id)
        if view.status != "running":
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not end: {view}")


async def batch_events(chain: Chain, batch_id: str) -> list[AuditEvent]:
    """The batch's own events (not its guests'), oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.batch_id == batch_id, col(AuditEvent.vmid).is_(None))
        .order_by(col(AuditEvent.seq))
    )
    async with chain.sessions() as db:
        return list((await db.exec(query)).all())


def stops_sent(pve: DemoPve, since: int, vmid: int) -> int:
    """How many stop calls of this guest reached Proxmox."""
    return sum(
        1 for r in pve.requests[since:] if r[0] == "POST" and r[1].endswith(f"/qemu/{vmid}/status/stop")
    )


async def test_one_process_takes_the_batch_over_and_every_guest_runs_once(
    chain: Chain, pve_client: PveClient, pve: DemoPve, owner: Principal, watcher: TaskWatcher, guests: None
) -> None:
    vmids = add_vms(pve, range(8600, 8606))
    seen = len(pve.requests)
    with slow_stops(pve, vmids):
        batch_id = await left_behind(process(chain, pve_client, "first"), owner, vmids)
        second, third = process(chain, pve_client, "second"), process(chain, pve_client, "third")
        taken = await asyncio.gather(second.take_over_expired(), third.take_over_expired())
        assert sorted(taken, key=len) == [[], [batch_id]], "exactly one process took it over"
        winner = second if taken[0] else third
        view = await ended(winner, batch_id)
        assert await (third if winner is second else second).take_over_expired() == []
        await second.close()
        await third.close()
    assert view.status == "done" and view.resumed_by == winner.owner and view.resumed_at is not None
    assert [i.status for i in view.items] == ["succeeded"] * 6
    assert [stops_sent(pve, seen, v) for v in vmids] == [1] * 6
    assert {vm.status for vm in pve.vms if vm.vmid in vmids} == {"stopped"}
    outcomes = [(e.outcome, e.actor_name) for e in await batch_events(chain, batch_id)]
    assert outcomes == [("started", "owner"), ("resumed", "proxgate"), ("succeeded", "owner")]


async def test_a_stop_during_a_takeover_leaves_one_outcome_per_guest(
    chain: Chain, pve_client: PveClient, pve: DemoPve, owner: Principal, watcher: TaskWatcher, guests: None
) -> None:
    vmids = add_vms(pve, range(8610, 8616))
    seen = len(pve.requests)
    with slow_stops(pve, vmids):
        batch_id = await left_behind(process(chain, pve_client, "first"), owner, vmids)
        taker, stopper = process(chain, pve_client, "taker"), process(chain, pve_client, "stopper")
        await asyncio.gather(taker.take_over_expired(), stopper.stop(batch_id, owner))
        view = await ended(taker, batch_id)
        await taker.close()
    assert view.status == "stopped"
    assert view.items[0].status == view.items[1].status == "succeeded", "the two sent before are followed"
    for item in view.items:
        assert item.status in ("succeeded", "skipped"), item
        sent = stops_sent(pve, seen, item.vmid)
        assert sent == (1 if item.status == "succeeded" else 0), item
        assert pve.vm(item.vmid).status == ("stopped" if item.status == "succeeded" else "running")
    ends = [e.outcome for e in await batch_events(chain, batch_id) if e.outcome in ("succeeded", "stopped")]
    assert ends == ["stopped"], "the batch ended once"


async def test_an_owner_who_may_no_longer_change_guests_has_the_rest_skipped(
    chain: Chain, pve_client: PveClient, pve: DemoPve, owner: Principal, watcher: TaskWatcher, guests: None
) -> None:
    vmids = add_vms(pve, range(8620, 8625))
    with slow_stops(pve, vmids):
        batch_id = await left_behind(process(chain, pve_client, "first"), owner, vmids)
        async with chain.sessions() as db:
            await db.exec(update(User).where(col(User.id) == owner.user_id).values(role=Role.viewer))
            await db.commit()
        second = process(chain, pve_client, "second")
        assert await second.take_over_expired() == [batch_id]
        view = await ended(second, batch_id)
        await second.close()
    assert view.status == "stopped"
    assert [i.status for i in view.items] == ["succeeded"] * 2 + ["skipped"] * 3
    why = "owner, who started it, is viewer now and may not change guests"
    assert view.items[-1].message == f"Skipped: {why}."
    assert {vm.status for vm in pve.vms if vm.vmid in vmids[2:]} == {"running"}, "nothing more was sent"
    resumed = [e for e in await batch_events(chain, batch_id) if e.outcome == "resumed"]
    assert resumed[0].message and resumed[0].message.endswith(f"the waiting ones are skipped: {why}")
