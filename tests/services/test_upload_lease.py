"""An upload that streams longer than a plain call's lease keeps its lease: another process's reconciler never
takes it for a lost call, the staging folder's sweep never deletes the file it sends, and it ends as one call
that succeeded."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from app.db.audit import AuditEvent
from app.db.executions import Execution
from app.db.models import Role
from app.proxmox.client import PveClient
from app.services import audit
from app.services.accounts import Principal
from app.services.pipeline import ActionService, TaskWatcher, sweep_staging
from pvesim.fake import DemoPve
from tests.services.conftest import Chain

ALICE = Principal(user_id=1, username="alice", role=Role.operator, method="session")
SOURCE = audit.Actor(1, "alice", "session", ip="192.0.2.7", user_agent="tests")
NAME = "slow-link.iso"
STAGED = "slow" * 8
DATA = b"an ISO image on a slow link\n" * 4096
# The plain lease is a second; the upload's answer takes three (PVE seconds at time scale 1).
LEASE = timedelta(seconds=1)
SLOW = 3.0


@pytest.fixture
def slow_pve1(pve: DemoPve) -> Iterator[DemoPve]:
    """Real time in the fake; pve1's answers slow, and the ISO on no storage, afterwards."""
    scale = pve.time_scale
    yield pve
    pve.slow_network(0.0, node="pve1")
    pve.time_scale = scale
    pve.storages["local"]["volumes"].pop(f"iso/{NAME}", None)
    pve.storages["local"]["files"].discard(NAME)


async def test_a_slow_upload_outlives_the_plain_lease_as_one_call(
    chain: Chain, pve_client: PveClient, slow_pve1: DemoPve, tmp_path: Path
) -> None:
    staging = tmp_path / "uploads"
    staging.mkdir()
    staged = staging / STAGED
    staged.write_bytes(DATA)
    long_ago = time.time() - 7200
    os.utime(staged, (long_ago, long_ago))  # old enough for the sweep: only its use keeps it
    actions = ActionService(pve_client, chain.sessions, "uploader", LEASE, staging=staging)
    # Another process's watcher and reconciler, looking ten times a second.
    other = TaskWatcher(pve_client, chain.sessions, interval=0.1)
    params = {"node": "pve1", "storage": "local", "filename": NAME, "staged": STAGED}
    plan = await actions.plan(
        ALICE, SOURCE, "upload", None, {**params, "checksum": hashlib.sha256(DATA).hexdigest()}
    )
    slow_pve1.time_scale = 1.0
    slow_pve1.slow_network(SLOW, node="pve1")
    performing = asyncio.create_task(actions.perform(plan, SOURCE))
    holders: set[str | None] = set()
    swept: list[str] = []
    started = time.monotonic()
    other.start()
    while not performing.done():
        async with chain.sessions() as db:
            calling = (await db.exec(select(Execution).where(Execution.state == "calling"))).all()
        holders |= {row.lease_owner for row in calling}
        if calling and time.monotonic() - started > 0.5:  # the upload holds the file by now
            swept += await sweep_staging(chain.sessions, staging, grace=0)
        await asyncio.sleep(0.1)
    await other.stop()
    result = await performing
    assert time.monotonic() - started > 2 * LEASE.total_seconds()
    assert holders == {"uploader"} and swept == []
    slow_pve1.slow_network(0.0, node="pve1")
    for _ in range(100):  # the task's end, as the watcher records it
        await other.poll_once()
        async with chain.sessions() as db:
            rows = (await db.exec(select(Execution))).all()
        if all(r.state == "done" for r in rows):
            break
        await asyncio.sleep(0.05)
    async with chain.sessions() as db:
        events = (await db.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))).all()
    assert [(r.state, r.outcome, r.upid) for r in rows] == [("done", "succeeded", result.upid)]
    upload_events = [(e.outcome, e.message) for e in events if e.operation == "upload"]
    assert [o for o, _ in upload_events] == ["intent", "started", "succeeded"]
    assert upload_events[1][1] == result.description  # started by the call itself, not found by a reconciler
    assert slow_pve1.storages["local"]["volumes"][f"iso/{NAME}"]["size"] == len(DATA)
    assert not staged.exists(), "the upload deletes the file once sent"
