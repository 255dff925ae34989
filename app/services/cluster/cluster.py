"""The cluster: one Proxmox VE cluster as this process sees it, its client and the views that cache it.

Every read of the cluster goes through one of these, so a second cluster later is a second `Cluster`, not a
rewrite. The views hold their caches for the life of the process; a guest's detail is built per request over
the shared ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.proxmox.client import PveClient
from app.proxmox.connection import PveConnection
from app.proxmox.observer import UpstreamObserver
from app.services.cluster.backups import BackupService
from app.services.cluster.guest_detail import GuestDetailService
from app.services.cluster.history import HistoryService
from app.services.cluster.inventory import InventoryService
from app.services.cluster.node_log import NodeLogService
from app.services.cluster.nodes import NodeService
from app.services.cluster.overview import ClusterService
from app.services.cluster.snapshot_list import SnapshotListService
from app.services.cluster.storage import StorageService
from app.services.cluster.tasks import TaskService
from app.services.ips import FIRST_WAIT, AddressProbe, IpService, IpStore


@dataclass
class Cluster:
    """How the cluster is reached, its long-lived client, and the views of it (each with its caches)."""

    connection: PveConnection
    client: PveClient
    overview: ClusterService
    inventory: InventoryService
    nodes: NodeService
    storage: StorageService
    backups: BackupService
    tasks: TaskService
    history: HistoryService
    snapshots: SnapshotListService
    ips: IpService

    @classmethod
    def open(
        cls,
        connection: PveConnection,
        observer: UpstreamObserver | None = None,
        ip_store: IpStore | None = None,
        ips_wait: float = FIRST_WAIT,
        ip_probe: AddressProbe | None = None,
    ) -> Cluster:
        """The client and the views of the cluster at `connection` (the IP index kept in ip_store when given);
        close them with aclose()."""
        client = PveClient(connection, observer=observer)
        tasks = TaskService(client)
        return cls(
            connection=connection,
            client=client,
            overview=ClusterService(client),
            inventory=InventoryService(client),
            nodes=NodeService(client, tasks),
            storage=StorageService(client),
            backups=BackupService(client),
            tasks=tasks,
            history=HistoryService(client),
            snapshots=SnapshotListService(client),
            ips=IpService(client, store=ip_store, wait=ips_wait, probe=ip_probe),
        )

    @property
    def name(self) -> str:
        """The cluster's identity for now: the address its API is reached at."""
        return self.connection.address

    def guest_detail(self) -> GuestDetailService:
        """A guest page's builder over the shared address, backup and task views (and their caches)."""
        return GuestDetailService(self.client, self.ips, self.backups, self.tasks)

    def node_log(self) -> NodeLogService:
        """A reader of the nodes' system logs (nothing cached: a log is read when asked for)."""
        return NodeLogService(self.client)

    async def aclose(self) -> None:
        """Stop the views' background refreshes, then the client they use."""
        await self.ips.aclose()
        await self.backups.aclose()
        await self.client.aclose()
