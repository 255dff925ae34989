"""GET /api/v1/backups (backups across storages) and /api/v1/backups/not-backed-up (guests no job covers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.api.storage import VolumeOut, volume_out
from app.deps import BackupDep, require_principal
from app.http.csrf import verify_csrf
from app.http.filters import BackupQuery
from app.http.paging import ListPage, PagingDep
from app.services.cluster import Backup

router = APIRouter(
    prefix="/api/v1", tags=["backups"], dependencies=[Depends(require_principal), Depends(verify_csrf)]
)


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


def backup_out(backup: Backup) -> dict[str, Any]:
    """A backup as the API shows it."""
    return {
        **volume_out(backup.volume),
        "storage": backup.storage,
        "node": backup.node,
        "guest_name": backup.guest_name,
    }


@router.get("/backups", name="list", response_model=BackupsOut)
async def backups(
    service: BackupDep, query: Annotated[BackupQuery, Query()], paging: PagingDep
) -> dict[str, Any]:
    """Backups across storages, newest first; filters guest, storage, older_than/newer_than days, newest."""
    listing = await service.list_backups(query.to_filter())
    page = paging.page(listing.backups, problems=listing.problems)
    page["items"] = [backup_out(b) for b in page["items"]]
    return page


@router.get("/backups/not-backed-up", name="not_backed_up", response_model=ListPage[NotBackedUpOut])
async def not_backed_up(service: BackupDep, paging: PagingDep) -> dict[str, Any]:
    """The guests no backup job covers, as Proxmox lists them."""
    rows = [{"vmid": g.vmid, "name": g.name, "type": g.type} for g in await service.not_backed_up()]
    return paging.page(rows)
