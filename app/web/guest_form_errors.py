"""A guest page form the pipeline refused comes back in place of the one sent, each problem beside its field
and what was chosen still in it (a target node that cannot take the guest, a choice a running VM needs)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.deps import runtime_of
from app.operations.base import Operation
from app.services.cluster import GuestDetailService
from app.services.errors import ServiceError
from app.services.pipeline import field_errors
from app.web.forms import form_again
from app.web.guest_forms import guest_form, guest_options
from app.web.op_forms import operation_form
from app.web.templating import is_htmx

PARTIAL = "partials/guests/_operation_form.html"


async def refused_guest_form(
    request: Request,
    service: GuestDetailService,
    op: Operation,
    vmid: int,
    params: dict[str, Any],
    exc: ServiceError,
) -> Response | None:
    """The operation's form again with its problems; None when they belong beside no field it shows (a toast)."""
    errors = field_errors(op, params, exc)
    if not errors or not is_htmx(request) or op.target != "guest":
        return None
    view = await service.detail(vmid)
    options = guest_options(view, await service.form_choices(view))
    form = operation_form(
        op, f"{op.name}-form", guest=view.guest, options=options, prefix=op.name, values=params, errors=errors
    )
    if form is None or not set(errors) <= {f.name for f in form.fields}:
        return None
    policy = runtime_of(request.app).approval_policy
    context = {
        "f": guest_form(form, view.guest, policy.needs_approval(op)),
        "guest": view.guest,
        "policy": policy,
    }
    return form_again(request, f"{op.name}-form-box", PARTIAL, context, exc.status)
