"""The guest page (/guests/{vmid}) and its JSON twin (GET /api/v1/guests/{vmid} lives in app/api/guest_detail.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.deps import DetailDep, PveDep, require_principal
from app.operations.backups import backup_storages
from app.operations.snapshots import default_snapname
from app.services.guest_detail import GuestDetail
from app.web.templating import render

router = APIRouter(tags=["guests"], dependencies=[Depends(require_principal)])
Vmid = Annotated[int, Path(ge=100, le=999_999_999, description="The guest's VMID")]


async def detail_context(request: Request, view: GuestDetail, pve: Any) -> dict[str, Any]:
    """What the page and its action forms need besides the detail itself."""
    resources = await pve.cluster_resources()
    return {
        "active": "guest_list",
        "g": view,
        "ops": {op.name: op for op in view.operations},
        "backup_storages": await backup_storages(pve, view.guest.node) if not view.node_offline else [],
        "nodes": sorted(n.node for n in resources.nodes if n.online),
        "default_snapname": default_snapname(),
        "can_restore": request.state.principal.can("operator") and not view.node_offline,
    }


@router.get("/guests/{vmid}", name="guest_detail")
async def guest_detail(request: Request, vmid: Vmid, service: DetailDep, pve: PveDep) -> Response:
    """Status, usage, config, disks, addresses, snapshots, backups, recent tasks and the actions that fit."""
    view = await service.detail(vmid)
    context = await detail_context(request, view, pve)
    return render(request, "pages/guests/detail.html", context, partial="partials/guests/_detail.html")
