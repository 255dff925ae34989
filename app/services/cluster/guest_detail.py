"""Everything about one guest, read in parallel; a section that cannot be read says why, the rest still shows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.operations.backups import backup_storages
from app.operations.base import Guest, Operation
from app.operations.catalogue import guest_operations
from app.operations.placement import fitting_storages
from app.proxmox.client import PveClient
from app.proxmox.diskparse import Disk, parse_disks
from app.proxmox.errors import PveError
from app.proxmox.models import GuestResource
from app.proxmox.paths import GuestPath
from app.services.cluster.backups import Backup, BackupService
from app.services.cluster.guest_edit import (
    EditSource,
    PendingChange,
    config_with_pending,
    edit_source,
    pending_changes,
)
from app.services.cluster.guest_view import SnapshotNode, snapshot_tree
from app.services.cluster.tasks import ClusterTask, TaskFilter, TaskService
from app.services.errors import NotFound
from app.services.ips import GuestIps, IpService

T = TypeVar("T")
RECENT_TASKS = 10


@dataclass
class Section:
    """A part of the page that could not be read, and Proxmox's reason."""

    name: str
    problem: str


@dataclass
class GuestDetail:
    """The guest page's data."""

    resource: GuestResource
    guest: Guest
    status: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    disks: list[Disk] = field(default_factory=list)
    snapshots: list[SnapshotNode] = field(default_factory=list)
    snapshot_count: int = 0
    # Snapshot names oldest first (without Proxmox's 'current'), for the rollback and delete forms.
    snapshot_names: list[str] = field(default_factory=list)
    ips: GuestIps | None = None
    backups: list[Backup] = field(default_factory=list)
    tasks: list[ClusterTask] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    # Config changes that wait for the guest's next start through Proxmox.
    pending: list[PendingChange] = field(default_factory=list)
    problems: list[Section] = field(default_factory=list)
    node_offline: bool = False

    def problem(self, name: str) -> str | None:
        """The reason a section is missing, or None."""
        return next((p.problem for p in self.problems if p.name == name), None)


@dataclass
class FormChoices:
    """What the guest page's forms offer: storages for a backup (the default first), nodes for a clone,
    storages per node for restoring a backup (the guest's own first)."""

    backup_storages: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    restore_storages: dict[str, list[str]] = field(default_factory=dict)
    # Storages on the other online nodes that take the guest's disks: where a migration may put them.
    target_storages: list[str] = field(default_factory=list)


class GuestDetailService:
    """Builds GuestDetail from status, config, snapshots, addresses, backups and tasks at once."""

    def __init__(self, pve: PveClient, ips: IpService, backups: BackupService, tasks: TaskService) -> None:
        self.pve = pve
        self.ips = ips
        self.backups = backups
        self.tasks = tasks

    async def detail(self, vmid: int) -> GuestDetail:
        """The guest's page; NotFound if Proxmox has no such guest."""
        resources = await self.pve.resources_holding(vmid)
        resource = resources.guest(vmid)
        if resource is None:
            raise NotFound(f"There is no guest {vmid}.")
        offline = any(n.node == resource.node and not n.online for n in resources.nodes)
        guest = Guest(
            vmid,
            resource.node,
            resource.type,
            resource.name,
            resource.status,
            resource.lock,
            resource.template,
        )
        view = GuestDetail(resource, guest, node_offline=offline)
        await self._fill(view)
        view.operations = (
            [op for op in guest_operations() if op.applies_to(view.guest)] if not offline else []
        )
        return view

    async def form_choices(self, view: GuestDetail) -> FormChoices:
        """The choices of the page's forms (none while the guest's node is offline)."""
        choices = FormChoices()
        if view.node_offline:
            return choices
        guest = view.guest
        resources = await self.pve.cluster_resources()
        choices.nodes = sorted(n.node for n in resources.nodes if n.online)
        choices.backup_storages = await backup_storages(self.pve, guest.node, guest.vmid)
        own = next((d.storage for d in view.disks if d.storage and not d.cdrom and not d.unused), None)
        content = "images" if guest.type == "qemu" else "rootdir"
        for node in sorted({b.node or guest.node for b in view.backups} & set(choices.nodes)):
            fitting = await fitting_storages(self.pve, node, content)
            choices.restore_storages[node] = sorted(fitting, key=lambda s: s != own)
        others = [n for n in choices.nodes if n != guest.node]
        choices.target_storages = sorted(
            {s for n in others for s in await fitting_storages(self.pve, n, content)}
        )
        return choices

    async def edit_source(self, vmid: int) -> EditSource:
        """What the guest's edit form is drawn from, read now."""
        return await edit_source(self.pve, vmid)

    async def _fill(self, view: GuestDetail) -> None:
        path = view.guest.paths
        # One read of the config with its pending changes for its own sections and for the addresses configured
        # in it; one of the status for the header and for the addresses, which the cluster view may show a state
        # behind.
        both_read = asyncio.ensure_future(self._config_and_pending(path))
        config_read = asyncio.ensure_future(_first(both_read))
        status_read = asyncio.ensure_future(self.pve.get(path.status("current")))
        status, config, pending, snaps, ips, backups, tasks = await asyncio.gather(
            self._section(view, "status", status_read, {}),
            self._section(view, "config", config_read, {}),
            self._section(view, "pending", _second(both_read), []),
            self._section(view, "snapshots", self.pve.get(path.snapshots), []),
            self._section(
                view, "addresses", self.ips.guest_ips(view.guest.vmid, config_read, status_read), None
            ),
            self._section(view, "backups", self.backups.backups_for_guest(view.guest.vmid), []),
            self._section(view, "tasks", self.tasks.list_tasks(TaskFilter(vmid=view.guest.vmid)), []),
        )
        view.status, view.config, view.ips, view.backups = status or {}, config or {}, ips, backups or []
        view.tasks = (tasks or [])[:RECENT_TASKS]
        view.pending = pending_changes(pending)
        if status:
            view.guest = Guest.from_status(view.guest.vmid, view.guest.node, view.guest.type, status)
            view.guest.name = view.guest.name or view.resource.name
            if view.guest.status != view.resource.status:
                self.pve.expire_resources()  # the lists and the dashboard catch up with what the page shows
        view.guest.config = view.config  # the forms offer what fits it (a clone keeps its static addresses)
        view.disks = parse_disks(view.guest.type, view.config)
        view.snapshots = snapshot_tree([s for s in snaps or [] if isinstance(s, dict)])
        taken = sorted(
            (s for s in snaps or [] if isinstance(s, dict) and s.get("name") != "current"),
            key=lambda s: (int(s.get("snaptime") or 0), str(s.get("name"))),
        )
        view.snapshot_names = [str(s.get("name")) for s in taken]
        view.snapshot_count = len(taken)

    async def _config_and_pending(self, path: GuestPath) -> tuple[dict[str, Any], Any]:
        """The config as GET .../config shows it and the pending items, from GET .../pending alone when its answer
        carries the digest (PVE's does: every plain key of the config file) that tells a change made elsewhere."""
        pending = await self.pve.get(path.pending)
        config = config_with_pending(pending)
        if "digest" not in config:
            config = await self.pve.get(path.config)
        return config, pending

    @staticmethod
    async def _section(view: GuestDetail, name: str, call: Awaitable[T], empty: T) -> T:
        try:
            return await call
        except PveError as exc:
            view.problems.append(Section(name, str(exc)))
        except NotFound as exc:
            view.problems.append(Section(name, exc.message))
        return empty


async def _first(both: Awaitable[tuple[T, Any]]) -> T:
    return (await both)[0]


async def _second(both: Awaitable[tuple[Any, T]]) -> T:
    return (await both)[1]
