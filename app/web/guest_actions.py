"""Actions from the pages: POST /guests/{vmid}/actions/{operation} with the operation's form fields.

A change that runs now answers with what started (its task followed live); one that needs approval becomes
a request, and the browser is sent to the request's page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import (
    ApprovalPolicyDep,
    DetailDep,
    GateDep,
    PrincipalDep,
    actor_for,
    link_base,
    require_principal,
)
from app.http.csrf import verify_csrf_audited
from app.operations.catalogue import get_operation
from app.services.accounts import Principal
from app.services.errors import ServiceError
from app.services.pipeline import Gate, Submitted
from app.web.guest_op_forms import fresh_form, refused_form
from app.web.templating import is_htmx, render
from app.web.url_paths import path_for

router = APIRouter(tags=["actions"], dependencies=[Depends(require_principal)])
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]
OperationName = Annotated[str, Path(pattern=r"^[a-z][a-z-]{1,31}$")]
KEY_FIELD = "idempotency_key"


async def form_params(request: Request) -> dict[str, Any]:
    """The operation's fields of the form (not its CSRF token or one-time key); empty ones use the default."""
    form = await request.form()
    return {
        k: v for k, v in form.items() if k not in ("csrf_token", KEY_FIELD) and isinstance(v, str) and v != ""
    }


async def form_key(request: Request) -> str | None:
    """The form's one-time key, if it has one."""
    value = (await request.form()).get(KEY_FIELD)
    return value if isinstance(value, str) and value else None


async def send_form(
    request: Request,
    principal: Principal,
    gate: Gate,
    operation: str,
    vmid: int | None,
    params: dict[str, Any],
) -> Submitted:
    """Send a form's change through the gate, with the form's one-time key."""
    actor, key = actor_for(request, principal), await form_key(request)
    return await gate.submit(principal, actor, operation, vmid, params, link_base(request), key)


def answer_submitted(
    request: Request, submitted: Submitted, context: dict[str, Any] | None = None
) -> Response:
    """What started (with `context`: a fresh form in place of the one sent), or the new request's page: HTMX
    is sent there (HX-Location), a plain form redirected."""
    if submitted.request is not None:
        target = path_for(request, "approval_detail", request_id=submitted.request.id)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Location": target})
        return RedirectResponse(target, status_code=303)
    return render(
        request, "partials/guests/_action_result.html", {"result": submitted.result, **(context or {})}
    )


@router.post(
    "/guests/{vmid}/actions/{operation}", name="guest_action", dependencies=[Depends(verify_csrf_audited)]
)
async def guest_action(
    request: Request,
    principal: PrincipalDep,
    gate: GateDep,
    details: DetailDep,
    policy: ApprovalPolicyDep,
    vmid: Vmid,
    operation: OperationName,
) -> Response:
    """Run the operation now, or request it when it needs a second person's approval; a form refused for
    its fields comes back with the problems beside them, and one that ran is replaced by a fresh one."""
    op, sent = get_operation(operation), await form_params(request)
    try:
        submitted = await send_form(request, principal, gate, operation, vmid, sent)
    except ServiceError as exc:
        return await refused_form(request, details, policy, op, vmid, sent, exc)
    ran = submitted.result is not None and is_htmx(request)
    fresh = await fresh_form(details, policy, op, vmid, sent) if ran else {}
    return answer_submitted(request, submitted, fresh)
