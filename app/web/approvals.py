"""Approvals in the browser: the queue and history (/approvals) and one request (/approvals/{id}); deciding it is
approval_decisions.py's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import (
    ActionsDep,
    ApprovalsDep,
    PrincipalDep,
    SessionDep,
    require_principal,
    runtime_of,
)
from app.http.csrf import verify_csrf
from app.operations.catalogue import CATALOGUE, get_operation
from app.services.accounts import Principal
from app.services.approvals import (
    ASKED_AGAIN_FROM,
    NEEDS_REVIEW,
    STATUSES,
    ApprovalService,
    RequestView,
    approvers_seen_by,
    confirmation_text,
    count_news,
    differences,
    is_news,
    list_requests,
    mark_seen,
    needs_typing,
    news_for,
    request_view,
    request_views,
    waiting_for,
)
from app.services.batches import BatchService
from app.services.errors import PveError
from app.services.pipeline import ActionService
from app.web.templating import is_htmx, render
from app.web.url_paths import path_for

router = APIRouter(tags=["approvals"], dependencies=[Depends(require_principal)])
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PAGE = 50


def policy_context(request: Request) -> dict[str, Any]:
    """What the policy is, in words the pages show."""
    policy = runtime_of(request.app).approval_policy
    return {
        "policy": policy,
        "gated": [op for op in CATALOGUE.values() if policy.needs_approval(op)],
    }


@router.get("/approvals", name="approval_list")
async def approval_list(
    request: Request,
    db: SessionDep,
    approvals: ApprovalsDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Pending requests first, then the history; filter by status, or the break-glass runs awaiting review."""
    await approvals.expire_due()
    chosen = status if status in (*STATUSES, NEEDS_REVIEW) else None
    review = chosen == NEEDS_REVIEW
    decided = tuple(s for s in STATUSES if s != "pending")
    shown = () if review else (chosen,) if chosen else decided
    pending, _, _ = await list_requests(db, ("pending",), 500)
    history, total, next_before = await list_requests(db, shown, PAGE, before, needs_review=review)
    context = {
        "active": "approval_list",
        "pending": await request_views(db, pending),
        "history": await request_views(db, history),
        "total": total,
        "next_before": next_before,
        "status": chosen,
        "statuses": STATUSES,
        "needs_review": NEEDS_REVIEW,
        "news": await notices_of(db, principal),
        **policy_context(request),
    }
    return render(request, "pages/approvals/list.html", context, partial="partials/approvals/_list.html")


@router.get("/approvals/badge", name="approval_badge")
async def approval_badge(request: Request, db: SessionDep, principal: PrincipalDep) -> Response:
    """For the navigation: requests waiting for this person (approvers), and news on their own requests."""
    count = await waiting_for(db, principal.user_id) if principal.can("approver") else 0
    news = await count_news(db, principal.user_id)
    return render(request, "partials/approvals/_badge.html", {"count": count, "news": news})


OUTCOMES = {
    "executing": "approved, running now",
    "succeeded": "approved and done",
    "failed": "failed",
    "rejected": "rejected",
    "expired": "expired: nobody decided in time",
}


def notice_of(view: RequestView) -> dict[str, Any]:
    """One line of news on a request for its requester: what, how it stands, by whom, and what was said."""
    row = view.row
    failed = row.status == "failed"
    note = (row.result_message or "")[:300] if failed else row.decision_comment
    return {
        "id": row.id,
        "status": row.status,
        "what": row.description,
        "outcome": OUTCOMES.get(row.status, row.status),
        "by": None if row.status == "expired" or failed else row.decided_by_name,
        "note": note,
    }


async def notices_of(db: SessionDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The news on this person's requests, newest first."""
    return [notice_of(RequestView(row)) for row in await news_for(db, principal.user_id)]


@router.get("/approvals/notices", name="approval_notices")
async def approval_notices(request: Request, db: SessionDep, principal: PrincipalDep) -> Response:
    """The news on your requests (approved, rejected, expired, run) since you last looked."""
    news = await notices_of(db, principal)
    return render(request, "partials/approvals/_notices.html", {"news": news})


@router.post("/approvals/notices/seen", name="approval_notices_seen", dependencies=[Depends(verify_csrf)])
async def approval_notices_seen(request: Request, db: SessionDep, principal: PrincipalDep) -> Response:
    """Mark the news on your requests as read."""
    await mark_seen(db, principal.user_id)
    if is_htmx(request):
        return render(request, "partials/approvals/_notices.html", {"news": []})
    return RedirectResponse(path_for(request, "approval_list"), status_code=303)


@router.get("/approvals/{request_id}", name="approval_detail")
async def approval_detail(
    request: Request,
    db: SessionDep,
    approvals: ApprovalsDep,
    actions: ActionsDep,
    principal: PrincipalDep,
    request_id: RequestId,
) -> Response:
    """Who asked, why, the exact parameters, the preview, what changed since, and the decision buttons."""
    return await show_request(request, db, approvals, actions, principal, request_id)


@dataclass(frozen=True)
class DecisionRefused:
    """A decision refused for what was typed in its form ('approve' or 'reject'): the values sent, and the
    field (confirm, comment) the message belongs beside."""

    form: str
    values: dict[str, str]
    field: str
    message: str


async def show_request(
    request: Request,
    db: AsyncSession,
    approvals: ApprovalService,
    actions: ActionService,
    principal: Principal,
    request_id: int,
    refused: DecisionRefused | None = None,
) -> Response:
    """The request's page, or for HTMX its block alone (#request-detail), as it stands now; after a refused
    decision (422), that form with what was typed and the problem beside its field."""
    row = await approvals.get(request_id)
    # Only news is marked read: the page refreshes itself while open, and a pending request has none to mark.
    if row.requester_id == principal.user_id and is_news(row):
        await mark_seen(db, principal.user_id, request_id)
    view = await request_view(db, row)
    context: dict[str, Any] = {"active": "approval_list", "r": view, **policy_context(request)}
    if row.status == "pending":
        context.update(await since_request(actions, view, runtime_of(request.app).batches))
    own = principal.user_id == row.requester_id
    decides = row.status == "pending" and principal.can("approver") and not own
    # An approval the rule could not count (given already, or the groups still missing need someone else) is
    # explained instead of offered.
    approve_refused = view.approve_refusal(principal.user_id, principal.groups) if decides else None
    confirms_own = row.status == "pending" and own and approvals.policy.solo
    context.update(
        own=own,
        may_approve=(decides and not approve_refused) or confirms_own,
        approve_refused=approve_refused,
        may_reject=row.status == "pending" and principal.can("approver") and not own,
        may_cancel=row.status == "pending" and own,
        # Approved and waiting for its window: its requester or an admin can still call it off.
        may_call_off=row.status == "scheduled" and (own or principal.can("admin")),
        # Who may still approve it by name, for approvers, while it waits for approvals.
        people=await approvers_seen_by(db, principal) if row.status == "pending" else None,
        # Break-glass: an admin in this browser session runs it at once; another person reviews it after.
        may_break_glass=row.status == "pending" and principal.can("admin") and principal.method == "session",
        may_review=row.break_glass_by_id is not None
        and row.reviewed_at is None
        and principal.can("approver")
        and principal.user_id not in (row.break_glass_by_id, row.requester_id),
        # A bulk change is asked again from the guest list, choosing the guests as they are then.
        may_ask_again=own
        and row.status in ASKED_AGAIN_FROM
        and principal.can("operator")
        and not row.batch_id,
        typed=needs_typing(row, own),
        confirm_text=confirmation_text(row),
        refused=refused,
    )
    return render(
        request,
        "pages/approvals/detail.html",
        context,
        partial="partials/approvals/_request.html",
        status_code=422 if refused else 200,
    )


async def since_request(actions: ActionService, view: RequestView, batches: BatchService) -> dict[str, Any]:
    """What changed on the target (each guest of a bulk request) since the request ("changes"), or why Proxmox
    could not be read now."""
    row = view.row
    op = get_operation(row.operation)
    vmid = row.vmid if op is not None and op.target == "guest" else None
    try:
        if row.batch_id is not None:
            return {"changes": await batches.drift(row)}
        now = await actions.state_now(row.operation, vmid, view.params)
    except PveError as exc:
        return {"changes_problem": str(exc)}
    return {"changes": differences(view.state, now)}
