"""Every Proxmox VE API path the app calls, built here and nowhere else, each variable segment escaped once.

Metrics label requests by these paths with the names as placeholders (`observer.path_template`): a new
kind of path may need its placeholder there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

__all__ = [
    "BACKUP_JOBS",
    "CLUSTER_RESOURCES",
    "CLUSTER_STATUS",
    "CLUSTER_TASKS",
    "NEXTID",
    "NODES",
    "NOT_BACKED_UP",
    "VERSION",
    "GuestPath",
    "GuestType",
    "NodePath",
    "StoragePath",
    "ha_migrate",
    "rrddata",
    "segment",
]

GuestType = Literal["qemu", "lxc"]

VERSION = "/version"
NODES = "/nodes"
CLUSTER_STATUS = "/cluster/status"
CLUSTER_RESOURCES = "/cluster/resources"
CLUSTER_TASKS = "/cluster/tasks"
NEXTID = "/cluster/nextid"
BACKUP_JOBS = "/cluster/backup"
NOT_BACKED_UP = "/cluster/backup-info/not-backed-up"
HA_RESOURCES = "/cluster/ha/resources"
HA_GROUPS = "/cluster/ha/groups"
HA_RULES = "/cluster/ha/rules"
HA_STATUS = "/cluster/ha/status/current"
ACCESS_TICKET = "/access/ticket"
ACCESS_USERS = "/access/users"
ACCESS_ACL = "/access/acl"
ACCESS_PERMISSIONS = "/access/permissions"
# ACL paths: where Proxmox grants privileges (pveum acl modify PATH), not API paths.
ACL_ROOT, ACL_VMS, ACL_POOLS, ACL_STORAGE, ACL_ACCESS = "/", "/vms", "/pool", "/storage", "/access"


def segment(value: object) -> str:
    """A value as one URL path segment (a volume id's '/' is escaped; UPIDs keep their ':', '@' and '!')."""
    return quote(str(value), safe=":@!")


def ha_migrate(sid: str) -> str:
    """/cluster/ha/resources/{sid}/migrate: HA moves the guest it manages (sid 'vm:100', 'ct:101')."""
    return f"/cluster/ha/resources/{segment(sid)}/migrate"


def rrddata(owner: str) -> str:
    """The RRD series of a node's, guest's or storage's path (its `base`)."""
    return f"{owner}/rrddata"


@dataclass(frozen=True, slots=True)
class NodePath:
    """Paths under /nodes/{node}."""

    node: str

    @property
    def base(self) -> str:
        """/nodes/{node}."""
        return f"{NODES}/{segment(self.node)}"

    @property
    def status(self) -> str:
        """/nodes/{node}/status."""
        return f"{self.base}/status"

    @property
    def tasks(self) -> str:
        """/nodes/{node}/tasks: the node's task list."""
        return f"{self.base}/tasks"

    def task_status(self, upid: str) -> str:
        """/nodes/{node}/tasks/{upid}/status."""
        return f"{self.tasks}/{segment(upid)}/status"

    def task_log(self, upid: str) -> str:
        """/nodes/{node}/tasks/{upid}/log."""
        return f"{self.tasks}/{segment(upid)}/log"

    @property
    def journal(self) -> str:
        """/nodes/{node}/journal: the systemd journal, its first and last items the entries' cursors."""
        return f"{self.base}/journal"

    @property
    def syslog(self) -> str:
        """/nodes/{node}/syslog: the system log as numbered lines (what versions without journal offer)."""
        return f"{self.base}/syslog"

    @property
    def aplinfo(self) -> str:
        """/nodes/{node}/aplinfo: GET lists the appliance templates; POST downloads one onto a storage."""
        return f"{self.base}/aplinfo"

    @property
    def query_url_metadata(self) -> str:
        """/nodes/{node}/query-url-metadata: a URL's file name, size and type, as the node sees it."""
        return f"{self.base}/query-url-metadata"

    @property
    def network(self) -> str:
        """/nodes/{node}/network: the node's interfaces and bridges."""
        return f"{self.base}/network"

    @property
    def vzdump(self) -> str:
        """/nodes/{node}/vzdump: POST starts a backup."""
        return f"{self.base}/vzdump"

    @property
    def extractconfig(self) -> str:
        """/nodes/{node}/vzdump/extractconfig: the guest config saved in a backup."""
        return f"{self.vzdump}/extractconfig"

    def guests(self, type: GuestType) -> str:
        """/nodes/{node}/{type}: POST creates a guest of that type, or restores one from a backup."""
        return f"{self.base}/{segment(type)}"


@dataclass(frozen=True, slots=True)
class StoragePath:
    """Paths under /nodes/{node}/storage/{storage}: a storage as one node sees it."""

    node: str
    storage: str

    @property
    def base(self) -> str:
        """/nodes/{node}/storage/{storage}."""
        return f"{NodePath(self.node).base}/storage/{segment(self.storage)}"

    @property
    def content(self) -> str:
        """/nodes/{node}/storage/{storage}/content: the volumes it holds."""
        return f"{self.base}/content"

    @property
    def download_url(self) -> str:
        """/nodes/{node}/storage/{storage}/download-url: POST fetches a file (ISO, template) by URL."""
        return f"{self.base}/download-url"

    @property
    def upload(self) -> str:
        """/nodes/{node}/storage/{storage}/upload: POST a file (ISO, template) as multipart form data."""
        return f"{self.base}/upload"

    def volume(self, volid: str) -> str:
        """/nodes/{node}/storage/{storage}/content/{volume}; the volume id's '/' is escaped."""
        return f"{self.content}/{segment(volid)}"


@dataclass(frozen=True, slots=True)
class GuestPath:
    """Paths under /nodes/{node}/{type}/{vmid}: a VM's (qemu) or a container's (lxc)."""

    node: str
    type: GuestType
    vmid: int

    @property
    def base(self) -> str:
        """/nodes/{node}/{type}/{vmid}: DELETE destroys the guest."""
        return f"{NodePath(self.node).guests(self.type)}/{segment(self.vmid)}"

    @property
    def config(self) -> str:
        """/nodes/{node}/{type}/{vmid}/config."""
        return f"{self.base}/config"

    def status(self, action: str) -> str:
        """/nodes/{node}/{type}/{vmid}/status/{action}: 'current' reads it; 'start', 'shutdown', ... change it."""
        return f"{self.base}/status/{segment(action)}"

    @property
    def snapshots(self) -> str:
        """/nodes/{node}/{type}/{vmid}/snapshot: the list; POST takes one."""
        return f"{self.base}/snapshot"

    def snapshot(self, name: str) -> str:
        """/nodes/{node}/{type}/{vmid}/snapshot/{snapname}: DELETE deletes it."""
        return f"{self.snapshots}/{segment(name)}"

    def snapshot_config(self, name: str) -> str:
        """/nodes/{node}/{type}/{vmid}/snapshot/{snapname}/config: the config as the snapshot holds it."""
        return f"{self.snapshot(name)}/config"

    def rollback(self, name: str) -> str:
        """/nodes/{node}/{type}/{vmid}/snapshot/{snapname}/rollback."""
        return f"{self.snapshot(name)}/rollback"

    @property
    def pending(self) -> str:
        """/nodes/{node}/{type}/{vmid}/pending: each config key with its current and pending value."""
        return f"{self.base}/pending"

    @property
    def cloudinit(self) -> str:
        """/nodes/{node}/qemu/{vmid}/cloudinit: GET what the drive was made from; PUT regenerates it."""
        return f"{self.base}/cloudinit"

    @property
    def resize(self) -> str:
        """/nodes/{node}/{type}/{vmid}/resize."""
        return f"{self.base}/resize"

    @property
    def clone(self) -> str:
        """/nodes/{node}/{type}/{vmid}/clone."""
        return f"{self.base}/clone"

    @property
    def migrate(self) -> str:
        """/nodes/{node}/{type}/{vmid}/migrate: GET its preconditions; POST moves it to another node."""
        return f"{self.base}/migrate"

    @property
    def template(self) -> str:
        """/nodes/{node}/{type}/{vmid}/template."""
        return f"{self.base}/template"

    def agent(self, command: str) -> str:
        """/nodes/{node}/qemu/{vmid}/agent/{command}: a question to a VM's guest agent."""
        return f"{self.base}/agent/{segment(command)}"

    @property
    def interfaces(self) -> str:
        """/nodes/{node}/lxc/{vmid}/interfaces: a running container's addresses."""
        return f"{self.base}/interfaces"
