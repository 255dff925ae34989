"""GET /api/v1/storage (every storage and its usage) and /api/v1/storage/{node}/{storage}/content."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from app.deps import NodeDep, StorageDep, require_principal
from app.http.csrf import verify_csrf
from app.http.paging import ListPage, PagingDep
from app.services.cluster import ContentType, Volume
from app.services.errors import NotFound

router = APIRouter(
    prefix="/api/v1", tags=["storage"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


class StorageOut(BaseModel):
    """A storage (per node, or once when shared) and its usage."""

    storage: str
    node: str | None
    nodes: list[str]
    type: str
    content: list[str]
    shared: bool
    available: bool
    offline: bool
    used: int
    total: int
    percent: float
    warn: bool


class VolumeOut(BaseModel):
    """A volume of a storage; backups carry guest, notes, protection and verification."""

    volid: str
    content: str
    format: str
    size: int
    created: int | None
    vmid: int | None
    guest_type: str | None
    notes: str | None
    protected: bool
    verification: str | None


def volume_out(volume: Volume) -> dict[str, Any]:
    """A volume as the API shows it."""
    return {
        "volid": volume.volid,
        "content": volume.content,
        "format": volume.format,
        "size": volume.size,
        "created": volume.created,
        "vmid": volume.owner,
        "guest_type": volume.guest_kind,
        "notes": volume.notes,
        "protected": volume.protected,
        "verification": volume.verification_state,
    }


@router.get("/storage", name="list", response_model=ListPage[StorageOut])
async def storages(
    service: StorageDep,
    nodes: NodeDep,
    paging: PagingDep,
    node: Annotated[str | None, Query(max_length=64, description="Only what this node sees")] = None,
) -> dict[str, Any]:
    """Every storage with usage (a node's own and the shared ones it sees); those of offline nodes say so."""
    await nodes.check_known(node)
    rows = [
        {
            "storage": s.storage,
            "node": s.node,
            "nodes": s.nodes,
            "type": s.plugintype,
            "content": s.content,
            "shared": s.shared,
            "available": s.available,
            "offline": s.offline,
            "used": s.used,
            "total": s.total,
            "percent": round(s.percent, 1),
            "warn": s.warn,
        }
        for s in (await service.overview()).storages
        if node is None or node in s.nodes
    ]
    return paging.page(rows)


@router.get("/storage/{node}/{storage}/content", name="content", response_model=ListPage[VolumeOut])
async def storage_content(
    service: StorageDep,
    nodes: NodeDep,
    paging: PagingDep,
    node: Annotated[str, Path(max_length=64)],
    storage: Annotated[str, Path(max_length=64)],
    content: Annotated[ContentType | None, Query()] = None,
) -> dict[str, Any]:
    """What the storage holds on that node, optionally one content type only; 404 naming the nodes for a node
    the cluster does not have."""
    await nodes.check_known(node, missing=NotFound)
    return paging.page([volume_out(v) for v in await service.content(node, storage, content)])
