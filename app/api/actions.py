"""POST /api/v1/guests/{vmid}/actions/{operation}, POST /api/v1/actions/{operation}, GET /api/v1/operations.

A reversible operation runs at once (200 with its task); one that needs approval answers 202 with the request
that now waits for a second person."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.deps import GateDep, PrincipalDep, actor_for, link_base, require_principal, runtime_of
from app.http.csrf import verify_csrf_audited
from app.http.paging import ListPage, PagingDep
from app.operations.base import Operation
from app.operations.catalogue import CATALOGUE, get_operation
from app.services.approvals import ApprovalPolicy
from app.services.pipeline import Submitted

router = APIRouter(prefix="/api/v1", tags=["actions"], dependencies=[Depends(require_principal)])
OperationName = Annotated[
    str, Path(pattern=r"^[a-z][a-z-]{1,31}$", description="An operation name from GET /api/v1/operations")
]
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]
JsonParams = Annotated[
    dict[str, Any] | None,
    Body(description="The operation's parameters, plus `reason` (required when it needs approval)"),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=128,
        description="A one-time key: repeating it returns the first answer, nothing runs twice",
    ),
]


class ActionOut(BaseModel):
    """An action's result: the task to follow (None for synchronous ones) and the audit event."""

    upid: str | None
    audit_id: int
    description: str
    warnings: list[str]


class RequestCreatedOut(BaseModel):
    """An operation that waits for approval: the request and where a person decides it."""

    request_id: int
    status: str
    description: str
    url: str


class OperationOut(BaseModel):
    """One catalogue entry."""

    name: str
    label: str
    about: str
    target: str
    risk: str
    needs_approval: bool
    typed_confirmation: bool
    guest_types: list[str]
    confirm: str | None
    parameters: dict[str, Any]


def _describe(op: Operation, policy: ApprovalPolicy) -> dict[str, Any]:
    return {
        "name": op.name,
        "label": op.label,
        "about": op.about,
        "target": op.target,
        "risk": op.risk,
        "needs_approval": policy.needs_approval(op),
        "typed_confirmation": op.typed_confirmation,
        "guest_types": sorted(op.guest_types),
        "confirm": op.confirm,
        "parameters": op.schema(),
    }


def answer(submitted: Submitted) -> Any:
    """200 with the action, or 202 with the request that waits for approval."""
    if submitted.request is not None:
        r = submitted.request
        body = {"request_id": r.id, "status": r.status, "description": r.description, "url": r.url}
        return JSONResponse(body, status_code=202)
    assert submitted.result is not None  # noqa: S101 (one of the two is always set)
    return submitted.result.__dict__


@router.get("/operations", name="catalogue", response_model=ListPage[OperationOut])
async def operations(request: Request, paging: PagingDep) -> dict[str, Any]:
    """The catalogue: every operation with its risk class, whether it needs approval, and its parameters."""
    return paging.page([_describe(op, runtime_of(request.app).approval_policy) for op in CATALOGUE.values()])


@router.post(
    "/guests/{vmid}/actions/{operation}",
    name="guest",
    response_model=ActionOut,
    responses={202: {"model": RequestCreatedOut, "description": "Stored as a request for approval"}},
    dependencies=[Depends(verify_csrf_audited)],
)
async def guest_action(
    request: Request,
    principal: PrincipalDep,
    gate: GateDep,
    vmid: Vmid,
    operation: OperationName,
    body: JsonParams = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Run a guest operation now, or request it when it needs a second person's approval."""
    actor = actor_for(request, principal)
    return answer(
        await gate.submit(principal, actor, operation, vmid, body or {}, link_base(request), idempotency_key)
    )


@router.post(
    "/actions/{operation}",
    name="cluster",
    response_model=ActionOut,
    responses={202: {"model": RequestCreatedOut, "description": "Stored as a request for approval"}},
    dependencies=[Depends(verify_csrf_audited)],
)
async def cluster_action(
    request: Request,
    principal: PrincipalDep,
    gate: GateDep,
    operation: OperationName,
    body: JsonParams = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Run an operation that targets no existing guest (create a guest, restore as new, delete a backup)."""
    op = get_operation(operation)
    actor = actor_for(request, principal)
    if op is None or op.target != "cluster":
        where = (
            f"'{operation}' acts on a node: POST /api/v1/nodes/{{node}}/actions/{operation}."
            if op is not None and op.target == "node"
            else f"There is no cluster-wide operation '{operation}'; guest operations are under "
            "/guests/{vmid}/actions/."
        )
        await gate.actions.refuse_unknown(actor, operation, None, body or {}, where)
    return answer(
        await gate.submit(principal, actor, operation, None, body or {}, link_base(request), idempotency_key)
    )
