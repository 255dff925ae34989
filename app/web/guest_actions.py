"""Actions from the pages: POST /guests/{vmid}/actions/{operation} with the operation's form fields."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.deps import ActionsDep, PrincipalDep, actor_for, require_principal
from app.web.csrf import verify_csrf_audited
from app.web.templating import render

router = APIRouter(tags=["actions"], dependencies=[Depends(require_principal)])
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]
OperationName = Annotated[str, Path(pattern=r"^[a-z][a-z-]{1,31}$")]


async def form_params(request: Request) -> dict[str, Any]:
    """The form's fields without the CSRF token; empty fields mean 'use the default'."""
    form = await request.form()
    return {k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str) and v != ""}


@router.post(
    "/guests/{vmid}/actions/{operation}", name="guest_action", dependencies=[Depends(verify_csrf_audited)]
)
async def guest_action(
    request: Request, principal: PrincipalDep, actions: ActionsDep, vmid: Vmid, operation: OperationName
) -> Response:
    """Run the operation now and show what started, following its task live."""
    params = await form_params(request)
    result = await actions.execute(principal, actor_for(request, principal), operation, vmid, params)
    return render(request, "partials/guests/_action_result.html", {"result": result})
