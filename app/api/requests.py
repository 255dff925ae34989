"""Approval requests over JSON: list, read, approve, reject, cancel (/api/v1/requests)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from app.db.models import Role
from app.deps import ApprovalsDep, PrincipalDep, SessionDep, actor_for, require_principal, require_role
from app.services.approval_queries import STATUSES, list_requests, request_view
from app.services.errors import Invalid
from app.web.csrf import verify_csrf

router = APIRouter(
    prefix="/api/v1/requests",
    tags=["requests"],
    dependencies=[Depends(require_principal), Depends(verify_csrf)],
)
# Viewers never decide anything; the service checks who may decide which request.
DECIDE = [Depends(require_role(Role.operator))]
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The request's number")]


class RequestPage(BaseModel):
    """One page of requests, newest first, and the cursor of the next page."""

    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None


class ApproveIn(BaseModel):
    """An approval: an optional comment, and the VMID typed out where the operation asks for it."""

    comment: str | None = Field(None, max_length=2000)
    confirm: str | None = Field(None, max_length=255, description="The VMID, for deletions (and solo mode)")


class RejectIn(BaseModel):
    """A rejection always says why."""

    comment: str = Field(..., min_length=1, max_length=2000)


def _statuses(status: str | None) -> tuple[str, ...]:
    wanted = tuple(s.strip() for s in (status or "").split(",") if s.strip())
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise Invalid(
            f"Unknown status {', '.join(unknown)}; choose from {', '.join(STATUSES)}.", field="status"
        )
    return wanted


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 10:
        raise Invalid("This cursor is not one a previous page gave.", field="cursor")
    return int(cursor)


@router.get("", response_model=RequestPage)
async def requests_list(
    db: SessionDep,
    approvals: ApprovalsDep,
    status: Annotated[str | None, Query(max_length=120, description="Comma-separated statuses")] = None,
    vmid: Annotated[int | None, Query(ge=100, le=999_999_999)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Requests newest first, filtered by status (pending, executing, succeeded, ...) and guest."""
    await approvals.expire_due()
    rows, total, last = await list_requests(db, _statuses(status), limit, _cursor(cursor), vmid)
    items = [(await request_view(db, row)).as_json() for row in rows]
    return {"items": items, "total": total, "next_cursor": str(last) if last else None}


@router.get("/{request_id}")
async def request_detail(db: SessionDep, approvals: ApprovalsDep, request_id: RequestId) -> dict[str, Any]:
    """One request: parameters, preview, who asked and decided, and once run its task and result."""
    return (await request_view(db, await approvals.get(request_id))).as_json()


@router.post("/{request_id}/approve", dependencies=DECIDE)
async def approve(
    request: Request,
    db: SessionDep,
    principal: PrincipalDep,
    approvals: ApprovalsDep,
    request_id: RequestId,
    body: Annotated[ApproveIn | None, Body()] = None,
) -> dict[str, Any]:
    """Approve (not your own request); the last approval needed runs the change at once, exactly once."""
    given = body or ApproveIn()
    row = await approvals.approve(
        request_id, principal, actor_for(request, principal), given.comment, given.confirm
    )
    return (await request_view(db, row)).as_json()


@router.post("/{request_id}/reject", dependencies=DECIDE)
async def reject(
    request: Request,
    db: SessionDep,
    principal: PrincipalDep,
    approvals: ApprovalsDep,
    request_id: RequestId,
    body: RejectIn,
) -> dict[str, Any]:
    """Reject with a comment that says why."""
    row = await approvals.reject(request_id, principal, actor_for(request, principal), body.comment)
    return (await request_view(db, row)).as_json()


@router.post("/{request_id}/cancel", dependencies=DECIDE)
async def cancel(
    request: Request, db: SessionDep, principal: PrincipalDep, approvals: ApprovalsDep, request_id: RequestId
) -> dict[str, Any]:
    """The requester takes a pending request back."""
    row = await approvals.cancel(request_id, principal, actor_for(request, principal))
    return (await request_view(db, row)).as_json()
