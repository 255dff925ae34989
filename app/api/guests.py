"""GET /api/v1/guests: the guest list with the same search, filters, sort and pages as /guests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.deps import IpDep, SettingsDep, require_principal, service_dep
from app.http.csrf import verify_csrf
from app.services.inventory import GuestQuery, InventoryService

router = APIRouter(
    prefix="/api/v1", tags=["guests"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
InventoryDep = Annotated[InventoryService, Depends(service_dep(InventoryService))]


class GuestOut(BaseModel):
    """A VM or container as /cluster/resources reports it (status 'unknown' when its node is offline)."""

    vmid: int
    name: str
    type: str
    node: str
    status: str
    lock: str | None
    hastate: str | None
    cpu: float
    maxcpu: int
    mem: int
    maxmem: int
    disk: int
    maxdisk: int
    uptime: int
    tags: list[str]
    pool: str | None
    template: bool
    node_offline: bool


class GuestListOut(BaseModel):
    """One page of guests; a page past the end gives the last page."""

    items: list[GuestOut]
    total: int
    page: int
    pages: int
    per_page: int


@router.get("/guests", response_model=GuestListOut)
async def list_guests(
    query: Annotated[GuestQuery, Query()], service: InventoryDep, settings: SettingsDep, ips: IpDep
) -> dict[str, Any]:
    """Guests matching q (vmid or its prefix, part of a name, a tag) and the filters, sorted and paged."""
    page = await service.list_guests(query, ips, default_per_page=settings.page_size)
    items = [
        {
            **g.model_dump(include=set(GuestOut.model_fields) - {"maxcpu", "node_offline"}),
            "maxcpu": int(g.maxcpu),
            "node_offline": page.node_offline(g),
        }
        for g in page.rows
    ]
    return {
        "items": items,
        "total": page.total,
        "page": page.page,
        "pages": page.pages,
        "per_page": page.per_page,
    }
