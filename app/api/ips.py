"""GET /api/v1/ips (every address Proxmox knows) and /api/v1/ips/free (unused addresses of a subnet)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.deps import IpDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, PagingDep
from app.services.ips import DEFAULT_FREE_LIMIT, MAX_FILTER_LENGTH, MAX_FREE_LIMIT, IpNote

router = APIRouter(
    prefix="/api/v1", tags=["ips"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class IpOut(BaseModel):
    """One address of one guest."""

    address: str
    version: int
    prefix_length: int | None
    vmid: int
    name: str
    type: str
    status: str
    node: str
    template: bool
    interface: str | None
    mac: str | None
    link_local: bool
    source: str
    sources: list[str]
    shared_with: list[int]


class NoteOut(BaseModel):
    """Something that could not be read, or an address Proxmox cannot know."""

    kind: str
    message: str
    vmid: int | None
    name: str | None
    node: str | None


class IpListOut(ListPage[IpOut]):
    """The inventory: addresses (after the filter), notes on what could not be read, and how many guests."""

    notes: list[NoteOut]
    guests: int


class UsedOut(BaseModel):
    """An address of the subnet that is taken, and by what."""

    address: str
    used_by: str
    vmid: int | None


class FreeOut(BaseModel):
    """Unused host addresses of a subnet, as far as Proxmox can tell."""

    cidr: str
    hosts: int
    free_count: int
    free: list[str]
    truncated: bool
    used: list[UsedOut]
    unknown_guests: int
    cannot_see: str
    notes: list[NoteOut]


def _notes(notes: list[IpNote]) -> list[dict[str, Any]]:
    return [
        {"kind": n.kind, "message": n.message, "vmid": n.vmid, "name": n.name, "node": n.node} for n in notes
    ]


@router.get("/ips", name="list", response_model=IpListOut)
async def list_ips(
    service: IpDep,
    paging: PagingDep,
    prefix: Annotated[
        str | None, Query(max_length=MAX_FILTER_LENGTH, description="10.0.10.21, 10.0. or 10.0.10.0/24")
    ] = None,
) -> dict[str, Any]:
    """Every address Proxmox knows (configs, guest agents, container interfaces), with notes on gaps."""
    inventory = await service.inventory(prefix)
    page = paging.page(inventory.items, notes=_notes(inventory.notes), guests=inventory.guests)
    page["items"] = [
        {
            "address": str(i.address),
            "version": i.address.version,
            "prefix_length": i.prefix_length,
            "vmid": i.vmid,
            "name": i.name,
            "type": i.type,
            "status": i.status,
            "node": i.node,
            "template": i.template,
            "interface": i.interface,
            "mac": i.mac,
            "link_local": i.link_local,
            "source": i.source,
            "sources": list(i.sources),
            "shared_with": list(i.shared_with),
        }
        for i in page["items"]
    ]
    return page


@router.get("/ips/free", name="free", response_model=FreeOut)
async def free_ips(
    service: IpDep,
    cidr: Annotated[str, Query(min_length=1, max_length=MAX_FILTER_LENGTH, description="10.0.10.0/24")],
    limit: Annotated[int, Query(ge=1, le=MAX_FREE_LIMIT)] = DEFAULT_FREE_LIMIT,
) -> dict[str, Any]:
    """Host addresses of the subnet no guest, configured gateway or node uses; the first `limit` listed."""
    free = await service.free_addresses(cidr, limit)
    return {
        "cidr": str(free.network),
        "hosts": free.hosts,
        "free_count": free.free_count,
        "free": [str(a) for a in free.free],
        "truncated": free.truncated,
        "used": [{"address": str(u.address), "used_by": u.what, "vmid": u.vmid} for u in free.used],
        "unknown_guests": free.unknown_guests,
        "cannot_see": free.cannot_see,
        "notes": _notes(free.notes),
    }
