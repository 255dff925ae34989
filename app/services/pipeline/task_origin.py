"""Who in Proxgate asked for a task: Proxmox lists Proxgate's API token as the user of every task it starts."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import ApprovalRequest
from app.db.executions import Execution


async def requested_by(db: AsyncSession, upids: Iterable[str]) -> dict[str, str]:
    """UPID -> the Proxgate user who started it ('alice, approved by bob (request #3)' for an approved
    change), for the UPIDs Proxgate started (the others are left out)."""
    wanted = list(dict.fromkeys(upids))
    if not wanted:
        return {}
    query = (
        select(Execution.upid, Execution.actor_name, ApprovalRequest.requester_name, ApprovalRequest.id)
        .outerjoin(ApprovalRequest, col(ApprovalRequest.id) == col(Execution.approval_id))
        .where(col(Execution.upid).in_(wanted))
    )
    found: dict[str, str] = {}
    for upid, actor, requester, request_id in (await db.exec(query)).all():
        if upid is not None:
            found[upid] = f"{requester}, approved by {actor} (request #{request_id})" if request_id else actor
    return found
