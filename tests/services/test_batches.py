"""The batch core: items run through the pipeline a few at a time, each slot held until its task ended, every
event of the batch carries its id, a failure can stop the rest, and a stop skips what has not started."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlmodel import col, select

from app.db.audit import AuditEvent
from app.db.models import Role
from app.proxmox.client import PveClient
from app.proxmox.connection import PveConnection
from app.services import audit
from app.services.accounts import Principal
from app.services.audit.verify import verify_chain
from app.services.batches import BatchItem, BatchService, BatchView
from app.services.errors import Invalid
from app.services.pipeline import ActionService, TaskWatcher
from pvesim.fake import DemoPve
from tests.bulk_guests import add_vms, bulk_guests
from tests.fakepve_thread import TOKEN_ID, TOKEN_SECRET, ServedFake
from tests.services.conftest import Chain

ALICE = Principal(user_id=1, username="alice", role=Role.operator, method="session")
SOURCE = audit.Actor(1, "alice", "session", ip="192.0.2.7", user_agent="tests")


@pytest.fixture
def guests(pve: DemoPve) -> Iterator[None]:
    """A clean 8600-8699 range."""
    yield from bulk_guests(pve)


@pytest.fixture
async def batches(chain: Chain, pve_client: PveClient) -> AsyncIterator[BatchService]:
    """A batch service on a fresh database, with a task watcher running beside it."""
    watcher = TaskWatcher(pve_client, chain.sessions, interval=0.1)
    watcher.start()
    service = BatchService(ActionService(pve_client, chain.sessions, "test"), chain.sessions, concurrency=2)
    yield service
    await service.close()
    await watcher.stop()


async def ended(service: BatchService, batch_id: str, most: list[int] | None = None) -> BatchView:
    """Wait for the batch's end, noting the most items seen running at once."""
    for _ in range(300):
        view = await service.get(batch_id)
        if most is not None:
            most.append(view.counts["running"])
        if view.status != "running":
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not end: {view}")


@contextlib.contextmanager
def slow_tasks(pve: DemoPve) -> Iterator[None]:
    """Tasks that take PVE seconds take a twentieth of them in real time."""
    scale, pve.time_scale = pve.time_scale, 0.05
    try:
        yield
    finally:
        pve.time_scale = scale


async def test_a_batch_runs_a_few_at_a_time_and_tells_one_story(
    batches: BatchService, pve: DemoPve, chain: Chain, guests: None
) -> None:
    vmids = add_vms(pve, range(8600, 8606))
    for vm in pve.vms:
        if vm.vmid in vmids:
            vm.stop_secs = 4
    with slow_tasks(pve):
        batch_id = await batches.start(
            ALICE, "stop", [BatchItem(v) for v in vmids], reason="r", source=SOURCE
        )
        most: list[int] = []
        view = await ended(batches, batch_id, most)
    assert view.status == "done"
    assert [(i.vmid, i.status) for i in view.items] == [(v, "succeeded") for v in vmids]
    assert all(i.upid and i.name == f"bulk{i.vmid}" for i in view.items)
    assert max(most) == 2, "never more than the concurrency, and that many at once"
    assert {vm.status for vm in pve.vms if vm.vmid in vmids} == {"stopped"}
    async with chain.sessions() as db:
        events = (await db.exec(select(AuditEvent).where(col(AuditEvent.vmid).in_(vmids)))).all()
        story = (await db.exec(select(AuditEvent).where(AuditEvent.batch_id == batch_id))).all()
        assert (await verify_chain(db)).ok
    assert {e.outcome for e in events} >= {"intent", "started", "succeeded"}
    assert all(e.batch_id == batch_id for e in events)
    assert len(story) == len(events) + 2, "the batch's own start and end, and every guest's events"


async def test_stop_after_the_first_failure_skips_the_rest(
    batches: BatchService, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8610, 8615))
    pve.fail("POST", f"/nodes/pve1/qemu/{vmids[0]}/status/stop", 500, "the disk is gone")
    items = [BatchItem(v) for v in vmids]
    batch_id = await batches.start(
        ALICE, "stop", items, reason="r", source=SOURCE, concurrency=1, stop_on_failure=True
    )
    view = await ended(batches, batch_id)
    assert view.status == "stopped"
    assert [i.status for i in view.items] == ["failed", "skipped", "skipped", "skipped", "skipped"]
    assert "the disk is gone" in view.items[0].message
    assert {vm.status for vm in pve.vms if vm.vmid in vmids[1:]} == {"running"}


async def test_going_on_after_a_failure_runs_every_guest(
    batches: BatchService, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8620, 8623))
    pve.fail("POST", f"/nodes/pve1/qemu/{vmids[1]}/status/stop", 500, "the disk is gone")
    batch_id = await batches.start(ALICE, "stop", [BatchItem(v) for v in vmids], reason="r", source=SOURCE)
    view = await ended(batches, batch_id)
    assert view.status == "done"
    assert [i.status for i in view.items] == ["succeeded", "failed", "succeeded"]
    assert view.counts == {"waiting": 0, "running": 0, "succeeded": 2, "failed": 1, "skipped": 0}


async def test_a_stop_skips_the_guests_not_started_and_lets_the_running_finish(
    batches: BatchService, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8630, 8636))
    for vm in pve.vms:
        if vm.vmid in vmids:
            vm.stop_secs = 10
    with slow_tasks(pve):
        batch_id = await batches.start(
            ALICE, "stop", [BatchItem(v) for v in vmids], reason="r", source=SOURCE
        )
        for _ in range(100):
            if (await batches.get(batch_id)).counts["running"] == 2:
                break
            await asyncio.sleep(0.02)
        await batches.stop(batch_id, ALICE)
        view = await ended(batches, batch_id)
    assert view.status == "stopped"
    assert [i.status for i in view.items] == ["succeeded"] * 2 + ["skipped"] * 4
    assert "alice stopped the batch" in view.items[-1].message
    assert {vm.status for vm in pve.vms if vm.vmid in vmids[2:]} == {"running"}


@pytest.mark.parametrize(
    ("operation", "items", "field"),
    [
        ("stop", [], "vmids"),
        ("stop", [BatchItem(8699)], "vmids"),
        ("no-such-thing", [BatchItem(8640)], "operation"),
        ("snapshot", [BatchItem(8640, {"snapname": "1 bad name"})], "snapname"),
        ("stop", [BatchItem(8640), BatchItem(8640)], "vmids"),
    ],
)
async def test_nothing_runs_when_any_part_is_wrong(
    batches: BatchService, pve: DemoPve, guests: None, operation: str, items: list[BatchItem], field: str
) -> None:
    add_vms(pve, [8640])
    with pytest.raises(Invalid) as refused:
        await batches.start(ALICE, operation, items, reason="r", source=SOURCE)
    assert refused.value.field == field
    assert [vm.status for vm in pve.vms if vm.vmid == 8640] == ["running"]
    assert await batches.list_recent() == []


async def test_a_batch_its_process_left_ends_at_a_stop(
    batches: BatchService, chain: Chain, pve_client: PveClient, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, range(8650, 8654))
    for vm in pve.vms:
        if vm.vmid in vmids:
            vm.stop_secs = 6
    with slow_tasks(pve):
        batch_id = await batches.start(
            ALICE, "stop", [BatchItem(v) for v in vmids], reason="r", source=SOURCE
        )
        for _ in range(100):
            view = await batches.get(batch_id)
            if sum(1 for i in view.items if i.status == "running" and i.upid) == 2:
                break
            await asyncio.sleep(0.02)
        await batches.close()  # its process stops: the two tasks sent run on, nobody runs the rest
        other = BatchService(ActionService(pve_client, chain.sessions, "other"), chain.sessions)
        for _ in range(100):
            view = await other.stop(batch_id, ALICE)
            if view.status != "running":
                break
            await asyncio.sleep(0.1)
    assert view.status == "stopped"
    assert [i.status for i in view.items] == ["succeeded", "succeeded", "skipped", "skipped"]
    async with chain.sessions() as db:
        query = select(AuditEvent).where(AuditEvent.batch_id == batch_id, col(AuditEvent.vmid).is_(None))
        ends = (await db.exec(query)).all()
    outcomes = [e.outcome for e in ends]
    assert outcomes[0] == "started" and outcomes[-1] == "stopped" and ends[-1].actor_name == "proxgate"
    assert set(outcomes[1:-1]) == {"cancelled"} and ends[1].actor_name == "alice", (
        "each stop is on the record"
    )


async def test_a_call_whose_answer_was_lost_holds_its_turn_until_its_task_is_found(
    chain: Chain, pve_client: PveClient, served_fake: ServedFake, pve: DemoPve, guests: None
) -> None:
    vmids = add_vms(pve, [8660, 8661])
    pve.answer_late("POST", f"/nodes/pve1/qemu/{vmids[0]}/status/stop", 2.0)
    connection = PveConnection(
        served_fake.address,
        TOKEN_ID,
        TOKEN_SECRET,
        fingerprint=served_fake.fingerprint,
        timeout=0.5,
        retries=0,
    )
    watcher = TaskWatcher(pve_client, chain.sessions, interval=0.1)
    watcher.start()
    try:
        async with PveClient(connection) as impatient:
            service = BatchService(
                ActionService(impatient, chain.sessions, "test"), chain.sessions, concurrency=1
            )
            items = [BatchItem(v) for v in vmids]
            batch_id = await service.start(
                ALICE, "stop", items, reason="r", source=SOURCE, stop_on_failure=True
            )
            view = await ended(service, batch_id)
            await service.close()
    finally:
        pve.late_answers.clear()
        await watcher.stop()
    assert [i.status for i in view.items] == ["succeeded", "succeeded"], view
    assert view.items[0].upid and f":qmstop:{vmids[0]}:" in view.items[0].upid, "its task, found in the list"
