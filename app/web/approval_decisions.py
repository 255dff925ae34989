"""Deciding a request on its page (approve, reject, cancel), which updates the page in place, and asking again
for the change of one that ended without running, which leads to the new request's page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from app.deps import (
    ActionsDep,
    ApprovalsDep,
    GateDep,
    PrincipalDep,
    SessionDep,
    actor_for,
    link_base,
    require_principal,
    require_role,
)
from app.http.csrf import verify_csrf
from app.services.accounts import Principal, Role
from app.services.approvals import ApprovalService
from app.services.approvals import review as review_run
from app.services.errors import Invalid
from app.services.pipeline import ActionService
from app.web.approvals import DecisionRefused, RequestId, show_request
from app.web.guest_actions import answer_submitted, form_key
from app.web.templating import is_htmx
from app.web.url_paths import path_for

router = APIRouter(tags=["approvals"], dependencies=[Depends(require_principal)])
# Viewers never decide anything; the service checks who may decide which request.
DECIDE = [Depends(require_role(Role.operator)), Depends(verify_csrf)]
# Sent with a decision: the navigation's badge counts again.
DECIDED_EVENT = "approvals-changed"
# The fields of the decision forms a refusal can be shown beside.
DECISION_FIELDS = ("confirm", "comment", "reason")


async def _decided(
    request: Request,
    db: AsyncSession,
    approvals: ApprovalService,
    actions: ActionService,
    principal: Principal,
    request_id: int,
) -> Response:
    """The request as it stands after the decision: HTMX swaps its block in place (the header, navigation and
    address stay); a plain form is sent back to the page."""
    if not is_htmx(request):
        return RedirectResponse(path_for(request, "approval_detail", request_id=request_id), status_code=303)
    response = await show_request(request, db, approvals, actions, principal, request_id)
    response.headers["HX-Trigger"] = DECIDED_EVENT
    return response


async def _refused(
    request: Request,
    db: AsyncSession,
    approvals: ApprovalService,
    actions: ActionService,
    principal: Principal,
    request_id: int,
    form_name: str,
    form: dict[str, str],
    exc: Invalid,
) -> Response:
    """A decision refused for what was typed: HTMX gets the block again (422) with the message beside the
    field, what was typed still in the form and the field focused; other refusals stay toasts."""
    if not is_htmx(request) or exc.field not in DECISION_FIELDS:
        raise exc
    values = {k: v for k, v in form.items() if k in DECISION_FIELDS}
    refused = DecisionRefused(form_name, values, exc.field, exc.message)
    return await show_request(request, db, approvals, actions, principal, request_id, refused)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/approvals/{request_id}/approve", name="approval_approve", dependencies=DECIDE)
async def approval_approve(
    request: Request,
    db: SessionDep,
    gate: GateDep,
    approvals: ApprovalsDep,
    actions: ActionsDep,
    principal: PrincipalDep,
    request_id: RequestId,
) -> Response:
    """Approve (typing the VMID for a change that loses data); the last approval runs the change."""
    form = await _form(request)
    actor = actor_for(request, principal)
    try:
        await gate.approve(
            request_id, principal, actor, form.get("comment"), form.get("confirm"), form.get("seal")
        )
    except Invalid as exc:
        return await _refused(request, db, approvals, actions, principal, request_id, "approve", form, exc)
    return await _decided(request, db, approvals, actions, principal, request_id)


@router.post("/approvals/{request_id}/reject", name="approval_reject", dependencies=DECIDE)
async def approval_reject(
    request: Request,
    db: SessionDep,
    approvals: ApprovalsDep,
    actions: ActionsDep,
    principal: PrincipalDep,
    request_id: RequestId,
) -> Response:
    """Reject, saying why."""
    form = await _form(request)
    try:
        await approvals.reject(request_id, principal, actor_for(request, principal), form.get("comment"))
    except Invalid as exc:
        return await _refused(request, db, approvals, actions, principal, request_id, "reject", form, exc)
    return await _decided(request, db, approvals, actions, principal, request_id)


@router.post("/approvals/{request_id}/break-glass", name="approval_break_glass", dependencies=DECIDE)
async def approval_break_glass(
    request: Request,
    db: SessionDep,
    gate: GateDep,
    approvals: ApprovalsDep,
    actions: ActionsDep,
    principal: PrincipalDep,
    request_id: RequestId,
) -> Response:
    """An admin runs the request at once, saying why (the service refuses anyone else)."""
    form = await _form(request)
    try:
        await gate.break_glass(request_id, principal, actor_for(request, principal), form.get("reason"))
    except Invalid as exc:
        return await _refused(
            request, db, approvals, actions, principal, request_id, "break-glass", form, exc
        )
    return await _decided(request, db, approvals, actions, principal, request_id)


@router.post("/approvals/{request_id}/review", name="approval_review", dependencies=DECIDE)
async def approval_review(
    request: Request,
    db: SessionDep,
    approvals: ApprovalsDep,
    actions: ActionsDep,
    principal: PrincipalDep,
    request_id: RequestId,
) -> Response:
    """Someone other than the admin who broke the glass records their review."""
    form = await _form(request)
    actor = actor_for(request, principal)
    try:
        await review_run(approvals, request_id, principal, actor, form.get("comment"))
    except Invalid as exc:
        return await _refused(request, db, approvals, actions, principal, request_id, "review", form, exc)
    return await _decided(request, db, approvals, actions, principal, request_id)


@router.post("/approvals/{request_id}/cancel", name="approval_cancel", dependencies=DECIDE)
async def approval_cancel(
    request: Request,
    db: SessionDep,
    approvals: ApprovalsDep,
    actions: ActionsDep,
    principal: PrincipalDep,
    request_id: RequestId,
) -> Response:
    """The requester takes a pending request back; the requester or an admin calls off a scheduled one."""
    await approvals.cancel(request_id, principal, actor_for(request, principal))
    return await _decided(request, db, approvals, actions, principal, request_id)


@router.post("/approvals/{request_id}/again", name="approval_again", dependencies=DECIDE)
async def approval_again(
    request: Request, gate: GateDep, principal: PrincipalDep, request_id: RequestId
) -> Response:
    """The requester asks again for the change of a failed, expired or rejected request: the same operation,
    parameters and reason through the normal pipeline; the browser goes to the new request's page."""
    actor = actor_for(request, principal)
    key = await form_key(request)
    submitted = await gate.ask_again(request_id, principal, actor, link_base(request), key)
    return answer_submitted(request, submitted)
