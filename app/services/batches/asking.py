"""A destructive bulk change as ONE approval request: every guest planned now (each refusal refuses the whole),
one preview per guest, each guest's state kept for the drift check when it is approved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from app.db.approvals import ApprovalRequest
from app.db.batches import BatchMember
from app.operations.base import Operation, Risk
from app.services import audit
from app.services.accounts import Principal
from app.services.approvals import RequestedChange, differences
from app.services.batches.store import BatchItem
from app.services.errors import ServiceError
from app.services.pipeline import ActionService, Plan

# Guests read at once while a request is planned or checked for drift.
READS = 8
# Guests named in a request's one-line description; the preview lists every one.
NAMED = 10


async def plan_all(
    actions: ActionService,
    principal: Principal,
    actor: audit.Actor,
    op: Operation,
    items: Sequence[BatchItem],
) -> list[Plan]:
    """Plan every guest's part now (role, parameters, preflight, preview, state); the first refusal is raised,
    naming its guest."""
    gate = asyncio.Semaphore(READS)

    async def one(item: BatchItem) -> Plan:
        async with gate:
            try:
                return await actions.plan(principal, actor, op.name, item.vmid, item.params)
            except ServiceError as exc:
                exc.message = f"Guest {item.vmid}: {exc.message}"
                exc.args = (exc.message,)
                raise

    return list(await asyncio.gather(*(one(item) for item in items)))


def requested_change(op: Operation, batch_id: str, plans: Sequence[Plan]) -> RequestedChange:
    """The whole batch as one request: its guests and their exact parameters, a preview per guest, and each
    guest's state now."""
    guests = [p.guest for p in plans if p.guest is not None]
    named = ", ".join(g.label for g in guests[:NAMED])
    more = f" and {len(guests) - NAMED} more" if len(guests) > NAMED else ""
    description = f"{op.label}: {len(guests)} guests ({named}{more})"
    values = {"batch": batch_id, "items": [[p.guest.vmid, p.values] for p in plans if p.guest is not None]}
    warnings = [f"{p.guest.vmid}: {w}" for p in plans if p.guest is not None for w in p.warnings]
    state = {"guests": {str(p.guest.vmid): p.state for p in plans if p.guest is not None}}
    audited = {"batch": batch_id, "items": [[p.guest.vmid, p.audited] for p in plans if p.guest is not None]}
    # The request is as risky as its riskiest guest's part (an edit's risk depends on the guest).
    risk = Risk.destructive if any(p.risk == Risk.destructive for p in plans) else op.risk
    return RequestedChange(
        op,
        audit.Target(name=f"{len(guests)} guests"),
        f"batch:{batch_id}",
        values,
        description,
        _preview(plans),
        warnings,
        state,
        risk,
        audited,
        batch_id=batch_id,
    )


def _preview(plans: Sequence[Plan]) -> dict[str, Any]:
    """One preview per guest under data.guests, and every loss named with its guest."""
    guests = []
    losses = []
    for plan in plans:
        if plan.guest is None:
            continue
        shown = plan.preview.as_json()
        guests.append({"vmid": plan.guest.vmid, "name": plan.guest.name, "node": plan.guest.node, **shown})
        losses += [
            f"{plan.guest.vmid} {plan.guest.name}: {loss}".replace("  ", " ") for loss in shown["losses"]
        ]
    facts = [{"label": "Guests", "value": str(len(guests))}]
    return {"facts": facts, "losses": losses, "notes": [], "steps": [], "data": {"guests": guests}}


def asked_items(request: ApprovalRequest) -> list[tuple[int, dict[str, Any]]]:
    """The guests and parameters the request asked for (sealed with it)."""
    return [(int(vmid), dict(values)) for vmid, values in json.loads(request.params).get("items", [])]


def mismatch(request: ApprovalRequest, items: Sequence[BatchMember]) -> str | None:
    """Why the stored batch is not what the request asked, or None when it is."""
    # Items stored as ended (nothing to send for them) are not part of what was asked.
    stored = [(item.vmid, json.loads(item.params)) for item in items if item.status == "waiting"]
    if stored != asked_items(request):
        return "its batch's guests or parameters are not the ones the request asked for"
    return None


async def drift(actions: ActionService, request: ApprovalRequest) -> list[str]:
    """What changed on each guest since the request, one sentence each, naming the guest."""
    states = json.loads(request.fingerprint).get("guests", {})
    gate = asyncio.Semaphore(READS)

    async def one(vmid: int, values: dict[str, Any]) -> list[str]:
        async with gate:
            now = await actions.state_now(request.operation, vmid, values)
        return [f"guest {vmid}: {change}" for change in differences(states.get(str(vmid), {}), now)]

    found = await asyncio.gather(*(one(vmid, values) for vmid, values in asked_items(request)))
    return [line for lines in found for line in lines]
