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
from app.operations.catalogue import CATALOGUE, get_operation
from app.operations.clone import archive_kind
from app.operations.placement import fitting_storages
from app.services.accounts import Role
from app.services.cluster import ProvisionChoices, provision_choices
from app.services.errors import NotFound, PveError, ServiceError
from app.services.pipeline import field_errors
from app.web.forms import form_again
from app.web.guest_actions import answer_submitted, form_params, send_form
from app.web.op_forms import OperationForm, OptionList, operation_form
from app.web.restore_form import RestoreForm
from app.web.templating import is_htmx, render

router = APIRouter(tags=["provision"], dependencies=[Depends(require_role(Role.operator))])
OperationName = Annotated[str, Path(pattern=r"^[a-z][a-z-]{1,31}$")]
PAGE = "pages/provision/index.html"
PARTIAL = "partials/provision/_create.html"
# The operations this page offers a form of.
FORMS = ("create-ct", "create-vm")
FORM_ID = re.compile(r"^restore-[0-9a-f]{12}$")


def create_forms(
    choices: ProvisionChoices,
    refused: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, OperationForm]:
    """The create forms by operation; the refused one with what was typed and its problems."""
    lists, forms = provision_options(choices), {}
    for name in FORMS:
        mine = name == refused
        form = operation_form(
            CATALOGUE[name],
            f"{name}-form",
            options=lists,
            values=values if mine else None,
            errors=errors if mine else None,
        )
        assert form is not None  # noqa: S101 (each required choice of a create form says what is missing)
        vmid = form.get("vmid")
        if vmid is not None and choices.next_vmid is not None:
            vmid.attrs["placeholder"] = f"next free: {choices.next_vmid}"
        forms[name] = form
    return forms


def provision_options(choices: ProvisionChoices) -> dict[str, OptionList]:
    """The lists the create forms' selects offer, by the names the catalogue's widgets give."""

    def volume(volid: str) -> tuple[str, str]:
        only = choices.only_on(volid)
        where = f"; {', '.join(only)} only" if only else ""
        return volid, f"{volid.split('/')[-1]} ({volid.split(':')[0]}{where})"

    return {
        "nodes": choices.nodes,
        "image-storages": choices.disk_storages,
        "rootdir-storages": choices.rootfs_storages,
        "isos": [volume(v) for v in choices.isos],
        "ct-templates": [volume(v) for v in choices.templates],
        "bridges": choices.bridges,
    }


@router.get("/provision", name="provision")
async def provision_page(request: Request, pve: PveDep) -> Response:
    """Forms to create a container from a template or a VM from an ISO, with the next free VMID."""
    choices = await provision_choices(pve)
    context = {"active": "provision", "c": choices, "forms": create_forms(choices)}
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
        submitted = await send_form(request, principal, gate, operation, None, params)
    except ServiceError as exc:
        errors = field_errors(op, params, exc)
        restore_form = is_htmx(request) and bool(FORM_ID.match(form_id))
        if not errors or (op.name not in FORMS and not restore_form):
            raise
        return await refused_form(request, pve, op, params, errors, exc.status, form_id)
    fresh = submitted.result is not None and is_htmx(request) and op.name in FORMS
    return answer_submitted(request, submitted, await fresh_form(pve, op) if fresh else None)


async def fresh_form(pve: Any, op: Operation) -> dict[str, Any]:
    """After a guest was created: its form again as new (no values, no old problems, the next free VMID), in
    place of the one sent, so a second click is refused for what it lacks rather than making a second guest."""
    try:
        choices = await provision_choices(pve)
    except PveError:
        return {}  # Proxmox went away just after creating: the form cannot be drawn again, and stays
    return {"fresh": create_forms(choices)[op.name], "fresh_partial": PARTIAL}


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
        choices = await provision_choices(pve)
        forms = create_forms(choices, op.name, params, errors)
        context: dict[str, Any] = {"c": choices, "forms": forms, "f": forms[op.name]}
        partial, form_id = PARTIAL, f"{op.name}-form"
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
