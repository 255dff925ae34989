"""Whether anything Proxgate knows of touched a guest since a moment: its own calls, or tasks it observed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.executions import Execution
from app.db.observed import ObservedTask


async def touched_since(db: AsyncSession, vmid: int, since: datetime) -> bool:
    """A call of Proxgate's or an observed task (or removal) on the guest that ran at or after `since`: begun
    then, or begun earlier and not ended before it (a long deletion)."""
    calls = (
        select(func.count())
        .select_from(Execution)
        .where(
            col(Execution.vmid) == vmid,
            or_(
                col(Execution.created_at) >= since,
                col(Execution.finished_at).is_(None),
                col(Execution.finished_at) >= since,
            ),
        )
    )
    tasks = (
        select(func.count())
        .select_from(ObservedTask)
        .where(
            col(ObservedTask.vmid) == vmid,
            or_(
                col(ObservedTask.started_at) >= since,
                col(ObservedTask.finished_at).is_(None),
                col(ObservedTask.finished_at) >= since,
            ),
        )
    )
    return int((await db.exec(calls)).one()) + int((await db.exec(tasks)).one()) > 0
