"""The Proxmox VE API client: PveClient, its connection settings, typed models and error tree.

Knows nothing of the database or HTML.
"""

from app.proxmox.client import PveClient
from app.proxmox.connection import PveConnection
from app.proxmox.errors import (
    PveAuthError,
    PveError,
    PveForbidden,
    PveNotFound,
    PveRejected,
    PveTaskFailed,
    PveTlsError,
    PveUnavailable,
)
from app.proxmox.models import (
    ClusterNode,
    ClusterResources,
    ClusterStatus,
    GuestLocation,
    GuestResource,
    NodeResource,
    StorageResource,
    TaskLogLine,
    TaskStatus,
    Version,
)
from app.proxmox.observer import UpstreamObserver, path_template
from app.proxmox.upid import Upid, parse_upid, try_parse_upid

__all__ = [
    "ClusterNode",
    "ClusterResources",
    "ClusterStatus",
    "GuestLocation",
    "GuestResource",
    "NodeResource",
    "PveAuthError",
    "PveClient",
    "PveConnection",
    "PveError",
    "PveForbidden",
    "PveNotFound",
    "PveRejected",
    "PveTaskFailed",
    "PveTlsError",
    "PveUnavailable",
    "StorageResource",
    "TaskLogLine",
    "TaskStatus",
    "Upid",
    "UpstreamObserver",
    "Version",
    "parse_upid",
    "path_template",
    "try_parse_upid",
]
