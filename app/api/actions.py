"""POST /api/v1/guests/{vmid}/actions/{operation}, POST /api/v1/actions/{operation}, GET /api/v1/operations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from pydantic import BaseModel

from app.deps import ActionsDep, PrincipalDep, actor_for, require_principal
from app.operations.base import Operation
from app.operations.catalogue import CATALOGUE, get_operation, needs_approval
from app.services.errors import NotFound
from app.web.csrf import verify_csrf_audited

router = APIRouter(prefix="/api/v1", tags=["actions"], dependencies=[Depends(require_principal)])
OperationName = Annotated[
    str, Path(pattern=r"^[a-z][a-z-]{1,31}$", description="An operation name from GET /api/v1/operations")
]
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]
JsonParams = Annotated[dict[str, Any] | None, Body(description="The operation's parameters")]


class ActionOut(BaseModel):
    """An action's result: the task to follow (None for synchronous ones) and the audit event."""

    upid: str | None
    audit_id: int
    description: str
    warnings: list[str]


class OperationOut(BaseModel):
    """One catalogue entry."""

    name: str
    label: str
    target: str
    risk: str
    needs_approval: bool
    guest_types: list[str]
    confirm: str | None
    parameters: dict[str, Any]


def _describe(op: Operation) -> dict[str, Any]:
    return {
        "name": op.name,
        "label": op.label,
        "target": op.target,
        "risk": op.risk,
        "needs_approval": needs_approval(op),
        "guest_types": sorted(op.guest_types),
        "confirm": op.confirm,
        "parameters": op.schema(),
    }


@router.get("/operations", response_model=list[OperationOut])
async def operations() -> list[dict[str, Any]]:
    """The catalogue: every operation with its risk class and parameter schema."""
    return [_describe(op) for op in CATALOGUE.values()]


@router.post(
    "/guests/{vmid}/actions/{operation}",
    response_model=ActionOut,
    dependencies=[Depends(verify_csrf_audited)],
)
async def guest_action(
    request: Request,
    principal: PrincipalDep,
    actions: ActionsDep,
    vmid: Vmid,
    operation: OperationName,
    body: JsonParams = None,
) -> dict[str, Any]:
    """Run a guest operation now (reversible ones) with the JSON body as its parameters."""
    result = await actions.execute(principal, actor_for(request, principal), operation, vmid, body or {})
    return result.__dict__


@router.post("/actions/{operation}", response_model=ActionOut, dependencies=[Depends(verify_csrf_audited)])
async def cluster_action(
    request: Request,
    principal: PrincipalDep,
    actions: ActionsDep,
    operation: OperationName,
    body: JsonParams = None,
) -> dict[str, Any]:
    """Run an operation that targets no existing guest (create a VM or container)."""
    op = get_operation(operation)
    if op is None or op.target != "cluster":
        raise NotFound(
            f"There is no cluster-wide operation '{operation}'; guest operations are under /guests/{{vmid}}/actions/."
        )
    result = await actions.execute(principal, actor_for(request, principal), operation, None, body or {})
    return result.__dict__
