"""GET /api/v1/guests: the guest list with the same search, filters and sort as /guests, paged by cursor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.deps import InventoryDep, IpDep, NodeDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, PagingDep
from app.services.cluster import GuestFilter

router = APIRouter(
    prefix="/api/v1", tags=["guests"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


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


@router.get("/guests", name="list", response_model=ListPage[GuestOut])
async def list_guests(
    query: Annotated[GuestFilter, Query()],
    paging: PagingDep,
    service: InventoryDep,
    ips: IpDep,
    nodes: NodeDep,
) -> dict[str, Any]:
    """Guests matching q (vmid or its prefix, part of a name, a tag) and the filters, sorted; 422 naming the
    nodes for a node the cluster does not have."""
    await nodes.check_known(query.node)
    matches = await service.matching(query, ips)
    page = paging.page(matches.rows)
    page["items"] = [
        {
            **g.model_dump(include=set(GuestOut.model_fields) - {"maxcpu", "node_offline"}),
            "maxcpu": int(g.maxcpu),
            "node_offline": g.node in matches.offline_nodes,
        }
        for g in page["items"]
    ]
    return page
