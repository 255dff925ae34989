"""Views of the cluster: health, nodes, guests, storage, backups, tasks, metric history and the connection."""

from app.proxmox.connection import PveConnection
from app.proxmox.rrd import Consolidation, Timeframe
from app.services.cluster.appliances import Appliance, ApplianceList, list_appliances
from app.services.cluster.backups import Backup, BackupFilter, BackupService
from app.services.cluster.cluster import Cluster
from app.services.cluster.connection import check_connection, pve_connection
from app.services.cluster.guest_detail import FormChoices, GuestDetail, GuestDetailService
from app.services.cluster.guest_edit import EditSource, PendingChange
from app.services.cluster.guest_view import SnapshotNode
from app.services.cluster.history import (
    DEFAULT_CF,
    DEFAULT_TIMEFRAME,
    GUEST_CHARTS,
    NODE_CHARTS,
    STORAGE_CHARTS,
    ChartSpec,
    History,
    HistoryService,
    Unit,
)
from app.services.cluster.inventory import (
    PER_PAGE_CHOICES,
    STATUSES,
    GuestFilter,
    GuestPage,
    GuestQuery,
    InventoryService,
)
from app.services.cluster.media import UrlMetadata, url_metadata
from app.services.cluster.node_log import LogEntry, LogPage, LogQuery, NodeLogService
from app.services.cluster.nodes import NodeDetail, NodeService
from app.services.cluster.overview import ClusterService
from app.services.cluster.provisioning import ProvisionChoices, provision_choices
from app.services.cluster.snapshot_list import SnapshotListService
from app.services.cluster.storage import (
    CONTENT_LABELS,
    CONTENT_TYPES,
    NODE_PATTERN,
    STORAGE_PATTERN,
    STORAGE_WARN_PERCENT,
    ContentType,
    StorageService,
    Volume,
    check_storage,
)
from app.services.cluster.tasks import (
    TASK_STATES,
    TYPE_PATTERN,
    ClusterTask,
    TaskFilter,
    TaskService,
    TaskState,
)

__all__ = [
    "Appliance",
    "ApplianceList",
    "Backup",
    "BackupFilter",
    "BackupService",
    "CONTENT_LABELS",
    "CONTENT_TYPES",
    "ChartSpec",
    "Cluster",
    "ClusterService",
    "ClusterTask",
    "Consolidation",
    "ContentType",
    "DEFAULT_CF",
    "DEFAULT_TIMEFRAME",
    "EditSource",
    "FormChoices",
    "GUEST_CHARTS",
    "GuestDetail",
    "GuestDetailService",
    "GuestFilter",
    "GuestPage",
    "GuestQuery",
    "History",
    "HistoryService",
    "InventoryService",
    "LogEntry",
    "LogPage",
    "LogQuery",
    "NODE_CHARTS",
    "NODE_PATTERN",
    "NodeDetail",
    "NodeLogService",
    "NodeService",
    "PER_PAGE_CHOICES",
    "PendingChange",
    "ProvisionChoices",
    "PveConnection",
    "STATUSES",
    "STORAGE_CHARTS",
    "STORAGE_PATTERN",
    "STORAGE_WARN_PERCENT",
    "SnapshotListService",
    "SnapshotNode",
    "StorageService",
    "TASK_STATES",
    "TYPE_PATTERN",
    "TaskFilter",
    "TaskService",
    "TaskState",
    "Timeframe",
    "Unit",
    "UrlMetadata",
    "Volume",
    "check_connection",
    "check_storage",
    "provision_choices",
    "list_appliances",
    "pve_connection",
    "url_metadata",
]
