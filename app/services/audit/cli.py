"""`proxgate audit verify` and `proxgate audit export`, each over one database connection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.config import Settings
from app.services.audit.checkpoint import verify_against_checkpoints
from app.services.audit.query import AuditFilter, csv_header, csv_line, iter_events, jsonl_line
from app.services.audit.sessions import command_sessions

# Exit codes of `audit verify`: everything proven, a problem found, nothing wrong but something unproven.
INTACT, BROKEN, UNPROVEN = 0, 1, 3


async def verify(settings: Settings, checkpoint_file: Path | None = None) -> tuple[int, list[str]]:
    """(exit code, lines to print): what holds, what is broken and how, and what could not be proven."""
    async with command_sessions(settings) as sessions:
        result = await verify_against_checkpoints(sessions, checkpoint_file)
    code = INTACT if result.proven else BROKEN if not result.ok else UNPROVEN
    return code, [result.summary(), *(f"  {line}" for line in result.details())]


async def export(settings: Settings, fmt: str, filters: AuditFilter, write: Callable[[str], object]) -> int:
    """Write the matching events as CSV or JSON Lines; returns how many."""
    count = 0
    async with command_sessions(settings) as sessions, sessions() as db:
        if fmt == "csv":
            write(csv_header())
        async for event in iter_events(db, filters):
            write(csv_line(event) if fmt == "csv" else jsonl_line(event))
            count += 1
    return count
