"""Requests and their seals: the digest a request's 'requested' event sealed, and rows changed since.

A request row lives outside the chain and can be edited by whoever writes the database; its 'requested' event
is in the chain and carries the request's seal (ApprovalRequest.seal()). Comparing the two finds a request whose
parameters, target or preview were changed after it was asked.
"""

from __future__ import annotations

import json

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import ApprovalRequest
from app.db.audit import AuditEvent
from app.services.audit.findings import Verification

# The key, in the parameters of a request's 'requested' and 'approved' events, that holds the request's seal.
SEAL = "seal"


def seal_in(params_json: str) -> str | None:
    """The seal recorded in an event's parameters, if any."""
    try:
        value = json.loads(params_json).get(SEAL)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


async def sealed_digest(db: AsyncSession, request_id: int) -> tuple[int, str | None] | None:
    """(seq, seal) of the request's 'requested' event; None when the chain holds none for it."""
    row = (
        await db.exec(
            select(AuditEvent.seq, AuditEvent.params)
            .where(AuditEvent.approval_id == request_id, AuditEvent.outcome == "requested")
            .order_by(col(AuditEvent.seq))
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], seal_in(row[1]))


async def check_seals(db: AsyncSession, result: Verification) -> None:
    """Fail the verification at the first request whose row no longer matches its sealed 'requested' event."""
    sealed = {
        approval_id: (seq, seal_in(params))
        for seq, approval_id, params in (
            await db.exec(
                select(AuditEvent.seq, AuditEvent.approval_id, AuditEvent.params)
                .where(AuditEvent.outcome == "requested", col(AuditEvent.approval_id).is_not(None))
                .order_by(col(AuditEvent.seq))
            )
        ).all()
    }
    for request in (await db.exec(select(ApprovalRequest).order_by(col(ApprovalRequest.id)))).all():
        seq, seal = sealed.get(request.id, (None, None))
        # A request asked before requests were sealed has nothing to be compared with.
        if seal is not None and seal != request.seal():
            result.fail(
                "request",
                seq,
                f"request #{request.id} ({request.operation} of {request.target_name or request.target_key}) "
                "no longer matches the seal of its 'requested' event: its parameters, target or preview "
                "were changed in the database after it was asked",
            )
            return
