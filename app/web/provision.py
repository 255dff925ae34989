"""New guests from the browser: create a container or a VM (/provision), restore a backup as a new guest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.db.models import Role
from app.deps import ActionsDep, PrincipalDep, PveDep, actor_for, require_role
from app.http.csrf import verify_csrf_audited
from app.operations.catalogue import get_operation
from app.services.errors import NotFound
from app.services.provisioning import provision_choices
from app.web.guest_actions import form_params
from app.web.templating import render

router = APIRouter(tags=["provision"], dependencies=[Depends(require_role(Role.operator))])
OperationName = Annotated[str, Path(pattern=r"^[a-z][a-z-]{1,31}$")]


@router.get("/provision", name="provision")
async def provision_page(request: Request, pve: PveDep) -> Response:
    """Forms to create a container from a template or a VM from an ISO, with the next free VMID."""
    choices = await provision_choices(pve)
    return render(request, "pages/provision/index.html", {"active": "provision", "c": choices})


@router.post("/provision/{operation}", name="cluster_action", dependencies=[Depends(verify_csrf_audited)])
async def cluster_action(
    request: Request, principal: PrincipalDep, actions: ActionsDep, operation: OperationName
) -> Response:
    """Run a create or restore operation and follow its task."""
    op = get_operation(operation)
    if op is None or op.target != "cluster":
        raise NotFound(f"There is no create or restore operation '{operation}'.")
    result = await actions.execute(
        principal, actor_for(request, principal), operation, None, await form_params(request)
    )
    return render(request, "partials/guests/_action_result.html", {"result": result})
