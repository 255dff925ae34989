"""POST /api/v1/bulk/{operation}, GET /api/v1/bulk, GET /api/v1/bulk/{batch_id}, POST /api/v1/bulk/{batch_id}/stop.

One operation for many guests: it runs as a batch, a few guests at a time (202 with the batch), or, when the
operation needs approval, waits as ONE request for the whole batch (202 with the request)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.actions import IdempotencyKey
from app.deps import (
    ApprovalsDep,
    BatchesDep,
    PrincipalDep,
    actor_for,
    link_base,
    require_principal,
    require_role,
)
from app.http.csrf import verify_csrf_audited
from app.http.paging import ListPage, PagingDep
from app.services.accounts import Role
from app.services.batches import BULK_OPERATIONS, BatchItem, BatchView
from app.services.errors import Invalid

router = APIRouter(prefix="/api/v1/bulk", tags=["bulk"], dependencies=[Depends(require_principal)])
OperationName = Annotated[
    str, Path(pattern=r"^[a-z][a-z-]{1,31}$", description=f"One of: {', '.join(BULK_OPERATIONS)}")
]
BatchId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="A batch id from POST /bulk")]
BulkBody = Annotated[
    dict[str, Any] | None,
    Body(
        description=(
            '`{"vmids": [...], "reason": "...", "stop_on_failure": false, "concurrency": 4, '
            "<the operation's parameters>}`"
        )
    ),
]
# Starting and stopping batches is an operator's (a viewer is refused before anything is read).
OPERATOR = Depends(require_role(Role.operator))
# What the body holds besides the operation's own parameters.
BATCH_KEYS = ("vmids", "reason", "stop_on_failure", "concurrency")


class BulkStartedOut(BaseModel):
    """A batch that runs now, or a request for the whole batch that waits for approval (request_id set)."""

    batch_id: str
    status: str
    url: str
    request_id: int | None = None


class BulkItemOut(BaseModel):
    """One guest's part: where it stands, its task and how it ended."""

    vmid: int
    name: str
    node: str
    status: str
    upid: str | None
    message: str


class BulkOut(BaseModel):
    """A batch: status "pending" (waiting for approval), "running", "done" or "stopped", and each guest."""

    batch_id: str
    kind: str
    operation: str
    status: str
    created_by: str
    reason: str
    concurrency: int
    stop_on_failure: bool
    request_id: int | None
    meta: dict[str, Any]
    counts: dict[str, int]
    created_at: datetime
    ended_at: datetime | None
    # The process that carried the batch on after the one running it stopped, and when (null: never).
    resumed_by: str | None
    resumed_at: datetime | None
    url: str
    items: list[BulkItemOut]


def batch_url(request: Request, batch_id: str) -> str:
    """The batch's page, as the caller reached Proxgate."""
    return f"{link_base(request)}/batches/{batch_id}"


def bulk_json(request: Request, view: BatchView) -> dict[str, Any]:
    """The batch as the API answers it."""
    return {
        "batch_id": view.id,
        "kind": view.kind,
        "operation": view.operation,
        "status": view.status,
        "created_by": view.created_by,
        "reason": view.reason,
        "concurrency": view.concurrency,
        "stop_on_failure": view.stop_on_failure,
        "request_id": view.approval_id,
        "meta": view.meta,
        "counts": view.counts,
        "created_at": view.created_at,
        "ended_at": view.ended_at,
        "resumed_by": view.resumed_by,
        "resumed_at": view.resumed_at,
        "url": batch_url(request, view.id),
        "items": [
            {
                "vmid": i.vmid,
                "name": i.name,
                "node": i.node,
                "status": i.status,
                "upid": i.upid,
                "message": i.message,
            }
            for i in view.items
        ],
    }


def batch_options(body: dict[str, Any]) -> tuple[list[int], str, bool, int | None, dict[str, Any]]:
    """(vmids, reason, stop_on_failure, concurrency, the operation's parameters); Invalid naming the field."""
    vmids = body.get("vmids")
    if not isinstance(vmids, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in vmids):
        raise Invalid("vmids: a list of VMIDs (numbers) is needed.", field="vmids")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 2000:
        raise Invalid("reason: text of at most 2000 characters.", field="reason")
    stop_on_failure = body.get("stop_on_failure", False)
    if not isinstance(stop_on_failure, bool):
        raise Invalid("stop_on_failure: true or false.", field="stop_on_failure")
    concurrency = body.get("concurrency")
    if concurrency is not None and (not isinstance(concurrency, int) or isinstance(concurrency, bool)):
        raise Invalid("concurrency: a number of guests at once.", field="concurrency")
    params = {k: v for k, v in body.items() if k not in BATCH_KEYS}
    return vmids, reason, stop_on_failure, concurrency, params


@router.get("", name="list", response_model=ListPage[BulkOut])
async def bulk_list(request: Request, batches: BatchesDep, paging: PagingDep) -> dict[str, Any]:
    """The newest batches first (the last 100)."""
    return paging.page([bulk_json(request, view) for view in await batches.list_recent(100)])


@router.post(
    "/{operation}",
    name="start",
    status_code=202,
    response_model=BulkStartedOut,
    dependencies=[Depends(verify_csrf_audited), OPERATOR],
)
async def bulk_start(
    request: Request,
    principal: PrincipalDep,
    batches: BatchesDep,
    approvals: ApprovalsDep,
    operation: OperationName,
    body: BulkBody = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Run an operation on many guests as one batch, or ask for it as one request when it needs approval; a
    repeat with the same Idempotency-Key answers the first batch (or its request) and starts nothing."""
    if operation not in BULK_OPERATIONS:
        raise Invalid(
            f"'{operation}' is not offered in bulk; these are: {', '.join(BULK_OPERATIONS)}.",
            field="operation",
        )
    vmids, reason, stop_on_failure, concurrency, params = batch_options(body or {})
    batch_id = await batches.start(
        principal,
        operation,
        [BatchItem(vmid, params) for vmid in vmids],
        reason=reason,
        source=actor_for(request, principal),
        concurrency=concurrency,
        stop_on_failure=stop_on_failure,
        link_base=link_base(request),
        key=idempotency_key,
    )
    view = await batches.get(batch_id)
    if view.approval_id is not None:
        asked = await approvals.get(view.approval_id)
        answer = {"batch_id": batch_id, "request_id": asked.id, "status": asked.status, "url": asked.url}
        return JSONResponse(answer, status_code=202)
    return {"batch_id": batch_id, "status": view.status, "url": batch_url(request, batch_id)}


@router.get("/{batch_id}", name="detail", response_model=BulkOut)
async def bulk_detail(request: Request, batches: BatchesDep, batch_id: BatchId) -> dict[str, Any]:
    """The batch: its status and each guest's status, task and result."""
    return bulk_json(request, await batches.get(batch_id))


@router.post(
    "/{batch_id}/stop",
    name="stop",
    response_model=BulkOut,
    dependencies=[Depends(verify_csrf_audited), OPERATOR],
)
async def bulk_stop(
    request: Request, principal: PrincipalDep, batches: BatchesDep, batch_id: BatchId
) -> dict[str, Any]:
    """Skip the guests not started yet; the running ones finish."""
    return bulk_json(request, await batches.stop(batch_id, principal, actor_for(request, principal)))
