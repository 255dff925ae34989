"""The alerts about observed destructive changes: listed for approvers and admins until one acknowledges each."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import utcnow
from app.db.observed import SideDoorAlert
from app.services import audit
from app.services.errors import Conflict, Invalid

MAX_COMMENT = 2000


async def open_alerts(db: AsyncSession, limit: int = 20) -> tuple[list[SideDoorAlert], int]:
    """The newest alerts nobody acknowledged yet, and how many there are in all."""
    waiting = col(SideDoorAlert.acknowledged_at).is_(None)
    rows = (
        await db.exec(
            select(SideDoorAlert).where(waiting).order_by(col(SideDoorAlert.id).desc()).limit(limit)
        )
    ).all()
    total = int((await db.exec(select(func.count()).select_from(SideDoorAlert).where(waiting))).one())
    return list(rows), total


async def list_alerts(
    db: AsyncSession, acknowledged: bool | None, limit: int, before: int | None = None
) -> tuple[list[SideDoorAlert], int, int | None]:
    """Alerts newest first (open ones, acknowledged ones, or all: None), their total, and the id to go on before."""
    query, counting = select(SideDoorAlert), select(func.count()).select_from(SideDoorAlert)
    if acknowledged is not None:
        at = col(SideDoorAlert.acknowledged_at)
        which = at.is_not(None) if acknowledged else at.is_(None)
        query, counting = query.where(which), counting.where(which)
    if before is not None:
        query = query.where(col(SideDoorAlert.id) < before)
    rows = list((await db.exec(query.order_by(col(SideDoorAlert.id).desc()).limit(limit + 1))).all())
    total = int((await db.exec(counting)).one())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, total, (rows[-1].id if more and rows else None)


async def acknowledge(
    sessions: async_sessionmaker[AsyncSession], actor: audit.Actor, alert_id: int, comment: str
) -> SideDoorAlert:
    """Acknowledge one alert, with an audited comment (the alert as it is now); Conflict when someone did already."""
    comment = comment.strip()
    if not comment:
        raise Invalid("Say what was done about it (for example who deleted it and why).", field="comment")
    if len(comment) > MAX_COMMENT:
        raise Invalid(f"The comment is longer than {MAX_COMMENT} characters.", field="comment")
    async with audit.recording(sessions) as db:
        done = await db.exec(
            update(SideDoorAlert)
            .where(col(SideDoorAlert.id) == alert_id, col(SideDoorAlert.acknowledged_at).is_(None))
            .values(acknowledged_at=utcnow(), acknowledged_by=actor.name[:64], comment=comment)
        )
        if done.rowcount != 1:
            raise Conflict("This alert was acknowledged already, or does not exist.")
        alert = await db.get(SideDoorAlert, alert_id)
        assert alert is not None  # noqa: S101 (the UPDATE above just matched it)
        draft = audit.Draft(
            "acknowledge",
            "admin",
            "succeeded",
            audit.Target(vmid=alert.vmid),
            {"alert": alert_id, "comment": comment},
            upid=alert.upid,
            message=f"Acknowledged: {alert.message}. {comment}",
        )
        await audit.append_in(db, actor, draft)
        await db.commit()
    return alert
