"""One node: its status and versions, its storage, its guests and recent tasks; and the nodes' addresses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.proxmox.cache import SingleFlight
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.models import GuestResource, NodeResource
from app.proxmox.paths import NodePath
from app.services.cluster.guest_detail import Section
from app.services.cluster.inventory.index import natural_key
from app.services.cluster.overview import short_version
from app.services.cluster.storage import StorageRow, build_overview, check_node
from app.services.cluster.tasks import ClusterTask, TaskFilter, TaskService
from app.services.errors import Invalid, NotFound, ServiceError

T = TypeVar("T")
RECENT_TASKS = 10
# Node addresses change rarely; reading /cluster/status for every guest page would be one call too many.
ADDRESS_TTL = 60.0


@dataclass
class NodeDetail:
    """The node page's data; `status` is GET /nodes/{node}/status ({} when it could not be read)."""

    resource: NodeResource
    ip: str | None = None
    status: dict[str, Any] = field(default_factory=dict)
    storages: list[StorageRow] = field(default_factory=list)
    guests: list[GuestResource] = field(default_factory=list)
    tasks: list[ClusterTask] = field(default_factory=list)
    problems: list[Section] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The node's name."""
        return self.resource.node

    @property
    def online(self) -> bool:
        """True when Proxmox lists the node online."""
        return self.resource.online

    @property
    def version(self) -> str | None:
        """PVE's version: '9.1.9' of 'pve-manager/9.1.9/…'."""
        return short_version(self.status.get("pveversion"))

    @property
    def kernel(self) -> str | None:
        """The running kernel's release ('6.17.2-1-pve'), else the whole kversion line."""
        current = self.status.get("current-kernel")
        if isinstance(current, dict) and current.get("release"):
            return str(current["release"])
        return str(self.status["kversion"]) if self.status.get("kversion") else None

    def part(self, name: str) -> dict[str, Any]:
        """A dict of the status ('cpuinfo', 'memory', 'swap', 'rootfs'), {} when absent."""
        value = self.status.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def loadavg(self) -> list[str]:
        """The 1, 5 and 15 minute load averages as PVE prints them."""
        value = self.status.get("loadavg")
        return [str(v) for v in value] if isinstance(value, list) else []

    @property
    def running(self) -> int:
        """Guests running on the node (templates aside)."""
        return sum(1 for g in self.guests if g.running and not g.template)


class NodeService:
    """Reads one node in parallel; a part that cannot be read says why and the rest still shows."""

    def __init__(self, pve: PveClient, tasks: TaskService) -> None:
        self.pve = pve
        self.tasks = tasks
        self._addresses: SingleFlight[dict[str, str]] = SingleFlight(ADDRESS_TTL)

    async def check_known(self, node: str | None, missing: type[ServiceError] = Invalid) -> None:
        """Nothing when the cluster has this node (or none is given); else `missing` (Invalid: a filter's
        value is wrong, 422) naming the nodes, so that a caller can turn '2' into 'pve2'."""
        if node is None:
            return
        check_node(node)
        resources = await self.pve.cluster_resources()
        names = [n.node for n in resources.nodes]
        # Without Sys.Audit on /nodes the list is empty: nothing to tell a good name from a bad one by.
        if names and node not in names:
            raise missing(unknown_node(node, names), field="node")

    async def detail(self, node: str) -> NodeDetail:
        """The node's page; NotFound (naming the nodes) when the cluster has no such node."""
        check_node(node)
        resources = await self.pve.cluster_resources()
        resource = next((n for n in resources.nodes if n.node == node), None)
        if resource is None:
            raise NotFound(unknown_node(node, [n.node for n in resources.nodes]))
        view = NodeDetail(resource)
        view.guests = sorted((g for g in resources.guests if g.node == node), key=lambda g: g.vmid)
        view.storages = [s for s in build_overview(resources).storages if node in s.nodes]
        status: Awaitable[Any] = self.pve.get(NodePath(node).status) if resource.online else _none()
        data, addresses, tasks = await asyncio.gather(
            self._section(view, "status", status, {}),
            self._section(view, "address", self.addresses(), {}),
            self._section(view, "tasks", self.tasks.list_tasks(TaskFilter(node=node)), []),
        )
        view.status = data if isinstance(data, dict) else {}
        view.ip = addresses.get(node)
        view.tasks = tasks[:RECENT_TASKS]
        return view

    async def addresses(self) -> dict[str, str]:
        """Node name -> its address from GET /cluster/status, cached for a minute."""
        return await self._addresses.get(self._fetch_addresses)

    async def _fetch_addresses(self) -> dict[str, str]:
        status = await self.pve.cluster_status()
        return {n.name: n.ip for n in status.nodes if n.ip}

    @staticmethod
    async def _section(view: NodeDetail, name: str, call: Awaitable[T], empty: T) -> T:
        try:
            return await call
        except PveError as exc:
            view.problems.append(Section(name, str(exc)))
        return empty


async def _none() -> None:
    """Nothing to read (the status of an offline node)."""
    return None


async def require_node(pve: PveClient, node: str) -> None:
    """Nothing when the cluster has this node; NotFound naming the nodes otherwise (an empty list, as a token
    without Sys.Audit on /nodes sees, tells nothing, so the node is left to Proxmox)."""
    check_node(node)
    names = [n.node for n in (await pve.cluster_resources()).nodes]
    if names and node not in names:
        raise NotFound(unknown_node(node, names))


def unknown_node(node: str, names: list[str]) -> str:
    """What to say of an unknown node: the cluster's nodes, in natural order."""
    if not names:
        return f"There is no node '{node}'."
    return f"There is no node '{node}'; choose one of: {', '.join(sorted(names, key=natural_key))}."
