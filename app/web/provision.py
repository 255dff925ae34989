"""New guests from the browser: create a container or a VM (/provision), restore a backup as a new guest.

A refused form comes back with every problem beside its field and what the person typed still in it; a
refusal that concerns no field (a locked guest, a missing role) is a toast as everywhere else.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.deps import GateDep, PrincipalDep, PveDep, require_role
from app.http.csrf import verify_csrf_audited
from app.operations.base import Operation, Refused
from app.operations.catalogue import get_operation
from app.operations.clone import archive_kind
from app.operations.placement import fitting_storages
from app.services.accounts import Role
from app.services.cluster import provision_choices
from app.services.errors import NotFound, ServiceError
from app.services.pipeline import field_errors
from app.web.forms import FormState, form_again
from app.web.guest_actions import form_params, submit_form
from app.web.restore_form import RestoreForm
from app.web.templating import is_htmx, render

router = APIRouter(tags=["provision"], dependencies=[Depends(require_role(Role.operator))])
OperationName = Annotated[str, Path(pattern=r"^[a-z][a-z-]{1,31}$")]
PAGE = "pages/provision/index.html"
FORMS = {"create-ct": ("ct", "create-ct-form"), "create-vm": ("vm", "create-vm-form")}
FORM_ID = re.compile(r"^restore-[0-9a-f]{12}$")


@router.get("/provision", name="provision")
async def provision_page(request: Request, pve: PveDep) -> Response:
    """Forms to create a container from a template or a VM from an ISO, with the next free VMID."""
    context = {"active": "provision", "c": await provision_choices(pve)}
    context.update({key: FormState(form_id) for key, form_id in FORMS.values()})
    return render(request, PAGE, context)


@router.post("/provision/{operation}", name="cluster_action", dependencies=[Depends(verify_csrf_audited)])
async def cluster_action(
    request: Request, principal: PrincipalDep, gate: GateDep, pve: PveDep, operation: OperationName
) -> Response:
    """Run a create or restore operation and follow its task (deleting a backup becomes a request for
    approval); a refused form comes back with its problems."""
    op = get_operation(operation)
    if op is None or op.target != "cluster":
        raise NotFound(f"There is no create, restore or backup operation '{operation}'.")
    params = await form_params(request)
    form_id = str(params.pop("form_id", ""))
    try:
        return await submit_form(request, principal, gate, operation, None, params)
    except ServiceError as exc:
        errors = field_errors(op, params, exc)
        restore_form = is_htmx(request) and bool(FORM_ID.match(form_id))
        if not errors or (op.name not in FORMS and not restore_form):
            raise
        return await refused_form(request, pve, op, params, errors, exc.status, form_id)


async def refused_form(
    request: Request,
    pve: Any,
    op: Operation,
    params: dict[str, Any],
    errors: dict[str, str],
    status: int,
    form_id: str,
) -> Response:
    """The refused form again, in place of the one sent: the messages beside the fields, the values kept."""
    if op.name in FORMS:
        key, form_id = FORMS[op.name]
        context: dict[str, Any] = {"c": await provision_choices(pve)}
        context.update({k: FormState(i) for k, i in FORMS.values()})
        context[key] = FormState(form_id, params, errors)
        partial = f"partials/provision/_{op.name.replace('-', '_')}.html"
    else:
        node, archive = str(params.get("node", "")), str(params.get("archive", ""))
        try:
            storages = await fitting_storages(
                pve, node, "images" if archive_kind(archive) == "qemu" else "rootdir"
            )
        except Refused:
            storages = []
        context = {"r": RestoreForm(archive, node, storages, params, errors)}
        partial = "partials/guests/_restore_form.html"
    if not is_htmx(request):
        return render(request, PAGE, {"active": "provision", **context}, status_code=status)
    return form_again(request, form_id, partial, context, status)
