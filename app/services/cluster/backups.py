"""Backups across the cluster: every archive on every storage that holds backups, and the guests without."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace

from pydantic import TypeAdapter

from app.proxmox.cache import SLOW_FETCH, SingleFlight
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.models import ROWS_PER_TURN, ClusterResources, PveModel, validate_rows
from app.proxmox.paths import NOT_BACKED_UP
from app.services.cluster.storage import StorageRow, StorageService, Volume, build_overview

# Storages read at once: a cluster with many nodes and local backup storages is not hit all together.
CONCURRENCY = 4
DAY = 86400
# When a scan of every backup storage is slow (thousands of archives), pages get the previous scan at once
# while the next runs, for up to this long after it expired.
STALE_FOR = 60.0


@dataclass(frozen=True)
class Backup:
    """One backup archive, where it lies, and the name of its guest when the guest still exists."""

    volume: Volume
    storage: str
    node: str | None
    guest_name: str | None = None
    # The guest it is of, and when it was taken (epoch seconds): parsed from the name once, not at every filter.
    vmid: int | None = field(init=False)
    created: int | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vmid", self.volume.owner)
        object.__setattr__(self, "created", self.volume.created)

    @property
    def where(self) -> str:
        """'nas-backup', or 'local on pve1' for a node's own storage."""
        return f"{self.storage} on {self.node}" if self.node else self.storage

    def age_days(self, now: float) -> float | None:
        """Days since it was taken."""
        return (now - self.created) / DAY if self.created else None


@dataclass
class BackupFilter:
    """Which backups to show: a guest, a storage, an age window, or only each guest's newest."""

    vmid: int | None = None
    storage: str | None = None
    older_than_days: int | None = None
    newer_than_days: int | None = None
    newest_per_guest: bool = False

    def keeps(self, backup: Backup, now: float) -> bool:
        """True if the backup passes the guest, storage and age tests."""
        if self.vmid is not None and backup.vmid != self.vmid:
            return False
        if self.storage is not None and backup.storage != self.storage:
            return False
        if self.older_than_days is None and self.newer_than_days is None:
            return True
        age = backup.age_days(now)
        if age is None:
            return False
        too_new = self.older_than_days is not None and age < self.older_than_days
        too_old = self.newer_than_days is not None and age > self.newer_than_days
        return not (too_new or too_old)


@dataclass
class BackupListing:
    """Backups (newest first), the ids of the storages that hold backups, and what could not be read."""

    backups: list[Backup]
    storages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Each guest's backups, newest first: a guest's page picks its own out of tens of thousands at once.
    by_guest: dict[int, list[Backup]] = field(default_factory=dict, repr=False)


class GuestWithoutBackup(PveModel):
    """An entry of GET /cluster/backup-info/not-backed-up."""

    vmid: int
    type: str = ""
    name: str | None = None


_WITHOUT = TypeAdapter(list[GuestWithoutBackup])


def newest_per_guest(backups: list[Backup]) -> list[Backup]:
    """Each guest's newest backup (backups of no guest are all kept), newest first."""
    newest: dict[int, Backup] = {}
    rest: list[Backup] = []
    for backup in backups:
        if backup.vmid is None:
            rest.append(backup)
        elif backup.vmid not in newest or (backup.created or 0) > (newest[backup.vmid].created or 0):
            newest[backup.vmid] = backup
    return sorted([*newest.values(), *rest], key=lambda b: -(b.created or 0))


class BackupService:
    """Reads the backups of every storage, each shared storage once and each local one per node."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve
        self._storage = StorageService(pve)
        # Every backup storage's content is a heavy read (a directory walk, a PBS listing) that changes rarely:
        # kept for backups_ttl (30 s by default), shared by concurrent page views, and dropped at once after
        # Proxgate itself makes or deletes a backup.
        ttl = pve.connection.backups_ttl
        ttl = pve.connection.resources_ttl if ttl is None else ttl
        self._scan: SingleFlight[BackupListing] = SingleFlight(ttl, refresh_ahead=True)
        self._without: SingleFlight[list[GuestWithoutBackup]] = SingleFlight(ttl)
        self._changes_seen = pve.changes

    async def list_backups(self, wanted: BackupFilter | None = None) -> BackupListing:
        """The backups that pass the filter, newest first."""
        listing = await self._listing()
        wanted = wanted or BackupFilter()
        now = time.time()
        kept = [b for b in listing.backups if wanted.keeps(b, now)]
        if wanted.newest_per_guest:
            kept = newest_per_guest(kept)
        return replace(listing, backups=kept, by_guest={})

    async def backups_for_guest(self, vmid: int) -> list[Backup]:
        """Every backup of one guest, newest first."""
        return list((await self._listing()).by_guest.get(vmid, []))

    async def _listing(self) -> BackupListing:
        """The cached scan of every backup storage, fresh after Proxgate's own changes."""
        self._forget_if_changed()
        return await self._scan.get(self._read_all, stale_for=STALE_FOR)

    async def not_backed_up(self) -> list[GuestWithoutBackup]:
        """The guests no backup job covers, cached as briefly as the backup listing."""
        self._forget_if_changed()
        return await self._without.get(self._read_without, stale_for=STALE_FOR)

    async def _read_without(self) -> list[GuestWithoutBackup]:
        """GET /cluster/backup-info/not-backed-up (needs Sys.Audit on /)."""
        data = await self.pve.get(NOT_BACKED_UP)
        rows = validate_rows(_WITHOUT, data if isinstance(data, list) else [])
        return sorted(rows, key=lambda g: g.vmid)

    async def aclose(self) -> None:
        """Stop a scan running in the background (the app is shutting down)."""
        self._scan.cancel()
        self._without.cancel()

    def _forget_if_changed(self) -> None:
        """Expire the cached listing once Proxgate changed the cluster (a task of its own ended: a backup made,
        restored or deleted): a quick scan is read again; one of thousands of archives, a second or more to read,
        lives out its ttl (as a slow cluster view does), rather than every start or snapshot costing another."""
        if self._changes_seen != self.pve.changes:
            self._changes_seen = self.pve.changes
            # A scan that takes a second (thousands of archives) is never a small cluster's, however busy.
            self._scan.expire(slow=SLOW_FETCH)
            self._without.expire(slow=SLOW_FETCH)

    async def _read_all(self) -> BackupListing:
        resources = await self.pve.cluster_resources()
        rows = [row for row in build_overview(resources).storages if "backup" in row.content]
        listing = BackupListing([], sorted({row.storage for row in rows}))
        readable = []
        for row in rows:
            if row.offline:
                nodes = ", ".join(row.nodes)
                listing.problems.append(f"Backups on {row.label} are not listed: node {nodes} is offline.")
            else:
                readable.append(row)
        limit = asyncio.Semaphore(CONCURRENCY)
        for found, problem in await asyncio.gather(*(self._read(row, resources, limit) for row in readable)):
            listing.backups += found
            if problem:
                listing.problems.append(problem)
        listing.backups.sort(key=lambda b: (-(b.created or 0), b.volume.volid))
        for backup in listing.backups:
            if backup.vmid is not None:
                listing.by_guest.setdefault(backup.vmid, []).append(backup)
        return listing

    async def _read(
        self, row: StorageRow, resources: ClusterResources, limit: asyncio.Semaphore
    ) -> tuple[list[Backup], str | None]:
        async with limit:
            try:
                volumes = await self._storage.volumes(row, row.home, "backup")
            except PveError as exc:
                return [], f"Backups on {row.label} could not be read: {exc}"
        node = None if row.shared else row.node
        found = []
        for n, volume in enumerate(volumes, 1):
            guest = resources.guest(volume.owner) if volume.owner is not None else None
            found.append(Backup(volume, row.storage, node, guest.name if guest else None))
            if n % ROWS_PER_TURN == 0:
                await asyncio.sleep(0)  # other pages go on while tens of thousands of archives are listed
        return found, None
