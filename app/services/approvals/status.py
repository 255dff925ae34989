"""The one writer of an approval request's status: each transition is a conditional UPDATE in the caller's
transaction, so however many clicks, approvers or processes race, a request moves once.

pending -> executing (the last approval needed) -> succeeded | failed; pending -> rejected | cancelled | expired;
pending -> scheduled (approved outside its maintenance window) -> executing (the window opened) | expired (it passed)
| cancelled (its requester or an admin called it off: whichever of that and the window's opening comes first wins);
executing -> failed when it stops before anything was sent. A transition that finds the row elsewhere changes
nothing and says so.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import ApprovalRequest
from app.db.models import utcnow
from app.services.accounts import Principal


async def count_approval(db: AsyncSession, request_id: int) -> int | None:
    """One more approval on a pending, unexpired request: its new count, or None when it is not pending."""
    counted = await db.exec(
        update(ApprovalRequest)
        .where(
            col(ApprovalRequest.id) == request_id,
            col(ApprovalRequest.status) == "pending",
            col(ApprovalRequest.expires_at) > utcnow(),
        )
        .values(approval_count=col(ApprovalRequest.approval_count) + 1)
        .returning(col(ApprovalRequest.approval_count))
    )
    count: int | None = counted.scalar_one_or_none()
    return count


async def to_executing(db: AsyncSession, request_id: int, decided_by: Principal, comment: str | None) -> None:
    """The last approval needed was just counted on this row (same transaction): it runs now."""
    now = utcnow()
    await db.exec(
        update(ApprovalRequest)
        .where(col(ApprovalRequest.id) == request_id)
        .values(
            status="executing",
            decided_at=now,
            decided_by_id=decided_by.user_id,
            decided_by_name=decided_by.username,
            decision_comment=comment,
            executed_at=now,
        )
    )


async def to_scheduled(
    db: AsyncSession,
    request_id: int,
    decided_by: Principal,
    comment: str | None,
    start: datetime,
    end: datetime,
) -> None:
    """The last approval needed was counted outside its maintenance window: it waits for the window."""
    await db.exec(
        update(ApprovalRequest)
        .where(col(ApprovalRequest.id) == request_id)
        .values(
            status="scheduled",
            decided_at=utcnow(),
            decided_by_id=decided_by.user_id,
            decided_by_name=decided_by.username,
            decision_comment=comment,
            run_at=start,
            run_until=end,
        )
    )


async def window_opened(db: AsyncSession, request_id: int, now: datetime) -> bool:
    """A scheduled request whose window is open now starts running; False when it is not (any more)."""
    result = await db.exec(
        update(ApprovalRequest)
        .where(
            col(ApprovalRequest.id) == request_id,
            col(ApprovalRequest.status) == "scheduled",
            col(ApprovalRequest.run_at) <= now,
            col(ApprovalRequest.run_until) > now,
        )
        .values(status="executing", executed_at=utcnow())
    )
    return bool(result.rowcount == 1)


async def window_passed(db: AsyncSession, request_id: int, now: datetime) -> bool:
    """A scheduled request whose window ended without it running expires; False when it ran or ended."""
    result = await db.exec(
        update(ApprovalRequest)
        .where(
            col(ApprovalRequest.id) == request_id,
            col(ApprovalRequest.status) == "scheduled",
            col(ApprovalRequest.run_until) <= now,
        )
        .values(status="expired", open_key=None, finished_at=utcnow())
    )
    return bool(result.rowcount == 1)


async def break_glass(db: AsyncSession, request_id: int, by: Principal, reason: str) -> bool:
    """An admin runs a pending request at once, without its approvals; False when it was no longer pending."""
    now = utcnow()
    result = await db.exec(
        update(ApprovalRequest)
        .where(col(ApprovalRequest.id) == request_id, col(ApprovalRequest.status) == "pending")
        .values(
            status="executing",
            decided_at=now,
            decided_by_id=by.user_id,
            decided_by_name=by.username,
            decision_comment=reason,
            executed_at=now,
            break_glass_by_id=by.user_id,
            break_glass_by=by.username,
            break_glass_reason=reason,
        )
    )
    return bool(result.rowcount == 1)


async def review(db: AsyncSession, request_id: int, by: Principal, comment: str) -> bool:
    """Another person reviews a break-glass run, once; False when it needs no review (any more)."""
    result = await db.exec(
        update(ApprovalRequest)
        .where(
            col(ApprovalRequest.id) == request_id,
            col(ApprovalRequest.break_glass_by_id).is_not(None),
            col(ApprovalRequest.break_glass_by_id) != by.user_id,
            col(ApprovalRequest.reviewed_at).is_(None),
        )
        .values(reviewed_by=by.username, reviewed_at=utcnow(), review_comment=comment)
    )
    return bool(result.rowcount == 1)


# What a cancel may still take back: a request not yet decided, or approved and waiting for its window.
CANCELLABLE = ("pending", "scheduled")


async def close(
    db: AsyncSession,
    request_id: int,
    status: str,
    decided_by: Principal | None,
    comment: str | None,
    closable: tuple[str, ...] = ("pending",),
) -> bool:
    """A pending request is rejected or cancelled (a scheduled one cancelled, with CANCELLABLE); False when it
    was no longer in one of the `closable` statuses."""
    result = await db.exec(
        update(ApprovalRequest)
        .where(col(ApprovalRequest.id) == request_id, col(ApprovalRequest.status).in_(closable))
        .values(
            status=status,
            open_key=None,
            decided_at=utcnow(),
            decision_comment=comment,
            decided_by_id=decided_by.user_id if decided_by else None,
            decided_by_name=decided_by.username if decided_by else None,
        )
    )
    return bool(result.rowcount == 1)


async def expire(db: AsyncSession, request_id: int) -> bool:
    """A pending request past its expiry ends as expired; False when another caller got there first."""
    result = await db.exec(
        update(ApprovalRequest)
        .where(
            col(ApprovalRequest.id) == request_id,
            col(ApprovalRequest.status) == "pending",
            col(ApprovalRequest.expires_at) <= utcnow(),
        )
        .values(status="expired", open_key=None, decided_at=utcnow())
    )
    return bool(result.rowcount == 1)


async def fail_unsent(db: AsyncSession, request_id: int, why: str) -> bool:
    """An executing request stopped before anything was sent ends as failed, with the reason; False if ended."""
    result = await db.exec(
        update(ApprovalRequest)
        .where(col(ApprovalRequest.id) == request_id, col(ApprovalRequest.status) == "executing")
        .values(status="failed", open_key=None, finished_at=utcnow(), result_message=why)
    )
    return bool(result.rowcount == 1)


async def record_upid(db: AsyncSession, request_id: int, upid: str) -> None:
    """The request's change was sent: remember the task that carries it."""
    await db.exec(update(ApprovalRequest).where(col(ApprovalRequest.id) == request_id).values(upid=upid))


async def finish(
    db: AsyncSession, request_id: int, outcome: str, exitstatus: str | None, message: str
) -> None:
    """An executing request takes its execution's end: succeeded, or failed with the reason."""
    await db.exec(
        update(ApprovalRequest)
        .where(col(ApprovalRequest.id) == request_id, col(ApprovalRequest.status) == "executing")
        .values(
            status="succeeded" if outcome == "succeeded" else "failed",
            open_key=None,
            finished_at=utcnow(),
            exitstatus=exitstatus,
            result_message=message[:4000],
        )
    )
