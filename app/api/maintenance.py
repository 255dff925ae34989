"""Node maintenance: GET /api/v1/nodes/{node}/empty-node (the plan), POST /api/v1/nodes/{node}/actions/empty-node
(run it as a batch of migrations) and POST /api/v1/nodes/{node}/actions/bring-back (migrate them home again)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.deps import ApprovalsDep, MaintenanceDep, PrincipalDep, actor_for, link_base, require_principal
from app.http.csrf import verify_csrf_audited
from app.operations.evacuation import Evacuation
from app.services.approvals import ApprovalService
from app.services.batches import BatchView

router = APIRouter(prefix="/api/v1/nodes", tags=["maintenance"], dependencies=[Depends(require_principal)])
NodeName = Annotated[str, Path(max_length=64, description="The node's name")]
JsonParams = Annotated[
    dict[str, Any] | None,
    Body(description="`reason`, and the parameters of `empty-node` in GET /api/v1/operations"),
]


class MoveOut(BaseModel):
    """One guest of the plan: migrated to `target` (online when running), moved by HA, or staying (why)."""

    vmid: int
    name: str
    type: str
    status: str
    action: str
    target: str | None
    online: bool
    with_local_disks: bool
    reason: str
    warnings: list[str]


class PlanOut(BaseModel):
    """Where each guest of the node goes and why; `maintenance`: HA keeps the node in maintenance mode."""

    node: str
    maintenance: bool
    notes: list[str]
    moves: list[MoveOut]


class BatchStartedOut(BaseModel):
    """The batch that runs the plan and where to follow it (running), or the request that holds it back until
    another person approves (pending: `request_id`, `url` the request's page); and the plan it runs."""

    batch_id: str
    status: str
    request_id: int | None = None
    url: str
    plan: PlanOut


def plan_json(plan: Evacuation) -> dict[str, Any]:
    """The plan in plain JSON types."""
    return {
        "node": plan.node,
        "maintenance": plan.maintenance,
        "notes": plan.notes,
        "moves": [
            {
                "vmid": m.vmid,
                "name": m.name,
                "type": m.type,
                "status": m.status,
                "action": m.action,
                "target": m.target,
                "online": m.online,
                "with_local_disks": m.with_local_disks,
                "reason": m.reason,
                "warnings": m.warnings,
            }
            for m in plan.moves
        ],
    }


async def _started(
    request: Request, approvals: ApprovalService, batch: BatchView, plan: Evacuation
) -> JSONResponse:
    body = {
        "batch_id": batch.id,
        "status": batch.status,
        "request_id": batch.approval_id,
        "plan": plan_json(plan),
    }
    if batch.approval_id is not None:
        body["url"] = (await approvals.get(batch.approval_id)).url
    else:
        body["url"] = f"{link_base(request)}/batches/{batch.id}"
    return JSONResponse(body, status_code=202)


@router.get("/{node}/empty-node", name="plan", response_model=PlanOut)
async def empty_node_plan(
    service: MaintenanceDep,
    node: NodeName,
    with_local_disks: Annotated[bool, Query(description="Copy running VMs' local disks")] = False,
) -> dict[str, Any]:
    """Where each guest of the node would go if it were emptied now, and why; or why it stays."""
    return plan_json(await service.plan(node, with_local_disks))


@router.post(
    "/{node}/actions/empty-node",
    name="empty",
    status_code=202,
    response_model=BatchStartedOut,
    dependencies=[Depends(verify_csrf_audited)],
)
async def empty_node(
    request: Request,
    principal: PrincipalDep,
    service: MaintenanceDep,
    approvals: ApprovalsDep,
    node: NodeName,
    body: JsonParams = None,
) -> JSONResponse:
    """Move every guest that can go off the node, as a batch of migrations (202: follow the batch)."""
    actor = actor_for(request, principal)
    batch, plan = await service.empty(principal, actor, node, body or {}, link_base(request))
    return await _started(request, approvals, batch, plan)


@router.post(
    "/{node}/actions/bring-back",
    name="bring_back",
    status_code=202,
    response_model=BatchStartedOut,
    dependencies=[Depends(verify_csrf_audited)],
)
async def bring_back(
    request: Request,
    principal: PrincipalDep,
    service: MaintenanceDep,
    approvals: ApprovalsDep,
    node: NodeName,
    body: JsonParams = None,
) -> JSONResponse:
    """Migrate the guests an empty-node batch (`batch_id`) moved off the node back to it, as a new batch."""
    values = dict(body or {})
    batch_id = str(values.pop("batch_id", "") or "")
    actor = actor_for(request, principal)
    batch, plan = await service.bring_back(principal, actor, node, batch_id, values, link_base(request))
    return await _started(request, approvals, batch, plan)
