"""The appliance templates Proxmox offers a node (/nodes/{node}/appliances, a section of the node page and of
"New guest"), searchable, marked where the node holds them, each with a Download onto a template storage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from app.deps import PrincipalDep, PveDep, require_principal
from app.services.accounts import Role
from app.services.cluster import NODE_PATTERN, list_appliances
from app.services.errors import PveError
from app.web.templating import render

router = APIRouter(tags=["nodes"], dependencies=[Depends(require_principal)])
NodeParam = Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")]
# Rows shown before the list says to search for the rest.
SHOWN = 40


Search = Annotated[str, Query(max_length=100)]


@router.get("/nodes/{node}/appliances", name="node_appliances")
async def node_appliances(
    request: Request, pve: PveDep, principal: PrincipalDep, node: NodeParam, q: Search = ""
) -> Response:
    """The node's appliance index (only what matches q), the copies it holds, and a Download per template for
    operators."""
    return await appliance_list(request, pve, principal, node, q)


@router.get("/provision/appliances", name="provision_appliances")
async def provision_appliances(
    request: Request,
    pve: PveDep,
    principal: PrincipalDep,
    node: Annotated[str, Query(max_length=64)],
    q: Search = "",
) -> Response:
    """The list of "New guest", for the node chosen there."""
    return await appliance_list(request, pve, principal, node, q)


async def appliance_list(
    request: Request, pve: PveDep, principal: PrincipalDep, node: str, q: str
) -> Response:
    """The page, or for HTMX the list alone."""
    context: dict[str, Any] = {
        "active": "dashboard",
        "node": node,
        "q": q,
        "shown": SHOWN,
        "can_download": principal.can(Role.operator),
    }
    try:
        context["found"] = await list_appliances(pve, node, q.strip())
    except PveError as exc:
        context["problem"] = str(exc)
    return render(request, "pages/nodes/appliances.html", context, partial="partials/nodes/_appliances.html")
