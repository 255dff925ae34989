"""The guest page's edit form: GET /guests/{vmid}/edit draws it from the config as it is now; POST sends what
changed through the `configure` operation, with the digest it was drawn from. A form Proxmox refuses because
someone changed the guest meanwhile comes back saying what changed, with what was typed still in it."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.deps import DetailDep, GateDep, PrincipalDep, require_principal
from app.http.csrf import verify_csrf_audited
from app.services.accounts import Principal
from app.services.cluster import EditSource
from app.services.errors import Forbidden, ServiceError
from app.web.forms import form_again
from app.web.guest_actions import answer_submitted, send_form
from app.web.guest_edit_changes import changed_params, kept_typing, what_changed
from app.web.guest_edit_form import EditForm
from app.web.templating import render

router = APIRouter(tags=["actions"], dependencies=[Depends(require_principal)])
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]
PAGE = "pages/guests/edit.html"
PAGE = "pages/guests/edit.html"
FORM = "partials/guests/_edit_form.html"
CLOSED = "partials/guests/_edit_closed.html"
NOT_TYPED = ("csrf_token", "idempotency_key", "digest", "original", "reason")


@router.get("/guests/{vmid}/edit", name="guest_edit")
async def guest_edit(request: Request, vmid: Vmid, details: DetailDep, principal: PrincipalDep) -> Response:
    """The edit form, drawn from the guest's config as Proxmox has it now (a page of its own without HTMX)."""
    operator_only(principal)
    source = await details.edit_source(vmid)
    context = {"f": EditForm(source), "guest": source.guest, "original": _original(source)}
    return render(request, PAGE, {**context, "active": "guest_list"}, partial=FORM)


@router.post("/guests/{vmid}/edit", name="guest_edit_save", dependencies=[Depends(verify_csrf_audited)])
async def guest_edit_save(
    request: Request, vmid: Vmid, details: DetailDep, gate: GateDep, principal: PrincipalDep
) -> Response:
    """Send what changed as one `configure` change; the form again with its problems when it is refused."""
    operator_only(principal)
    form = await request.form()
    typed = {k: v for k, v in form.items() if isinstance(v, str) and k not in NOT_TYPED}
    now = await details.edit_source(vmid)
    drawn = _drawn_from(now, str(form.get("original") or ""), str(form.get("digest") or ""))
    updates, deletes = changed_params(drawn, typed)
    if not updates and not deletes:
        return _again(request, EditForm(drawn, typed, problem="Nothing was changed."), drawn, 422)
    params: dict[str, Any] = {**updates, "digest": drawn.digest or None, "reason": form.get("reason") or None}
    if deletes:
        params["delete"] = ",".join(deletes)
    try:
        submitted = await send_form(request, principal, gate, "configure", vmid, params)
    except ServiceError as exc:
        if exc.field != "digest":
            errors = exc.errors or {exc.field or "": exc.message}
            return _again(request, EditForm(drawn, typed, errors, problem=exc.message), drawn, exc.status)
        # Stale: the form now starts from the config as it is, keeping what was typed over it.
        changed = what_changed(drawn.config, now.config)
        again = EditForm(now, kept_typing(drawn, now, typed), stale=changed, problem=exc.message)
        return _again(request, again, now, exc.status)
    return answer_submitted(request, submitted, {"fresh": True, "fresh_partial": CLOSED, "guest": now.guest})


def operator_only(principal: Principal) -> None:
    """Editing a guest needs the operator role; others are told before anything is read."""
    if not principal.can("operator"):
        raise Forbidden(f"Editing a guest needs the operator role; you are {principal.role}.")


def _original(source: EditSource) -> str:
    """The config the form is drawn from, sent back with it (secrets left out) to tell what was changed."""
    return json.dumps({k: v for k, v in source.config.items() if k not in ("digest", "cipassword")})


def _drawn_from(now: EditSource, original: str, digest: str) -> EditSource:
    """The source the sent form was drawn from: its config and digest as it carried them."""
    try:
        config = json.loads(original) if original else None
    except ValueError:
        config = None
    if not isinstance(config, dict):
        return now
    return EditSource(now.guest, {**config, "digest": digest}, now.bridges, now.pending)


def _again(request: Request, form: EditForm, source: EditSource, status: int) -> Response:
    context = {"f": form, "guest": source.guest, "original": _original(source)}
    return form_again(request, "guest-edit-form", FORM, context, status)
