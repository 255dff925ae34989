"""GET /api/v1/storage, its content, /api/v1/backups and /api/v1/backups/not-backed-up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from app.deps import BackupDep, StorageDep, require_principal
from app.http.csrf import verify_csrf
from app.http.filters import BackupQuery
from app.http.paging import ListPage, PagingDep
from app.services.cluster import Backup, ContentType, Volume

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


class BackupOut(VolumeOut):
    """A backup and where it lies (node is null on a shared storage)."""

    storage: str
    node: str | None
    guest_name: str | None


class BackupsOut(ListPage[BackupOut]):
    """The backups that match, and the storages that could not be read and why."""

    problems: list[str]


class NotBackedUpOut(BaseModel):
    """A guest no backup job covers (PVE's /cluster/backup-info/not-backed-up)."""

    vmid: int
    name: str | None
    type: str


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


def backup_out(backup: Backup) -> dict[str, Any]:
    """A backup as the API shows it."""
    return {
        **volume_out(backup.volume),
        "storage": backup.storage,
        "node": backup.node,
        "guest_name": backup.guest_name,
    }


@router.get("/storage", response_model=ListPage[StorageOut])
async def storages(service: StorageDep, paging: PagingDep) -> dict[str, Any]:
    """Every storage with usage; those of offline nodes say so."""
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
    ]
    return paging.page(rows)


@router.get("/storage/{node}/{storage}/content", response_model=ListPage[VolumeOut])
async def storage_content(
    service: StorageDep,
    paging: PagingDep,
    node: Annotated[str, Path(max_length=64)],
    storage: Annotated[str, Path(max_length=64)],
    content: Annotated[ContentType | None, Query()] = None,
) -> dict[str, Any]:
    """What the storage holds on that node, optionally one content type only."""
    return paging.page([volume_out(v) for v in await service.content(node, storage, content)])


@router.get("/backups", response_model=BackupsOut)
async def backups(
    service: BackupDep, query: Annotated[BackupQuery, Query()], paging: PagingDep
) -> dict[str, Any]:
    """Backups across storages, newest first; filters guest, storage, older_than/newer_than days, newest."""
    listing = await service.list_backups(query.to_filter())
    page = paging.page(listing.backups, problems=listing.problems)
    page["items"] = [backup_out(b) for b in page["items"]]
    return page


@router.get("/backups/not-backed-up", response_model=ListPage[NotBackedUpOut])
async def not_backed_up(service: BackupDep, paging: PagingDep) -> dict[str, Any]:
    """The guests no backup job covers, as Proxmox lists them."""
    rows = [{"vmid": g.vmid, "name": g.name, "type": g.type} for g in await service.not_backed_up()]
    return paging.page(rows)
