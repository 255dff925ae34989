"""Actions from the pages: POST /guests/{vmid}/actions/{operation} with the operation's form fields.

A change that runs now answers with what started (its task followed live); one that needs approval becomes
a request, and the browser is sent to the request's page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import DetailDep, GateDep, PrincipalDep, actor_for, link_base, require_principal
from app.http.csrf import verify_csrf_audited
from app.operations.catalogue import get_operation
from app.services.accounts import Principal
from app.services.errors import ServiceError
from app.services.pipeline import Gate, Submitted
from app.web.guest_form_errors import refused_guest_form
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


async def submit_form(
    request: Request,
    principal: Principal,
    gate: Gate,
    operation: str,
    vmid: int | None,
    params: dict[str, Any] | None = None,
) -> Response:
    """Send a form's change through the gate; show what started, or go to the new request's page."""
    params = params if params is not None else await form_params(request)
    actor = actor_for(request, principal)
    key = await form_key(request)
    submitted = await gate.submit(principal, actor, operation, vmid, params, link_base(request), key)
    return answer_submitted(request, submitted)


def answer_submitted(request: Request, submitted: Submitted) -> Response:
    """What started, or the new request's page: HTMX is sent there (HX-Location), a plain form redirected."""
    if submitted.request is not None:
        target = path_for(request, "approval_detail", request_id=submitted.request.id)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Location": target})
        return RedirectResponse(target, status_code=303)
    return render(request, "partials/guests/_action_result.html", {"result": submitted.result})


@router.post(
    "/guests/{vmid}/actions/{operation}", name="guest_action", dependencies=[Depends(verify_csrf_audited)]
)
async def guest_action(
    request: Request,
    principal: PrincipalDep,
    gate: GateDep,
    service: DetailDep,
    vmid: Vmid,
    operation: OperationName,
) -> Response:
    """Run the operation now, or request it when it needs a second person's approval; a refused form comes
    back with its problems beside its fields."""
    params = await form_params(request)
    try:
        return await submit_form(request, principal, gate, operation, vmid, params)
    except ServiceError as exc:
        op = get_operation(operation)
        again = await refused_guest_form(request, service, op, vmid, params, exc) if op else None
        if again is None:
            raise
        return again
