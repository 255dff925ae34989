"""Carry out an approved request exactly as it was approved, or say why not without sending anything."""

from __future__ import annotations

import contextlib
import json

from app.db.approvals import ApprovalRequest
from app.operations.catalogue import get_operation
from app.proxmox.errors import PveError
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals import ApprovalService, differences
from app.services.errors import AuditUnavailable, ServiceError
from app.services.pipeline.actions import ActionService


async def run_approved(
    actions: ActionService,
    approvals: ApprovalService,
    request: ApprovalRequest,
    principal: Principal,
    actor: audit.Actor,
    in_freeze: bool = False,
) -> None:
    """Plan again with the stored parameters; if the target changed (or a freeze holds, unless `in_freeze`: a
    break-glass run), stop and say why; else perform once."""
    broken = await approvals.broken_seal(request)
    if broken:
        await approvals.fail(request, actor, f"Refused: {broken}. Nothing was sent to Proxmox.")
        return
    op = get_operation(request.operation)
    vmid = request.vmid if op is not None and op.target == "guest" else None
    try:
        plan = await actions.plan(principal, actor, request.operation, vmid, json.loads(request.params))
    except ServiceError as exc:
        await approvals.fail(request, actor, f"{exc.message.rstrip('.')}. Nothing was sent to Proxmox.")
        return
    except PveError as exc:
        await approvals.fail(request, actor, f"Proxmox could not be read ({exc}); nothing was sent.")
        return
    freeze = None if in_freeze else approvals.policy.freeze_for(plan.facts)
    if freeze is not None:
        why = f"Refused: {freeze.name} holds until {freeze.until_text}; nothing was sent to Proxmox."
        await approvals.fail(request, actor, why)
        return
    changes = differences(json.loads(request.fingerprint), plan.state)
    if changes:
        why = "; ".join(changes)
        await approvals.fail(
            request, actor, f"The target changed since the request: {why}. Nothing was sent to Proxmox."
        )
        return
    # The execution's end (or Proxmox's refusal) finishes the request; an unknown outcome is reconciled.
    try:
        await actions.perform(plan, actor, approval_id=request.id)
    except AuditUnavailable as exc:
        if exc.execution_id is not None:
            raise  # Proxmox was called; the approver learns what it did and that the record follows
        # Nothing was sent. If even the failure cannot be written, the sweep of orphans ends the request.
        with contextlib.suppress(AuditUnavailable):
            await approvals.fail(request, actor, exc.message)
        raise AuditUnavailable(f"request #{request.id} is approved, but nothing was sent to Proxmox") from exc
    except ServiceError:
        pass
