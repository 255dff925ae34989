"""How far each node's task list has been read, kept in the database so a restart reads on from there."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import utcnow
from app.db.observed import ObserverCursor


async def read_cursors(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """node -> the PVE start time (epoch seconds) up to which its tasks were read."""
    async with sessions() as db:
        rows = (await db.exec(select(ObserverCursor))).all()
    return {row.node: row.read_until for row in rows}


async def advance(sessions: async_sessionmaker[AsyncSession], node: str, until: int) -> None:
    """Move a node's cursor forward (never back: another process may have read further)."""
    async with sessions() as db:
        moved = await db.exec(
            update(ObserverCursor)
            .where(col(ObserverCursor.node) == node, col(ObserverCursor.read_until) < until)
            .values(read_until=until, updated_at=utcnow())
        )
        if moved.rowcount == 0 and (await db.get(ObserverCursor, node)) is None:
            db.add(ObserverCursor(node=node, read_until=until))
        try:
            await db.commit()
        except IntegrityError:  # another process wrote the node's first cursor at the same moment
            await db.rollback()
