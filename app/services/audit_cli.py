"""`proxgate audit verify` and `proxgate audit export`, each over one database connection."""

from __future__ import annotations

from collections.abc import Callable

from app.config import Settings
from app.db.engine import create_engine, session_factory
from app.services.audit import verify_chain
from app.services.audit_query import AuditFilter, csv_header, csv_line, iter_events, jsonl_line


async def verify(settings: Settings) -> tuple[bool, str]:
    """(ok, the line to print): how many events hold, or the first broken one."""
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_factory(engine)() as db:
            result = await verify_chain(db)
    finally:
        await engine.dispose()
    if result.ok:
        return True, f"audit chain intact: {result.checked} events verified"
    return (
        False,
        f"audit chain BROKEN at event #{result.broken_seq}: {result.reason} ({result.checked} events before it are intact)",
    )


async def export(settings: Settings, fmt: str, filters: AuditFilter, write: Callable[[str], object]) -> int:
    """Write the matching events as CSV or JSON Lines; returns how many."""
    engine = create_engine(settings.resolved_database_url)
    count = 0
    try:
        async with session_factory(engine)() as db:
            if fmt == "csv":
                write(csv_header())
            async for event in iter_events(db, filters):
                write(csv_line(event) if fmt == "csv" else jsonl_line(event))
                count += 1
    finally:
        await engine.dispose()
    return count
