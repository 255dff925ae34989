"""Carry out an approved request exactly as it was approved, and keep the request list honest over time."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlmodel import col, select

from app.db.approvals import ApprovalRequest
from app.db.executions import Execution
from app.db.models import utcnow
from app.operations.catalogue import get_operation
from app.proxmox.errors import PveError
from app.services import audit
from app.services.accounts.auth import Principal
from app.services.approvals.state_changes import differences
from app.services.errors import ServiceError

if TYPE_CHECKING:
    from app.services.approvals.service import ApprovalService

# An 'executing' request without an execution this long after its approval was never sent (a crash between).
ORPHAN_AFTER = timedelta(minutes=2)


async def run_approved(
    service: ApprovalService, request: ApprovalRequest, principal: Principal, actor: audit.Actor
) -> None:
    """Plan again with the stored parameters; if the target changed, stop and say why; else perform once."""
    op = get_operation(request.operation)
    vmid = request.vmid if op is not None and op.target == "guest" else None
    try:
        plan = await service.actions.plan(
            principal, actor, request.operation, vmid, json.loads(request.params)
        )
    except ServiceError as exc:
        await fail_request(
            service, request, actor, f"{exc.message.rstrip('.')}. Nothing was sent to Proxmox."
        )
        return
    except PveError as exc:
        await fail_request(service, request, actor, f"Proxmox could not be read ({exc}); nothing was sent.")
        return
    changes = differences(json.loads(request.fingerprint), plan.state)
    if changes:
        why = "; ".join(changes)
        await fail_request(
            service,
            request,
            actor,
            f"The target changed since the request: {why}. Nothing was sent to Proxmox.",
        )
        return
    # The execution's end (or Proxmox's refusal) finishes the request; an unknown outcome is reconciled.
    with contextlib.suppress(ServiceError):
        await service.actions.perform(plan, actor, approval_id=request.id)


async def fail_request(
    service: ApprovalService, request: ApprovalRequest, actor: audit.Actor, why: str
) -> None:
    """End an executing request as failed before anything was sent, with the reason, once."""
    async with service.sessions() as db:
        result = await db.exec(
            update(ApprovalRequest)
            .where(col(ApprovalRequest.id) == request.id, col(ApprovalRequest.status) == "executing")
            .values(status="failed", open_key=None, finished_at=utcnow(), result_message=why)
        )
        if result.rowcount == 1:
            request.status = "failed"
            await audit.append_in(db, actor, service.draft(request, "failed", why))
            service.notifier.enqueue(db, "failed", request, actor.name)
        await db.commit()


async def settle_orphans(service: ApprovalService) -> int:
    """Requests left 'executing' with no call recorded (the process stopped in between) end as failed."""
    before = utcnow() - ORPHAN_AFTER
    async with service.sessions() as db:
        called = select(Execution.approval_id).where(col(Execution.approval_id).is_not(None))
        orphans = (
            await db.exec(
                select(ApprovalRequest)
                .where(ApprovalRequest.status == "executing", col(ApprovalRequest.executed_at) < before)
                .where(col(ApprovalRequest.id).not_in(called))
            )
        ).all()
    system = audit.Actor(None, "proxgate", "system")
    why = "Proxgate stopped after the approval and before sending it; nothing was sent. Request it again."
    for request in orphans:
        await fail_request(service, request, system, why)
    return len(orphans)
