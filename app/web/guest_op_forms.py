"""The guest page's operation forms answered in place: a refused form comes back with each problem beside its
field, what was typed still in it and the first such field focused; after a change ran, a fresh form (a new
snapshot name, a new one-time key) takes the place of the one sent, so the next click is a new change."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.operations.base import Operation
from app.services.approvals import ApprovalPolicy
from app.services.cluster import GuestDetailService
from app.services.errors import PveError, ServiceError
from app.services.pipeline import field_errors
from app.web.forms import form_again
from app.web.guest_forms import GuestForm, one_form, proposed
from app.web.templating import is_htmx

PARTIAL = "partials/guests/_op_form.html"


def own_form(op: Operation | None) -> bool:
    """True for an operation the guest page asks for with a form of its own (not a one-click button)."""
    return op is not None and op.target == "guest" and op.form.fields


async def refused_form(
    request: Request,
    details: GuestDetailService,
    policy: ApprovalPolicy,
    op: Operation | None,
    vmid: int,
    sent: dict[str, Any],
    exc: ServiceError,
) -> Response:
    """The refused form in place of the one sent (422/409) when the refusal names its fields; else `exc` is
    raised again and becomes a toast, as a refusal about no field (a lock, a role) should."""
    if op is None or not own_form(op) or not is_htmx(request):
        raise exc
    params = {k: v for k, v in sent.items() if k in op.params.model_fields}
    errors = {k: v for k, v in field_errors(op, params, exc).items() if k in op.params.model_fields}
    if not errors:
        raise exc
    try:
        view = await details.detail(vmid)
        form = one_form(view, await details.form_choices(view), policy, op, sent, errors)
    except (PveError, ServiceError):
        raise exc from None
    if form is None or form.form.get(next(iter(errors))) is None:
        raise exc
    context = {"f": form, "guest": view.guest, "policy": policy}
    return form_again(request, form.form.id, PARTIAL, context, exc.status)


async def fresh_form(
    details: GuestDetailService, policy: ApprovalPolicy, op: Operation | None, vmid: int, sent: dict[str, Any]
) -> dict[str, Any]:
    """What the answer to a change that ran needs to put a fresh form in place of the sent one ({} for a
    one-click button, or when the guest cannot be read now: the form then stays as it was)."""
    if op is None or not own_form(op):
        return {}
    try:
        view = await details.detail(vmid)
        choices = await details.form_choices(view)
    except (PveError, ServiceError):
        return {}
    form: GuestForm | None = one_form(view, choices, policy, op, proposed(op, view, sent))
    return {"fresh": form, "fresh_partial": PARTIAL, "guest": view.guest, "policy": policy} if form else {}
