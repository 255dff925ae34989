"""The audit chain: appends from many writers stay one chain; verify names the first altered event."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import create_engine, session_factory
from app.db.migrate import upgrade_database
from app.services import audit
from app.services.audit_query import AuditFilter, csv_header, csv_line, iter_events, jsonl_line
from tests.factories import async_url

ROOT = str(Path(__file__).resolve().parents[2])
ACTOR = audit.Actor(1, "alice", "session", "192.0.2.10", "pytest", "req-1")
WRITER = """
import asyncio, sys
from app.db.engine import create_engine, session_factory
from app.services import audit
async def main(url, n, who):
    engine = create_engine(url)
    sessions = session_factory(engine)
    for i in range(n):
        await audit.append(sessions, audit.Actor(None, who, "token"), audit.Draft("start", "reversible", "intent", audit.Target(vmid=100 + i)))
    await engine.dispose()
asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
"""


@pytest.fixture
async def chain(empty_database: str) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    """A migrated, empty database with an audit chain to write to."""
    upgrade_database(empty_database)
    engine = create_engine(async_url(empty_database))
    yield engine, session_factory(engine)
    await engine.dispose()


def draft(vmid: int, **extra: object) -> audit.Draft:
    """An event about one guest."""
    return audit.Draft(
        "snapshot", "reversible", "intent", audit.Target("pve1", "qemu", vmid, "web01"), dict(extra)
    )


async def verify(sessions: async_sessionmaker[AsyncSession]) -> audit.Verification:
    """Walk the chain in a fresh session."""
    async with sessions() as db:
        return await audit.verify_chain(db)


async def test_concurrent_appends_form_one_unbroken_chain(
    chain: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    _engine, sessions = chain
    events = await asyncio.gather(*(audit.append(sessions, ACTOR, draft(100 + i)) for i in range(40)))
    assert sorted(e.seq for e in events) == list(range(1, 41))
    result = await verify(sessions)
    assert result.ok and result.checked == 40


async def test_several_processes_write_one_chain(
    chain: tuple[AsyncEngine, async_sessionmaker[AsyncSession]], empty_database: str
) -> None:
    _engine, sessions = chain
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, async_url(empty_database), "25", f"writer{n}", env=env
        )
        for n in range(3)
    ]
    assert [await asyncio.wait_for(p.wait(), 120) for p in procs] == [0, 0, 0]
    result = await verify(sessions)
    assert result.ok and result.checked == 75


async def test_an_altered_event_is_named(chain: tuple[AsyncEngine, async_sessionmaker[AsyncSession]]) -> None:
    engine, sessions = chain
    for i in range(5):
        await audit.append(sessions, ACTOR, draft(100 + i))
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET target_name = 'innocent' WHERE seq = 3"))
    result = await verify(sessions)
    assert not result.ok
    assert result.broken_seq == 3
    assert result.reason == "event #3 was altered after it was written"


async def test_a_deleted_event_and_a_cut_tail_are_found(
    chain: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    engine, sessions = chain
    for i in range(5):
        await audit.append(sessions, ACTOR, draft(100 + i))
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    tail = await verify(sessions)
    assert tail.broken_seq == 5 and "missing" in (tail.reason or "")
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    gap = await verify(sessions)
    assert gap.broken_seq == 2 and gap.reason == "event #2 is missing (the next one is #3)"


async def test_secrets_are_never_stored(chain: tuple[AsyncEngine, async_sessionmaker[AsyncSession]]) -> None:
    _engine, sessions = chain
    event = await audit.append(
        sessions, ACTOR, draft(100, password="hunter22", **{"ssh-public-keys": "ssh-ed25519 AAAA"}, cores=2)
    )
    assert "hunter22" not in event.params and "AAAA" not in event.params
    assert '"cores":2' in event.params and '"password":"[redacted]"' in event.params


async def test_exports_carry_the_filtered_events(
    chain: tuple[AsyncEngine, async_sessionmaker[AsyncSession]],
) -> None:
    _engine, sessions = chain
    await audit.append(sessions, ACTOR, draft(100, snapname="=cmd|calc"))
    await audit.append(sessions, ACTOR, draft(101))
    async with sessions() as db:
        rows = [e async for e in iter_events(db, AuditFilter(vmid=100))]
    assert [r.vmid for r in rows] == [100]
    assert csv_header().startswith("seq,at,actor_name")
    assert jsonl_line(rows[0]).startswith('{"actor_name": "alice"')
    assert "=cmd|calc" in csv_line(rows[0])  # inside the params JSON cell, which starts with '{'
