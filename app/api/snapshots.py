"""GET /api/v1/guests/{vmid}/snapshots: the snapshot list as Proxmox gives it, for `proxgate ctl` and agents."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from app.deps import SnapshotsDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, PagingDep

router = APIRouter(
    prefix="/api/v1", tags=["guests"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)
Vmid = Annotated[int, Path(ge=100, le=999_999_999)]


class SnapshotOut(BaseModel):
    """A snapshot; `current` (PVE's 'You are here!') is the guest's present state."""

    name: str
    description: str
    snaptime: int | None
    vmstate: bool
    parent: str | None
    current: bool


@router.get("/guests/{vmid}/snapshots", name="snapshots", response_model=ListPage[SnapshotOut])
async def guest_snapshots(vmid: Vmid, service: SnapshotsDep, paging: PagingDep) -> dict[str, Any]:
    """Every snapshot with its description, time and parent, in Proxmox's order, 'current' included."""
    return paging.page([asdict(e) for e in await service.snapshots(vmid)])
