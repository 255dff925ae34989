"""Storage: each storage with its usage (shared ones once), and what a storage holds, as typed rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import TypeAdapter

from app.proxmox.client import PveClient
from app.proxmox.errors import PveUnavailable
from app.proxmox.models import ClusterResources, PveModel, validate_rows_in_turns
from app.proxmox.paths import StoragePath
from app.services.errors import Invalid, NotFound

# pve-common PVE::JSONSchema: pve_verify_node_name and pve_verify_storage_id (anchored, as PVE anchors them).
NODE_PATTERN = r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?$"
STORAGE_PATTERN = r"^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$"
# pve-storage-content, in the order the pages show them.
CONTENT_TYPES = ("iso", "vztmpl", "backup", "images", "rootdir", "snippets", "import")
ContentType = Literal["iso", "vztmpl", "backup", "images", "rootdir", "snippets", "import"]
CONTENT_LABELS = {
    "iso": "ISO images",
    "vztmpl": "CT templates",
    "backup": "Backups",
    "images": "Disk images",
    "rootdir": "Container volumes",
    "snippets": "Snippets",
    "import": "Import",
}
# vzdump archive names (local time of the node), and PBS snapshots (UTC): FACTS.md section 4.
VZDUMP_RE = re.compile(
    r"(?:^|[:/])vzdump-(?P<kind>qemu|lxc|openvz)-(?P<vmid>\d+)-"
    r"(?P<when>\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d)"
)
PBS_RE = re.compile(
    r"^[^:]+:backup/(?P<kind>vm|ct|host)/(?P<id>[^/]+)/(?P<when>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$"
)
KINDS = {"qemu": "qemu", "vm": "qemu", "lxc": "lxc", "openvz": "lxc", "ct": "lxc", "host": "host"}

# Above this share a storage is flagged as nearly full (dashboard, storage page, API).
STORAGE_WARN_PERCENT = 85.0


def check_node(node: str) -> str:
    """The node name, or Invalid in PVE's words."""
    if not re.match(NODE_PATTERN, node):
        raise Invalid("value does not look like a valid node name", field="node")
    return node


def check_storage(storage: str) -> str:
    """The storage id, or Invalid in PVE's words."""
    if len(storage) < 2:
        raise Invalid(f"storage ID '{storage}' cannot be shorter than 2 characters", field="storage")
    if not re.match(STORAGE_PATTERN, storage):
        raise Invalid(f"storage ID '{storage}' contains illegal characters", field="storage")
    return storage


@dataclass(frozen=True)
class BackupRef:
    """What a backup's volume id tells: guest kind, vmid, when it was taken, and whether PBS holds it."""

    kind: str
    vmid: int | None
    taken: datetime | None
    pbs: bool


def parse_backup_volid(volid: str) -> BackupRef | None:
    """Parse `vzdump-{qemu|lxc}-<vmid>-YYYY_MM_DD-HH_MM_SS...` or PBS `backup/vm/100/<ISO time>`; else None.

    vzdump names carry the node's local time, which the app cannot know: the time is read as UTC and only
    stands in when PVE sent no ctime.
    """
    found = PBS_RE.match(volid)
    if found:
        taken = datetime.strptime(found["when"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        vmid = int(found["id"]) if found["id"].isdigit() else None
        return BackupRef(KINDS[found["kind"]], vmid, taken, True)
    found = VZDUMP_RE.search(volid)
    if found:
        taken = datetime.strptime(found["when"], "%Y_%m_%d-%H_%M_%S").replace(tzinfo=UTC)
        return BackupRef(KINDS[found["kind"]], int(found["vmid"]), taken, False)
    return None


class Volume(PveModel):
    """One entry of GET /nodes/{node}/storage/{storage}/content."""

    volid: str
    content: str = ""
    format: str = ""
    size: int = 0
    ctime: int | None = None
    vmid: int | None = None
    notes: str | None = None
    protected: bool = False
    subtype: str | None = None
    used: int | None = None
    parent: str | None = None
    encrypted: str | None = None
    verification: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The volume name: the volid without its storage."""
        return self.volid.partition(":")[2] or self.volid

    @property
    def backup(self) -> BackupRef | None:
        """The parsed backup name, for backups."""
        return parse_backup_volid(self.volid) if self.content == "backup" else None

    @property
    def owner(self) -> int | None:
        """The guest the volume belongs to: PVE's vmid, else the one in a backup's name."""
        if self.vmid is not None:
            return self.vmid
        ref = self.backup
        return ref.vmid if ref else None

    @property
    def created(self) -> int | None:
        """Epoch seconds: PVE's ctime, else the time in a backup's name."""
        if self.ctime:
            return self.ctime
        ref = self.backup
        return int(ref.taken.timestamp()) if ref and ref.taken else None

    @property
    def guest_kind(self) -> str | None:
        """qemu or lxc for backups and guest volumes, when known."""
        if self.subtype:
            return KINDS.get(self.subtype, self.subtype)
        ref = self.backup
        if ref:
            return ref.kind
        return {"images": "qemu", "rootdir": "lxc"}.get(self.content)

    @property
    def verification_state(self) -> str | None:
        """The last verification result ('ok', 'failed'), for PBS backups that have one."""
        state = (self.verification or {}).get("state")
        return str(state) if state else None


_VOLUMES = TypeAdapter(list[Volume])


@dataclass
class StorageRow:
    """One storage: per node for local ones, once for shared ones, with its usage."""

    storage: str
    plugintype: str
    shared: bool
    content: list[str]
    node: str | None
    nodes: list[str] = field(default_factory=list)
    online_nodes: list[str] = field(default_factory=list)
    used: int = 0
    total: int = 0
    available: bool = False

    @property
    def offline(self) -> bool:
        """True when none of its nodes is online."""
        return not self.online_nodes

    @property
    def label(self) -> str:
        """'nas-backup' for a shared storage, 'local on pve1' for a local one."""
        return self.storage if self.shared else f"{self.storage} on {self.node}"

    @property
    def home(self) -> str:
        """The node to address it through: its own, or the first online node of a shared one."""
        return self.node or (self.online_nodes or self.nodes)[0]

    @property
    def percent(self) -> float:
        """Used share, 0-100."""
        return 100.0 * self.used / self.total if self.total else 0.0

    @property
    def warn(self) -> bool:
        """True above the 85 % line."""
        return self.available and self.percent > STORAGE_WARN_PERCENT

    def reach(self, node: str) -> str:
        """The node to read this storage through when asked via `node`: itself, or any online one if shared."""
        if self.shared and node not in self.online_nodes and self.online_nodes:
            return self.online_nodes[0]
        return node


@dataclass
class StorageOverview:
    """Every storage, and what could not be read."""

    storages: list[StorageRow]
    offline_nodes: list[str]
    problems: list[str]

    def find(self, node: str, storage: str) -> StorageRow | None:
        """The storage as seen from `node` (a shared one from any of its nodes)."""
        for row in self.storages:
            if row.storage == storage and (row.node == node or (row.shared and node in row.nodes)):
                return row
        return None


def build_overview(resources: ClusterResources) -> StorageOverview:
    """Storages from /cluster/resources: a local one per node, a shared one once; offline nodes marked."""
    offline = sorted(n.node for n in resources.nodes if not n.online)
    rows: dict[tuple[str, str], StorageRow] = {}
    for entry in resources.storages:
        key = (entry.storage, "" if entry.shared else entry.node)
        row = rows.get(key)
        if row is None:
            node = None if entry.shared else entry.node
            row = rows[key] = StorageRow(
                entry.storage, entry.plugintype, entry.shared, list(entry.content), node
            )
        row.nodes.append(entry.node)
        if entry.node in offline:
            continue
        row.online_nodes.append(entry.node)
        if entry.status == "available" and not row.available:
            row.available, row.used, row.total = True, entry.disk, entry.maxdisk
    problems = [
        f"Node {node} is offline: its storages are shown as unavailable and their content cannot be read."
        for node in offline
    ]
    ordered = sorted(rows.values(), key=lambda r: (not r.shared, r.node or "", r.storage))
    return StorageOverview(ordered, offline, problems)


class StorageService:
    """Storages and their content, read through the shared client."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve

    async def overview(self) -> StorageOverview:
        """Every storage with usage, from the cached /cluster/resources."""
        return build_overview(await self.pve.cluster_resources())

    async def storage(self, node: str, storage: str) -> StorageRow:
        """One storage as seen from a node; NotFound when the node has no such storage."""
        check_node(node)
        check_storage(storage)
        row = (await self.overview()).find(node, storage)
        if row is None:
            raise NotFound(f"There is no storage '{storage}' on node '{node}'.")
        return row

    async def volumes(self, row: StorageRow, node: str, content_type: str | None = None) -> list[Volume]:
        """GET /nodes/{node}/storage/{storage}/content, typed; PveUnavailable when its node is offline."""
        if content_type is not None and content_type not in CONTENT_TYPES:
            raise Invalid(f"invalid content type '{content_type}'", field="content")
        target = row.reach(node)
        if target not in row.online_nodes:
            raise PveUnavailable("/cluster/resources lists it as offline", node=target)
        params = {"content": content_type} if content_type else {}
        data = await self.pve.get(StoragePath(target, row.storage).content, **params)
        rows = await validate_rows_in_turns(_VOLUMES, data if isinstance(data, list) else [])
        return sorted(rows, key=volume_order)

    async def content(self, node: str, storage: str, content_type: str | None = None) -> list[Volume]:
        """What the storage holds, optionally one content type only."""
        row = await self.storage(node, storage)
        return await self.volumes(row, node, content_type)


def volume_order(volume: Volume) -> tuple[int, int, str]:
    """By content type as the pages list them; backups newest first, the rest by name."""
    rank = CONTENT_TYPES.index(volume.content) if volume.content in CONTENT_TYPES else len(CONTENT_TYPES)
    newest = -(volume.created or 0) if volume.content == "backup" else 0
    return rank, newest, volume.name.lower()
