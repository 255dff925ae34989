"""Bulk actions from the guest list: choose guests and an operation (GET /guests/bulk, the review form), send it
(POST /guests/bulk), and follow the batch on its page (/batches/{id}), live while it runs, with a Stop."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.deps import (
    ApprovalPolicyDep,
    BatchesDep,
    InventoryDep,
    IpDep,
    PrincipalDep,
    actor_for,
    link_base,
    require_principal,
    require_role,
)
from app.http.csrf import verify_csrf, verify_csrf_audited
from app.operations.catalogue import get_operation
from app.services.accounts import Role
from app.services.batches import BULK_OPERATIONS, MAX_ITEMS, TAG, TAG_LABEL, BatchItem, BatchService
from app.services.cluster import GuestFilter, InventoryService
from app.services.errors import Invalid, ServiceError
from app.services.ips import IpService
from app.web.op_forms import operation_form
from app.web.templating import is_htmx, render
from app.web.url_paths import path_for

router = APIRouter(tags=["bulk"], dependencies=[Depends(require_principal)])
BatchId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,16}$")]
OPERATOR = Depends(require_role(Role.operator))
FORM_ID = "bulk-params"
# The review form's own fields; everything else it sends is the operation's parameters.
OWN_FIELDS = ("csrf_token", "idempotency_key", "operation", "vmid", "reason", "on_failure")


def bulk_offer() -> list[tuple[str, str]]:
    """The operations the guest list offers in bulk, as (name, label)."""
    return [(name, label) for name in BULK_OPERATIONS if (label := bulk_label(name))]


def bulk_label(operation: str) -> str:
    """What the form calls a bulk operation; empty when there is no such one."""
    if operation == TAG:
        return TAG_LABEL
    op = get_operation(operation) if operation in BULK_OPERATIONS else None
    return op.label if op is not None else ""


def operation_label(operation: str) -> str:
    """What a batch's operation is called (migrate, for a batch that empties a node)."""
    op = get_operation(operation)
    return bulk_label(operation) or (op.label if op is not None else operation)


async def chosen_vmids(
    inventory: InventoryService, ips: IpService, scope: str, vmids: list[int], filter_query: str
) -> list[int]:
    """The guests ticked, or every guest the list's filter matches."""
    if scope != "filter":
        return list(dict.fromkeys(vmids))
    try:
        wanted = GuestFilter.model_validate(dict(parse_qsl(filter_query)))
    except ValidationError:
        raise Invalid("The list's filter could not be read; filter the list again.", field="filter") from None
    return [g.vmid for g in (await inventory.matching(wanted, ips)).rows]


async def review_context(
    batches: BatchService,
    inventory: InventoryService,
    policy: ApprovalPolicyDep,
    operation: str,
    vmids: list[int],
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the review form shows: the guests, the operation's fields and the batch's own."""
    tagging = operation == TAG
    # Tagging runs as `configure` (its approval rule); its two fields are the page's own.
    op = get_operation("configure" if tagging else operation) if operation in BULK_OPERATIONS else None
    index = await inventory.index()
    guests = [g for v in vmids if (g := index.resources.guest(v)) is not None]
    choices = await batches.choices(operation, vmids) if op is not None and guests and not tagging else None
    form = None
    if op is not None and choices is not None:
        form = operation_form(op, FORM_ID, options=choices.options(), values=values, errors=errors)
    return {
        "active": "guest_list",
        "op": op,
        "operation": operation,
        "label": bulk_label(operation),
        "tagging": tagging,
        "offer": bulk_offer(),
        "guests": guests,
        "missing": [v for v in vmids if index.resources.guest(v) is None],
        "form": form,
        "needs_approval": op is not None and policy.needs_approval(op),
        "concurrency": batches.concurrency,
        "values": values or {},
        "errors": errors or {},
    }


@router.get("/guests/bulk", name="guest_bulk", dependencies=[OPERATOR])
async def guest_bulk(
    request: Request,
    batches: BatchesDep,
    inventory: InventoryDep,
    ips: IpDep,
    policy: ApprovalPolicyDep,
    operation: Annotated[str, Query(max_length=32)] = "",
    vmid: Annotated[list[int] | None, Query()] = None,
    scope: Annotated[str, Query(max_length=16)] = "selected",
    filter: Annotated[str, Query(max_length=1000)] = "",  # noqa: A002 (the list's own word for it)
) -> Response:
    """Review a bulk action before sending it: which guests, the operation's parameters, the reason."""
    vmids = await chosen_vmids(inventory, ips, scope, vmid or [], filter)
    errors = {}
    if operation not in BULK_OPERATIONS:
        errors["operation"] = "Choose what to do with the guests."
    if not vmids:
        errors["vmid"] = "Tick the guests to act on in the list first (or choose all that match the filter)."
    if len(vmids) > MAX_ITEMS:
        errors["vmid"] = f"{len(vmids)} guests match: at most {MAX_ITEMS} at once; narrow the filter."
        vmids = []
    context = await review_context(batches, inventory, policy, operation, vmids, errors=errors)
    return render(request, "pages/guests/bulk.html", context)


@router.post("/guests/bulk", name="guest_bulk_start", dependencies=[Depends(verify_csrf_audited), OPERATOR])
async def guest_bulk_start(
    request: Request,
    principal: PrincipalDep,
    batches: BatchesDep,
    inventory: InventoryDep,
    policy: ApprovalPolicyDep,
) -> Response:
    """Start the batch (to its page), or ask for it as one request (to the request's page); a refusal brings
    the review form back with the problem beside its field."""
    form = await request.form()
    operation = str(form.get("operation") or "")
    vmids = [int(v) for v in form.getlist("vmid") if isinstance(v, str) and v.isdigit()]
    params = {k: v for k, v in form.items() if k not in OWN_FIELDS and isinstance(v, str) and v != ""}
    reason = str(form.get("reason") or "")
    key = form.get("idempotency_key")
    try:
        if operation not in BULK_OPERATIONS:
            raise Invalid("Choose what to do with the guests.", field="operation")
        batch_id = await batches.start(
            principal,
            operation,
            [BatchItem(v, params) for v in vmids],
            reason=reason,
            source=actor_for(request, principal),
            stop_on_failure=form.get("on_failure") == "stop",
            link_base=link_base(request),
            key=key if isinstance(key, str) and key else None,
        )
    except ServiceError as exc:
        errors = exc.errors or {exc.field or "": exc.message}
        values = {**params, "reason": reason, "on_failure": str(form.get("on_failure") or "")}
        context = await review_context(batches, inventory, policy, operation, vmids, values, errors)
        return render(request, "pages/guests/bulk.html", context, status_code=exc.status)
    view = await batches.get(batch_id)
    if view.approval_id is not None:
        target = path_for(request, "approval_detail", request_id=view.approval_id)
    else:
        target = path_for(request, "batch_detail", batch_id=batch_id)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Location": target})
    return RedirectResponse(target, status_code=303)


# Batches the list shows: the newest, of every kind.
LISTED = 100
KIND_LABELS = {"bulk": "bulk action", "empty-node": "emptying a node", "bring-back": "bringing guests back"}


@router.get("/batches", name="batch_list")
async def batch_list(request: Request, batches: BatchesDep) -> Response:
    """The newest batches, so that one can be found again after its page was left."""
    summaries = await batches.summaries(LISTED)
    labels = {s.operation: operation_label(s.operation) for s in summaries}
    context = {"active": "guest_list", "batches": summaries, "labels": labels, "kinds": KIND_LABELS}
    return render(request, "pages/batches/list.html", context)


@router.get("/batches/{batch_id}", name="batch_detail")
async def batch_detail(request: Request, batches: BatchesDep, batch_id: BatchId) -> Response:
    """Each guest's progress and result; the block refreshes itself while the batch runs."""
    view = await batches.get(batch_id)
    context = {"active": "guest_list", "batch": view, "op": get_operation(view.operation)}
    return render(request, "pages/batches/detail.html", context, partial="partials/batches/_batch.html")


@router.post("/batches/{batch_id}/stop", name="batch_stop", dependencies=[Depends(verify_csrf), OPERATOR])
async def batch_stop(
    request: Request, principal: PrincipalDep, batches: BatchesDep, batch_id: BatchId
) -> Response:
    """Skip the guests not started yet; the running ones finish."""
    view = await batches.stop(batch_id, principal, actor_for(request, principal))
    context = {"active": "guest_list", "batch": view, "op": get_operation(view.operation)}
    return render(request, "pages/batches/detail.html", context, partial="partials/batches/_batch.html")
