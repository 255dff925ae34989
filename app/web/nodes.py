"""The node page (/nodes/{node}); its JSON twin is GET /api/v1/nodes/{node} (app/api/nodes.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.deps import NodeDep, require_principal, runtime_of
from app.services.cluster import NODE_CHARTS, NODE_PATTERN, STORAGE_WARN_PERCENT
from app.web.charts import RangeDep, chart_panel
from app.web.proxmox_ui import proxmox_ui
from app.web.templating import render
from app.web.url_paths import path_for

router = APIRouter(tags=["nodes"], dependencies=[Depends(require_principal)])
NodeParam = Annotated[str, Path(max_length=64, description=f"pve-node: {NODE_PATTERN}")]
# Guests listed on the page itself; the guest list, filtered by the node, has them all.
GUESTS_SHOWN = 25


@router.get("/nodes/{node}", name="node_detail")
async def node_detail(request: Request, node: NodeParam, service: NodeDep, chosen: RangeDep) -> Response:
    """Status, versions, uptime, CPU and load, memory and swap, storage, guests, recent tasks and charts."""
    view = await service.detail(node)
    data_url = path_for(request, "node_rrd", node=view.name)
    context = {
        "active": "dashboard",
        "n": view,
        "ui": proxmox_ui(runtime_of(request.app).connection, view.ip),
        "panel": chart_panel(request, str(data_url), NODE_CHARTS, chosen),
        "guests_shown": GUESTS_SHOWN,
        "warn_percent": STORAGE_WARN_PERCENT,
    }
    return render(request, "pages/nodes/detail.html", context, partial="partials/nodes/_detail.html")
