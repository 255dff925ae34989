"""Cluster health for the dashboard and /api/v1/cluster: quorum, nodes, storage, guest counts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveForbidden
from app.proxmox.models import ClusterResources
from app.proxmox.paths import NodePath
from app.services.cluster.storage import StorageRow, build_overview

VERSION_TTL = 60.0
# Per-node status reads for versions: bounded so a 20-node cluster is not hit all at once.
VERSION_CONCURRENCY = 4


@dataclass
class NodeView:
    """One node as the dashboard shows it."""

    name: str
    online: bool
    ip: str | None = None
    cpu: float = 0.0
    maxcpu: int = 0
    mem: int = 0
    maxmem: int = 0
    disk: int = 0
    maxdisk: int = 0
    uptime: int = 0
    version: str | None = None
    guests_running: int = 0
    guests_total: int = 0


@dataclass
class ClusterOverview:
    """Everything the dashboard needs, and what could not be read."""

    name: str | None = None
    quorate: bool | None = None
    version: str | None = None
    nodes: list[NodeView] = field(default_factory=list)
    storages: list[StorageRow] = field(default_factory=list)
    running: int = 0
    stopped: int = 0
    templates: int = 0
    vms: int = 0
    containers: int = 0
    # The running and stopped guests by kind: the cards' counts broken down.
    running_vms: int = 0
    running_containers: int = 0
    problems: list[str] = field(default_factory=list)


def short_version(pveversion: str | None) -> str | None:
    """'pve-manager/9.0.10/deadbeef' -> '9.0.10'."""
    if not pveversion:
        return None
    parts = pveversion.split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "pve-manager" else pveversion


class ClusterService:
    """Reads cluster health through the shared client; caches per-node versions briefly."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve
        self._versions: dict[str, tuple[float, str | None]] = {}
        self._version_reads: asyncio.Future[None] | None = None
        # The counts of the cluster view last summed up: every dashboard view of one /cluster/resources answer
        # would walk the same 10,000 guests again.
        self._counted: tuple[ClusterResources, ClusterOverview] | None = None

    async def overview(self) -> ClusterOverview:
        """Quorum, nodes, storage and guest counts; raises PveError only if resources are unreadable."""
        view = self._summed(await self.pve.cluster_resources())
        await self._apply_status(view)
        await self._apply_versions(view)
        return view

    def _summed(self, resources: ClusterResources) -> ClusterOverview:
        """Guest counts, nodes and storages of this cluster view, as a copy the caller may change."""
        if self._counted is None or self._counted[0] is not resources:
            view = ClusterOverview()
            self._count_guests(view, resources)
            view.nodes = self._nodes(resources)
            view.storages = build_overview(resources).storages
            self._counted = (resources, view)
        counted = self._counted[1]
        nodes = [replace(n) for n in counted.nodes]
        return replace(counted, nodes=nodes, storages=list(counted.storages), problems=[])

    @staticmethod
    def _count_guests(view: ClusterOverview, resources: ClusterResources) -> None:
        for guest in resources.guests:
            if guest.template:
                view.templates += 1
                continue
            view.vms += guest.type == "qemu"
            view.containers += guest.type == "lxc"
            running = guest.status == "running"
            view.running += running
            view.stopped += not running
            view.running_vms += running and guest.type == "qemu"
            view.running_containers += running and guest.type == "lxc"

    @staticmethod
    def _nodes(resources: ClusterResources) -> list[NodeView]:
        nodes = {
            n.node: NodeView(
                name=n.node,
                online=n.status == "online",
                cpu=n.cpu or 0.0,
                maxcpu=int(n.maxcpu or 0),
                mem=n.mem or 0,
                maxmem=n.maxmem or 0,
                disk=n.disk or 0,
                maxdisk=n.maxdisk or 0,
                uptime=n.uptime or 0,
            )
            for n in resources.nodes
        }
        for guest in resources.guests:
            node = nodes.get(guest.node)
            if node is not None and not guest.template:
                node.guests_total += 1
                node.guests_running += guest.status == "running"
        return sorted(nodes.values(), key=lambda n: n.name)

    async def _apply_status(self, view: ClusterOverview) -> None:
        try:
            status = await self.pve.cluster_status()
        except PveForbidden as exc:
            view.problems.append(f"Quorum and node addresses are hidden: {exc}")
            return
        view.name, view.quorate = status.name, status.quorate
        by_name = {n.name: n for n in view.nodes}
        for member in status.nodes:
            node = by_name.get(member.name)
            if node is None:
                node = by_name[member.name] = NodeView(name=member.name, online=member.online)
                view.nodes.append(node)
            node.ip = member.ip
            node.online = node.online and member.online
        view.nodes.sort(key=lambda n: n.name)

    async def _apply_versions(self, view: ClusterOverview) -> None:
        online = [n.name for n in view.nodes if n.online]
        expired = [n for n in online if n not in self._versions or self._version_age(n) >= VERSION_TTL]
        if expired and self._version_reads is None:
            self._version_reads = asyncio.ensure_future(self._read_versions(expired))
        # Versions change only with an upgrade: a node read before keeps its version while it is read again in
        # the background; only a node never read is waited for.
        if self._version_reads is not None and any(n not in self._versions for n in online):
            await asyncio.shield(self._version_reads)
        for node in view.nodes:
            node.version = self._versions.get(node.name, (0.0, None))[1] if node.online else None
        versions = sorted({n.version for n in view.nodes if n.version})
        view.version = ", ".join(versions) if versions else None

    def _version_age(self, node: str) -> float:
        return time.monotonic() - self._versions[node][0]

    async def _read_versions(self, nodes: list[str]) -> None:
        limit = asyncio.Semaphore(VERSION_CONCURRENCY)

        async def one(node: str) -> None:
            async with limit:
                self._versions[node] = (time.monotonic(), await self._node_version(node))

        try:
            await asyncio.gather(*(one(n) for n in nodes))
        finally:
            self._version_reads = None

    async def _node_version(self, node: str) -> str | None:
        try:
            status = await self.pve.get(NodePath(node).status)
            version = short_version(status.get("pveversion")) if isinstance(status, dict) else None
        except PveError:
            version = None
        return version
