"""What requesters have not yet seen of their requests: approved, rejected, expired or run since they looked."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import ApprovalRequest
from app.db.models import utcnow

# Outcomes a requester learns of (a pending one has no news), and a cancel by someone else (an admin calling off
# a scheduled request): their own cancel is their own doing.
NEWS_STATUSES = ("executing", "succeeded", "failed", "rejected", "expired")


def _unseen(user_id: int) -> ColumnElement[bool]:
    """The condition: this user's request whose latest decision or end is newer than their last look."""
    changed = func.coalesce(col(ApprovalRequest.finished_at), col(ApprovalRequest.decided_at))
    seen = col(ApprovalRequest.requester_seen_at)
    cancelled_by_another = (col(ApprovalRequest.status) == "cancelled") & (
        col(ApprovalRequest.decided_by_id) != user_id
    )
    return (
        (col(ApprovalRequest.requester_id) == user_id)
        & or_(col(ApprovalRequest.status).in_(NEWS_STATUSES), cancelled_by_another)
        & or_(seen.is_(None), seen < changed)
    )


def is_news(request: ApprovalRequest) -> bool:
    """True when the request has an outcome its requester has not seen (what _unseen selects, for one row)."""
    changed = request.finished_at or request.decided_at
    seen = request.requester_seen_at
    cancelled_by_another = request.status == "cancelled" and request.decided_by_id != request.requester_id
    outcome = request.status in NEWS_STATUSES or cancelled_by_another
    return outcome and (seen is None or (changed is not None and seen < changed))


async def news_for(db: AsyncSession, user_id: int, limit: int = 20) -> list[ApprovalRequest]:
    """This user's requests with an outcome they have not seen, newest first."""
    query = (
        select(ApprovalRequest).where(_unseen(user_id)).order_by(col(ApprovalRequest.id).desc()).limit(limit)
    )
    return list((await db.exec(query)).all())


async def count_news(db: AsyncSession, user_id: int) -> int:
    """How many of this user's requests have an outcome they have not seen (the badge)."""
    query = select(func.count()).select_from(ApprovalRequest).where(_unseen(user_id))
    return int((await db.exec(query)).one())


async def mark_seen(db: AsyncSession, user_id: int, request_id: int | None = None) -> None:
    """The requester has seen how their request (or all of them) stands now; commits."""
    query = update(ApprovalRequest).where(col(ApprovalRequest.requester_id) == user_id)
    if request_id is not None:
        query = query.where(col(ApprovalRequest.id) == request_id)
    await db.exec(query.values(requester_seen_at=utcnow()))
    await db.commit()
