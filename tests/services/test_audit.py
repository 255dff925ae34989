"""The audit chain: appends from many writers stay one chain; verify names the first altered event."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import text

from app.services import audit
from app.services.audit.query import AuditFilter, csv_header, csv_line, iter_events, jsonl_line
from app.services.audit.verify import Verification, verify_chain
from tests.services.conftest import CHAIN_SECRET, Chain

ROOT = str(Path(__file__).resolve().parents[2])
ACTOR = audit.Actor(1, "alice", "session", "192.0.2.10", "pytest", "req-1")
WRITER = """
import asyncio, sys
from app.db.engine import create_engine, session_factory
from app.services import audit
from app.services.audit.binding import ChainConfig, register
from app.services.audit.chain import Keyring
async def main(url, n, who, secret):
    engine = create_engine(url)
    register(engine, ChainConfig(Keyring.from_secrets(secret)))
    sessions = session_factory(engine)
    for i in range(n):
        await audit.append(sessions, audit.Actor(None, who, "token"), audit.Draft("start", "reversible", "intent", audit.Target(vmid=100 + i)))
    await engine.dispose()
asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
"""


def draft(vmid: int, **extra: object) -> audit.Draft:
    """An event about one guest."""
    return audit.Draft(
        "snapshot", "reversible", "intent", audit.Target("pve1", "qemu", vmid, "web01"), dict(extra)
    )


async def verify(chain: Chain) -> Verification:
    """Walk the chain in a fresh session."""
    async with chain.sessions() as db:
        return await verify_chain(db)


async def test_concurrent_appends_form_one_unbroken_chain(chain: Chain) -> None:
    events = await asyncio.gather(*(audit.append(chain.sessions, ACTOR, draft(100 + i)) for i in range(40)))
    assert sorted(e.seq for e in events) == list(range(1, 41))
    result = await verify(chain)
    assert result.ok and result.checked == 40


async def test_several_processes_write_one_chain(chain: Chain) -> None:
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, chain.url, "25", f"writer{n}", CHAIN_SECRET, env=env
        )
        for n in range(3)
    ]
    assert [await asyncio.wait_for(p.wait(), 120) for p in procs] == [0, 0, 0]
    result = await verify(chain)
    assert result.ok and result.checked == 75


async def test_an_altered_event_is_named(chain: Chain) -> None:
    for i in range(5):
        await audit.append(chain.sessions, ACTOR, draft(100 + i))
    async with chain.engine.begin() as conn:
        await conn.execute(text("UPDATE audit_events SET target_name = 'innocent' WHERE seq = 3"))
    result = await verify(chain)
    assert (result.kind, result.broken_seq) == ("altered", 3)
    assert result.reason == "event #3 was altered after it was written"


async def test_a_deleted_event_and_a_cut_tail_are_found(chain: Chain) -> None:
    for i in range(5):
        await audit.append(chain.sessions, ACTOR, draft(100 + i))
    async with chain.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq = 5"))
    tail = await verify(chain)
    assert (tail.kind, tail.broken_seq) == ("truncated", 5)
    assert tail.reason == "events after #4 are missing (the chain head is at #5)"
    async with chain.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    gap = await verify(chain)
    assert (gap.kind, gap.broken_seq) == ("missing", 2)
    assert gap.reason == "event #2 is missing (the next one is #3)"


async def test_secrets_are_never_stored_and_token_names_are(chain: Chain) -> None:
    values = {"password": "hunter22", "ssh-public-keys": "ssh-ed25519 AAAA", "cores": 2}
    values |= {
        "token": "abc",
        "csrf_token": "def",
        "note": "pxg_0123456789",
        "token_name": "ci",
        "token_id": 7,
    }
    event = await audit.append(chain.sessions, ACTOR, draft(100, **values))
    for secret in ("hunter22", "AAAA", "abc", "def", "pxg_"):
        assert secret not in event.params
    assert '"cores":2' in event.params and '"password":"[redacted]"' in event.params
    assert '"token_name":"ci"' in event.params and '"token_id":7' in event.params


async def test_exports_carry_the_filtered_events(chain: Chain) -> None:
    token_actor = audit.Actor(1, "alice", "token", token_name="deploy-bot")
    await audit.append(chain.sessions, token_actor, draft(100, snapname="=cmd|calc"))
    await audit.append(chain.sessions, ACTOR, draft(101))
    async with chain.sessions() as db:
        rows = [e async for e in iter_events(db, AuditFilter(vmid=100))]
    assert [r.vmid for r in rows] == [100]
    assert csv_header().startswith("seq,at,actor_name")
    assert "token_name" in csv_header() and "deploy-bot" in csv_line(rows[0])
    assert jsonl_line(rows[0]).startswith('{"actor_name": "alice"')
    assert '"token_name": "deploy-bot"' in jsonl_line(rows[0])
    assert "=cmd|calc" in csv_line(rows[0])  # inside the params JSON cell, which starts with '{'
