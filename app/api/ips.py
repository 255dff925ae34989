"""GET /api/v1/ips (every address Proxmox knows) and /api/v1/ips/free (unused addresses of a subnet)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.deps import IpDep, NodeDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import MAX_LIMIT, CursorQuery, ListPage, PagingDep, decode_cursor, encode_cursor
from app.services.ips import DEFAULT_FREE_LIMIT, MAX_FILTER_LENGTH, MAX_FREE_LIMIT, GuestScope, IpItem, IpNote

router = APIRouter(
    prefix="/api/v1", tags=["ips"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
# Notes listed unless asked for more: at thousands of guests there are hundreds (every DHCP guest has one).
DEFAULT_NOTES = 20


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


class ProgressOut(BaseModel):
    """How far the first reading of the guests has come: every configuration, then every live answer."""

    stage: Literal["configs", "live", "done"]
    done: int
    total: int
    text: str = Field(description="'Read 812 of 2,000 guests' configurations', or '' once done")


class IpListOut(ListPage[IpOut]):
    """The inventory: addresses (after the filters), the notes about them, and how many guests were read."""

    complete: bool = Field(
        description="False while guests are still being read for the first time: the items are what is known "
        "so far (ask again; progress says how far it has come)"
    )
    progress: ProgressOut

    notes: list[NoteOut] = Field(
        description="The first notes_limit notes about the guests, nodes and range asked"
    )
    notes_total: int
    unknown_guests: int = Field(
        description="Guests asked about whose address Proxmox cannot know (DHCP, ...)"
    )
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
    next_cursor: str | None = Field(description="Pass as ?cursor= for the free addresses that follow")
    used: list[UsedOut] = Field(description="The first used_limit addresses that are taken")
    used_count: int
    unknown_guests: int
    cannot_see: str
    checks: str = Field(
        description="Which checks beyond Proxmox ran (PROXGATE_IP_PROBE) and what none can see"
    )
    probed: int = Field(description="How many of the listed free addresses those checks looked at")
    notes: list[NoteOut] = Field(
        description="The first notes_limit notes about guests and nodes of the subnet"
    )
    notes_total: int


NotesLimit = Annotated[int, Query(ge=0, le=MAX_LIMIT, description="Notes listed at most (0-500)")]
GuestStatus = Literal["running", "stopped", "paused", "unknown"]


def _notes(notes: list[IpNote], limit: int) -> dict[str, Any]:
    return {
        "notes": [
            {"kind": n.kind, "message": n.message, "vmid": n.vmid, "name": n.name, "node": n.node}
            for n in notes[:limit]
        ],
        "notes_total": len(notes),
    }


def _item(i: IpItem) -> dict[str, Any]:
    return {
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


@router.get("/ips", name="list", response_model=IpListOut)
async def list_ips(
    service: IpDep,
    nodes: NodeDep,
    paging: PagingDep,
    prefix: Annotated[
        str | None, Query(max_length=MAX_FILTER_LENGTH, description="10.0.10.21, 10.0. or 10.0.10.0/24")
    ] = None,
    vmid: Annotated[int | None, Query(ge=100, le=999_999_999)] = None,
    node: Annotated[str | None, Query(max_length=64)] = None,
    status: GuestStatus | None = None,
    notes_limit: NotesLimit = DEFAULT_NOTES,
) -> dict[str, Any]:
    """Every address Proxmox knows (configs, guest agents, container interfaces) of the guests the filters
    keep, with the notes on what it could not read about them; 422 naming the nodes for an unknown node.
    Answers at once: while guests are still being read for the first time, `complete` is false and the items
    are what is known so far."""
    await nodes.check_known(node)
    inventory = await service.inventory(prefix, GuestScope(vmid, node, status))
    page = paging.page(inventory.items, guests=inventory.guests, unknown_guests=inventory.unknown_guests)
    page["items"] = [_item(i) for i in page["items"]]
    progress = inventory.progress
    page["complete"] = progress.complete
    page["progress"] = {
        "stage": progress.stage,
        "done": progress.done,
        "total": progress.total,
        "text": progress.text,
    }
    return page | _notes(inventory.notes, notes_limit)


@router.get("/ips/free", name="free", response_model=FreeOut)
async def free_ips(
    service: IpDep,
    cidr: Annotated[str, Query(min_length=1, max_length=MAX_FILTER_LENGTH, description="10.0.10.0/24")],
    limit: Annotated[int, Query(ge=1, le=MAX_FREE_LIMIT)] = DEFAULT_FREE_LIMIT,
    cursor: CursorQuery = None,
    used_limit: Annotated[
        int, Query(ge=0, le=MAX_FREE_LIMIT, description="Used addresses listed at most")
    ] = DEFAULT_FREE_LIMIT,
    notes_limit: NotesLimit = DEFAULT_NOTES,
) -> dict[str, Any]:
    """Host addresses of the subnet no guest, configured gateway or node uses: `limit` of them, from the cursor
    on; then what takes the others, and the notes about guests and nodes of the subnet."""
    skip = decode_cursor(cursor, "o") if cursor else 0
    free = await service.free_addresses(cidr, limit, skip)
    return {
        "cidr": str(free.network),
        "hosts": free.hosts,
        "free_count": free.free_count,
        "free": [str(a) for a in free.free],
        "truncated": free.truncated,
        "next_cursor": encode_cursor({"o": skip + len(free.free)}) if free.more else None,
        "used": [
            {"address": str(u.address), "used_by": u.what, "vmid": u.vmid} for u in free.used[:used_limit]
        ],
        "used_count": len(free.used),
        "unknown_guests": free.unknown_guests,
        "cannot_see": free.cannot_see,
        "checks": free.checks,
        "probed": free.probed,
    } | _notes(free.notes, notes_limit)
