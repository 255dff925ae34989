"""Approval requests over JSON: list, read, approve, reject, cancel (/api/v1/requests)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from app.deps import (
    ApprovalsDep,
    GateDep,
    PrincipalDep,
    SessionDep,
    actor_for,
    require_principal,
    require_role,
)
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, Paging, encode_cursor, paging_by
from app.services.accounts import Role
from app.services.approvals import (
    NEEDS_REVIEW,
    STATUSES,
    approvers_seen_by,
    list_requests,
    request_answer,
    request_views,
)
from app.services.approvals import review as review_run
from app.services.errors import Invalid

router = APIRouter(
    prefix="/api/v1/requests",
    tags=["requests"],
    dependencies=[Depends(require_principal), Depends(verify_csrf)],
)
# Viewers never decide anything; the service checks who may decide which request.
DECIDE = [Depends(require_role(Role.operator))]
# Only approvers ever reject: an operator is refused with 403 before the body's comment is checked.
REJECT = [Depends(require_role(Role.approver))]
ADMIN = [Depends(require_role(Role.admin))]
RequestPaging = Annotated[Paging, Depends(paging_by("before"))]
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The request's number")]


class ApproveIn(BaseModel):
    """An approval: an optional comment, and the VMID typed out where the operation asks for it."""

    comment: str | None = Field(None, max_length=2000)
    confirm: str | None = Field(
        None,
        max_length=255,
        description="The VMID, for a change that loses data (deletions, rollbacks, restores over a guest) "
        "and in solo mode",
    )
    seal: str | None = Field(
        None,
        pattern="^[0-9a-f]{64}$",
        description="The request's seal as you read it: refused (409) if the request changed since",
    )


class RejectIn(BaseModel):
    """A rejection always says why."""

    comment: str = Field(..., min_length=1, max_length=2000)


class TargetOut(BaseModel):
    """What the request changes: node, guest type, VMID and name, each null where the operation has none."""

    node: str | None
    type: str | None
    vmid: int | None
    name: str | None


class RequestedOut(BaseModel):
    """Who asked, how they signed in (and with which token), and when."""

    by: str
    method: str
    token: str | None
    at: datetime


class ApprovalOut(BaseModel):
    """One approver's yes."""

    by: str
    method: str
    comment: str | None
    at: datetime
    seal: str | None = Field(description="The request's seal this approver was shown")
    groups: list[str] = Field([], description="The approver's groups when they approved")


class PolicyOut(BaseModel):
    """The policy rule that decided what the request needs, and what it still needs."""

    rule: str = Field(description="The policy file's rule, or 'settings' when none matched")
    groups: list[str] = Field(description="At least one approver from each of these groups")
    own_group_approves: bool = Field(description="Whether approvers sharing a group with the requester count")
    missing_groups: list[str] = Field(description="Groups no approver came from yet")
    may_still_approve: str | None = Field(description="Who may still approve, in a sentence")


class MissingGroupOut(BaseModel):
    """A group no approver came from yet."""

    name: str
    members: list[str] | None = Field(
        description="Its members who may still approve (null unless the caller has the approver role)"
    )


class StillNeededOut(BaseModel):
    """Who may still approve: the approvals left (0 once the request is no longer pending) and the groups still
    missing; the people by name only for a caller with the approver role."""

    approvals: int
    only_from_groups: bool = Field(description="Every approval left must come from one of these groups")
    groups: list[MissingGroupOut]
    people: list[str] | None = Field(
        description="Everyone who may still approve (never the requester nor those who approved); null unless "
        "the caller has the approver role"
    )


class DecisionOut(BaseModel):
    """Who decided (the last approval needed, a rejection, a cancellation; nobody when it expired), and when."""

    by: str | None
    at: datetime
    comment: str | None


class ResultOut(BaseModel):
    """How the change ended: PVE's exit status and what Proxgate made of it."""

    exitstatus: str | None
    message: str | None


class WindowOut(BaseModel):
    """The maintenance window the request runs in: once approved it waits for run_at, and expires at run_until
    if it has not run by then (both null until it is approved)."""

    name: str
    run_at: datetime | None
    run_until: datetime | None


class BreakGlassOut(BaseModel):
    """An admin ran the request at once, without its approvals; another person reviews it after."""

    by: str
    reason: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review: str | None


class RequestOut(BaseModel):
    """A request for a change that needs approval: what exactly will be sent, what it does, who decides."""

    id: int
    operation: str
    label: str
    risk: str
    status: str = Field(
        description="pending, scheduled, executing, succeeded, failed, rejected, cancelled or expired"
    )
    target: TargetOut
    parameters: dict[str, Any] = Field(description="The exact parameters that will be sent")
    reason: str
    description: str
    preview: dict[str, Any] = Field(description="What the change does, as read when it was requested")
    warnings: list[str]
    state_at_request: dict[str, Any] = Field(description="The target's state then; a change stops the run")
    requested: RequestedOut
    expires_at: datetime
    required_approvals: int
    policy: PolicyOut
    still_needed: StillNeededOut
    break_glass: BreakGlassOut | None = None
    window: WindowOut | None = None
    approvals: list[ApprovalOut]
    decided: DecisionOut | None
    executed_at: datetime | None
    finished_at: datetime | None
    upid: str | None
    result: ResultOut | None
    url: str
    seal: str = Field(description="sha256 of what was asked (operation, target, parameters, preview)")
    confirm: str | None = Field(
        None,
        description="What an approver sends as `confirm` (the VMID) because the change loses data; null when "
        "nothing is asked (in solo mode a requester confirming their own request always sends it)",
    )


def _statuses(status: str | None) -> tuple[str, ...]:
    wanted = tuple(s.strip() for s in (status or "").split(",") if s.strip())
    unknown = [s for s in wanted if s not in (*STATUSES, NEEDS_REVIEW)]
    if unknown:
        raise Invalid(
            f"Unknown status {', '.join(unknown)}; choose from {', '.join((*STATUSES, NEEDS_REVIEW))}.",
            field="status",
        )
    return wanted


@router.get("", name="list", response_model=ListPage[RequestOut])
async def requests_list(
    db: SessionDep,
    approvals: ApprovalsDep,
    principal: PrincipalDep,
    paging: RequestPaging,
    status: Annotated[
        str | None,
        Query(
            max_length=120,
            description="Comma-separated statuses; needs-review: break-glass runs nobody reviewed yet",
        ),
    ] = None,
    vmid: Annotated[int | None, Query(ge=100, le=999_999_999)] = None,
    mine: Annotated[bool, Query(description="Only the requests the caller made")] = False,
) -> dict[str, Any]:
    """Requests newest first, filtered by status (pending, executing, succeeded, ...), guest and requester."""
    await approvals.expire_due()
    wanted = _statuses(status)
    rows, total, last = await list_requests(
        db,
        tuple(s for s in wanted if s != NEEDS_REVIEW),
        paging.limit,
        paging.position,
        vmid,
        principal.user_id if mine else None,
        needs_review=NEEDS_REVIEW in wanted,
    )
    people = await approvers_seen_by(db, principal)
    return {
        "items": [view.as_json(people) for view in await request_views(db, rows)],
        "total": total,
        "next_cursor": encode_cursor({"before": last}) if last else None,
    }


@router.get("/{request_id}", name="detail", response_model=RequestOut)
async def request_detail(
    db: SessionDep, approvals: ApprovalsDep, principal: PrincipalDep, request_id: RequestId
) -> dict[str, Any]:
    """One request: parameters, preview, who asked, who may still approve, who decided, and once run its task
    and result."""
    return await request_answer(db, principal, await approvals.get(request_id))


@router.post("/{request_id}/approve", name="approve", response_model=RequestOut, dependencies=DECIDE)
async def approve(
    request: Request,
    db: SessionDep,
    principal: PrincipalDep,
    gate: GateDep,
    request_id: RequestId,
    body: Annotated[ApproveIn | None, Body()] = None,
) -> dict[str, Any]:
    """Approve (not your own request); the last approval needed runs the change at once, exactly once."""
    given = body or ApproveIn()
    row = await gate.approve(
        request_id, principal, actor_for(request, principal), given.comment, given.confirm, given.seal
    )
    return await request_answer(db, principal, row)


@router.post("/{request_id}/reject", name="reject", response_model=RequestOut, dependencies=REJECT)
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
    return await request_answer(db, principal, row)


class BreakGlassIn(BaseModel):
    """Why the change cannot wait for its approvals."""

    reason: str = Field(..., min_length=1, max_length=2000)


class ReviewIn(BaseModel):
    """What the reviewer found."""

    comment: str = Field(..., min_length=1, max_length=2000)


@router.post("/{request_id}/break-glass", name="break_glass", response_model=RequestOut, dependencies=ADMIN)
async def break_glass(
    request: Request,
    db: SessionDep,
    principal: PrincipalDep,
    gate: GateDep,
    request_id: RequestId,
    body: BreakGlassIn,
) -> dict[str, Any]:
    """An admin in a browser session runs a pending request at once, saying why; it is marked, every
    notification target hears of it, and another person must review it after. Never with an API token."""
    row = await gate.break_glass(request_id, principal, actor_for(request, principal), body.reason)
    return await request_answer(db, principal, row)


@router.post("/{request_id}/review", name="review", response_model=RequestOut, dependencies=REJECT)
async def review(
    request: Request,
    db: SessionDep,
    principal: PrincipalDep,
    approvals: ApprovalsDep,
    request_id: RequestId,
    body: ReviewIn,
) -> dict[str, Any]:
    """Someone other than the admin who broke the glass reviews the run."""
    row = await review_run(approvals, request_id, principal, actor_for(request, principal), body.comment)
    return await request_answer(db, principal, row)


@router.post("/{request_id}/cancel", name="cancel", response_model=RequestOut, dependencies=DECIDE)
async def cancel(
    request: Request, db: SessionDep, principal: PrincipalDep, approvals: ApprovalsDep, request_id: RequestId
) -> dict[str, Any]:
    """The requester takes a pending request back; the requester or an admin calls off one approved and waiting
    for its maintenance window (scheduled), unless the window opened first."""
    row = await approvals.cancel(request_id, principal, actor_for(request, principal))
    return await request_answer(db, principal, row)
