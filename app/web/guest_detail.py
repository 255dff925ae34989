"""The guest page (/guests/{vmid}) and its JSON twin (GET /api/v1/guests/{vmid} lives in app/api/guest_detail.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from app.deps import DetailDep, require_principal
from app.services.guest_detail import FormChoices, GuestDetail
from app.web.restore_form import RestoreForm
from app.web.templating import render

router = APIRouter(tags=["guests"], dependencies=[Depends(require_principal)])
Vmid = Annotated[int, Path(ge=100, le=999_999_999, description="The guest's VMID")]


def detail_context(request: Request, view: GuestDetail, choices: FormChoices) -> dict[str, Any]:
    """What the page and its action forms need besides the detail itself."""
    return {
        "active": "guest_list",
        "g": view,
        "ops": {op.name: op for op in view.operations},
        "backup_storages": choices.backup_storages,
        "nodes": choices.nodes,
        "restore_forms": {
            b.volume.volid: RestoreForm(
                b.volume.volid,
                b.node or view.guest.node,
                choices.restore_storages.get(b.node or view.guest.node, []),
            )
            for b in view.backups
        },
        "default_snapname": choices.default_snapname,
        "can_restore": request.state.principal.can("operator") and not view.node_offline,
    }


@router.get("/guests/{vmid}", name="guest_detail")
async def guest_detail(request: Request, vmid: Vmid, service: DetailDep) -> Response:
    """Status, usage, config, disks, addresses, snapshots, backups, recent tasks and the actions that fit."""
    view = await service.detail(vmid)
    context = detail_context(request, view, await service.form_choices(view))
    return render(request, "pages/guests/detail.html", context, partial="partials/guests/_detail.html")
