"""Who in Proxgate asked for a task: Proxmox lists Proxgate's API token as the user of every task it starts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.watches import TaskWatch


async def requested_by(db: AsyncSession, upids: Iterable[str]) -> dict[str, str]:
    """UPID -> the Proxgate user who started it, for the UPIDs Proxgate started (the others are left out)."""
    wanted = list(dict.fromkeys(upids))
    if not wanted:
        return {}
    query = select(TaskWatch.upid, TaskWatch.actor_name).where(col(TaskWatch.upid).in_(wanted))
    return {upid: name for upid, name in (await db.exec(query)).all()}
