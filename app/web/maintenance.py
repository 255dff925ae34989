"""The node page's maintenance card: the plan that empties the node, starting it as a batch of migrations, and
bringing the guests back afterwards; the batch page follows each guest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import MaintenanceDep, PrincipalDep, actor_for, link_base, require_principal
from app.http.csrf import verify_csrf_audited
from app.services.batches import BatchView
from app.web.guest_actions import form_params
from app.web.templating import is_htmx, render
from app.web.url_paths import path_for

router = APIRouter(tags=["maintenance"], dependencies=[Depends(require_principal)])
NodeParam = Annotated[str, Path(max_length=64)]
# Empty-node batches of the node the card offers to undo, newest first.
RECENT_BATCHES = 3


def _to_batch(request: Request, batch: BatchView) -> Response:
    """The batch's page, or the request's while it waits for another person's approval."""
    if batch.approval_id is not None:
        target = path_for(request, "approval_detail", request_id=batch.approval_id)
    else:
        target = path_for(request, "batch_detail", batch_id=batch.id)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Location": str(target)})
    return RedirectResponse(str(target), status_code=303)


@router.get("/nodes/{node}/maintenance", name="node_maintenance")
async def maintenance_card(request: Request, node: NodeParam, service: MaintenanceDep) -> Response:
    """The node page's card: the way to the plan that empties the node, and its recent empty-node batches."""
    recent = await service.recent(node, RECENT_BATCHES)
    return render(request, "partials/nodes/_maintenance.html", {"node": node, "recent": recent})


@router.get("/nodes/{node}/empty", name="node_empty_plan")
async def empty_plan(
    request: Request,
    node: NodeParam,
    service: MaintenanceDep,
    with_local_disks: Annotated[bool, Query()] = False,
) -> Response:
    """Where each guest would go now and why, and the form that starts it (the plan alone for HTMX)."""
    plan = await service.plan(node, with_local_disks)
    context = {"active": "dashboard", "plan": plan, "with_local_disks": with_local_disks}
    return render(request, "pages/nodes/empty.html", context, partial="partials/nodes/_empty_plan.html")


@router.post("/nodes/{node}/empty", name="node_empty", dependencies=[Depends(verify_csrf_audited)])
async def empty(
    request: Request, node: NodeParam, principal: PrincipalDep, service: MaintenanceDep
) -> Response:
    """Start the plan as a batch and go to its page."""
    params = await form_params(request)
    actor = actor_for(request, principal)
    batch, _plan = await service.empty(principal, actor, node, params, link_base(request))
    return _to_batch(request, batch)


@router.post("/nodes/{node}/bring-back", name="node_bring_back", dependencies=[Depends(verify_csrf_audited)])
async def bring_back(
    request: Request, node: NodeParam, principal: PrincipalDep, service: MaintenanceDep
) -> Response:
    """Migrate the guests an empty-node batch moved back to the node, as a new batch; go to its page."""
    params = await form_params(request)
    from_batch = str(params.pop("batch_id", ""))
    actor = actor_for(request, principal)
    batch, _plan = await service.bring_back(principal, actor, node, from_batch, params, link_base(request))
    return _to_batch(request, batch)
