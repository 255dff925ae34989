"""Audit log at scale on SQLite: append rate with the chain, a filtered page over 1,000,000 events, verify time.

    .venv/bin/python bench/audit_log.py [--events 1000000] [--appends 5000]

Appends go through the app's own append() (one transaction each, chain head locked, HMAC-sealed). The rest of
the million events are written in bulk with the same seal, so the filtered page and verify run over a real,
unbroken keyed chain of that size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.db.audit import AuditEvent, AuditHead  # noqa: E402
from app.db.engine import create_engine, session_factory  # noqa: E402
from app.db.migrate import upgrade_database  # noqa: E402
from app.db.models import utcnow  # noqa: E402
from app.services import audit  # noqa: E402
from app.services.audit.binding import ChainConfig, register  # noqa: E402
from app.services.audit.chain import Keyring, seal  # noqa: E402
from app.services.audit.query import AuditFilter, list_events  # noqa: E402
from app.services.audit.verify import VERIFY_COLUMNS, verify_chain  # noqa: E402

OPERATIONS = ("start", "shutdown", "snapshot", "backup", "stop", "reboot", "clone")
OUTCOMES = ("intent", "started", "succeeded", "succeeded", "failed", "denied")
KEYRING = Keyring.from_secrets("the benchmark's secret key")


def synthetic(seq: int, prev_hash: str) -> AuditEvent:
    """A plausible event number `seq`, chained to prev_hash."""
    event = AuditEvent(
        seq=seq,
        at=utcnow(),
        actor_id=seq % 7 + 1,
        actor_name=f"user{seq % 7}",
        auth_method="session",
        source_ip="192.0.2.10",
        user_agent="bench",
        request_id=f"req{seq}",
        operation=OPERATIONS[seq % 7],
        risk="reversible",
        node=f"pve{seq % 20 + 1}",
        guest_type="qemu",
        vmid=100 + seq % 10000,
        target_name=f"guest-{seq % 10000}",
        params=json.dumps({"n": seq}),
        outcome=OUTCOMES[seq % 6],
        upid=None,
        message=None,
        approval_id=None,
        token_name=None,
        key_id=KEYRING.current_id,
        prev_hash=prev_hash,
        hash="",
    )
    values = {name: getattr(event, name) for name in VERIFY_COLUMNS}
    event.hash = seal(KEYRING.current, prev_hash, values)
    return event


async def measure_appends(sessions: object, count: int) -> float:
    """Events per second through append(), one transaction each."""
    actor = audit.Actor(1, "bench", "session", "192.0.2.10")
    started = time.perf_counter()
    for i in range(count):
        draft = audit.Draft("start", "reversible", "intent", audit.Target("pve1", "qemu", 100 + i % 500, "g"))
        await audit.append(sessions, actor, draft)  # type: ignore[arg-type]
    return count / (time.perf_counter() - started)


async def bulk_fill(engine: object, sessions: object, total: int) -> float:
    """Write events until the chain holds `total`; returns seconds taken."""
    started = time.perf_counter()
    async with sessions() as db:  # type: ignore[operator]
        head = await db.get(AuditHead, 1)
        seq, prev = head.seq, head.hash
    batch: list[dict[str, object]] = []
    async with engine.begin() as conn:  # type: ignore[attr-defined]
        while seq < total:
            seq += 1
            event = synthetic(seq, prev)
            prev = event.hash
            batch.append(event.model_dump())
            if len(batch) == 20000 or seq == total:
                await conn.execute(insert(AuditEvent), batch)
                batch = []
        await conn.execute(
            update(AuditHead).where(AuditHead.id == 1).values(seq=seq, hash=prev, key_id=KEYRING.current_id)
        )
    return time.perf_counter() - started


async def filtered_page_p50(sessions: object, runs: int = 50) -> tuple[float, float]:
    """p50 and p95 in ms of one 50-event page filtered by guest, and by actor and outcome."""
    times = []
    for i in range(runs):
        filters = (
            AuditFilter(vmid=100 + (i * 37) % 10000)
            if i % 2
            else AuditFilter(actor="user3", outcome="failed")
        )
        started = time.perf_counter()
        async with sessions() as db:  # type: ignore[operator]
            await list_events(db, filters)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


async def main(total: int, appends: int) -> None:
    """Run the three measurements and print the table."""
    folder = Path(tempfile.mkdtemp(prefix="proxgate-audit-bench-"))
    url = f"sqlite+aiosqlite:///{folder / 'audit.db'}"
    upgrade_database(url)
    engine = create_engine(url)
    register(engine, ChainConfig(KEYRING))
    sessions = session_factory(engine)
    rate = await measure_appends(sessions, appends)
    fill = await bulk_fill(engine, sessions, total)
    p50, p95 = await filtered_page_p50(sessions)
    started, cpu = time.perf_counter(), time.process_time()
    async with sessions() as db:
        result = await verify_chain(db)
    verify_s, verify_cpu = time.perf_counter() - started, time.process_time() - cpu
    await engine.dispose()
    size = (folder / "audit.db").stat().st_size / 1024**2
    print(
        f"`.venv/bin/python bench/audit_log.py --events {total} --appends {appends}`  (SQLite, {size:.0f} MiB)\n"
    )
    print("| measure | result | target | |")
    print("|---|---:|---:|---|")
    print(
        f"| append with chain (app's append(), one transaction each) | {rate:,.0f} events/s | >= 500/s | {'PASS' if rate >= 500 else 'FAIL'} |"
    )
    print(
        f"| filtered page of 50 over {total:,} events, p50 (p95) | {p50:.1f} ms ({p95:.1f} ms) | <= 50 ms | {'PASS' if p50 <= 50 else 'FAIL'} |"
    )
    print(
        f"| `audit verify` over {result.checked:,} events (CPU time) | {verify_s:.1f} s ({verify_cpu:.1f} s) | <= 30 s | {'PASS' if verify_s <= 30 and result.ok else 'FAIL'} |"
    )
    print(f"\n(bulk fill of the rest of the chain: {fill:.0f} s; chain intact: {result.ok})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.appends))
