"""GET /api/v1/guests/{vmid}/snapshots: the snapshot list as Proxmox gives it, for `proxgate ctl` and agents."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from app.deps import require_principal, service_dep
from app.services.errors import Invalid
from app.services.snapshot_list import SnapshotListService
from app.web.csrf import verify_csrf

router = APIRouter(
    prefix="/api/v1", tags=["guests"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
SnapshotsDep = Annotated[SnapshotListService, Depends(service_dep(SnapshotListService))]
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]


class SnapshotOut(BaseModel):
    """A snapshot; `current` (PVE's 'You are here!') is the guest's present state."""

    name: str
    description: str
    snaptime: int | None
    vmstate: bool
    parent: str | None
    current: bool


class SnapshotPage(BaseModel):
    """One page of the list and the cursor of the next."""

    items: list[SnapshotOut]
    total: int
    next_cursor: str | None


def offset_of(cursor: str | None) -> int:
    """The position a cursor of this list stands for."""
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 6:
        raise Invalid("This cursor is not one a previous page gave.", field="cursor")
    return int(cursor)


@router.get("/guests/{vmid}/snapshots", response_model=SnapshotPage)
async def guest_snapshots(
    vmid: Vmid,
    service: SnapshotsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    """Every snapshot with its description, time and parent, in Proxmox's order, 'current' included."""
    entries = await service.snapshots(vmid)
    start = offset_of(cursor)
    end = start + limit
    return {
        "items": [asdict(e) for e in entries[start:end]],
        "total": len(entries),
        "next_cursor": str(end) if end < len(entries) else None,
    }
