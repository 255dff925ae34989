"""PveClient: the app's one way to Proxmox VE: generic calls, typed reads and the cached cluster index."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, BinaryIO, Self

from app.proxmox.cache import SingleFlight, SingleFlightMap
from app.proxmox.connection import PveConnection
from app.proxmox.errors import PveError, PveNotFound, PveRejected
from app.proxmox.models import (
    ClusterResources,
    ClusterStatus,
    GuestLocation,
    NodeResource,
    TaskLogLine,
    TaskStatus,
    Version,
)
from app.proxmox.observer import NullObserver, UpstreamObserver
from app.proxmox.paths import (
    BACKUP_JOBS,
    CLUSTER_RESOURCES,
    CLUSTER_STATUS,
    NEXTID,
    NODES,
    VERSION,
    NodePath,
    rrddata,
    segment,  # re-exported: its home before paths.py
)
from app.proxmox.rrd import RrdSeries, parse_rrddata
from app.proxmox.session import PveSession
from app.proxmox.wire import Responder

__all__ = ["PveClient", "PveConnection", "segment"]

RESOURCES_CACHE = "cluster_resources"
RRD_CACHE = "rrddata"
# Series kept at once (a day of a guest is about 200 KB); a series is fresh for one of its steps, at least this.
RRD_CACHE_SIZE = 200
RRD_MIN_TTL = 60.0
# Seconds an upload may wait for each part to be sent or for PVE's answer (it answers once it has the file).
UPLOAD_TIMEOUT = 120.0
# Lines per request when reading a whole task log.
LOG_PAGE = 1000
GUEST_PATH_RE = re.compile(r"^/nodes/[^/]+/(?:qemu|lxc)/\d+(?:/|$)")


class PveClient:
    """Async client for one PVE cluster: create one per process, close it with aclose() or `async with`."""

    def __init__(
        self,
        connection: PveConnection,
        observer: UpstreamObserver | None = None,
        *,
        responder: Responder | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        self._observer: UpstreamObserver = observer or NullObserver()
        # responder: answers in place of PVE (the operation tests'); requests go over HTTPS without one.
        self._session = PveSession(connection, self._observer, responder)
        # Counts what made the cluster view stale, so caches of other reads can tell they are stale too.
        self.changes = 0
        self._resources: SingleFlight[ClusterResources] = SingleFlight(
            connection.resources_ttl, clock, refresh_ahead=True
        )
        # Backup jobs are edited rarely, and every guest page orders its backup storages by them.
        self._backup_jobs: SingleFlight[list[Any]] = SingleFlight(connection.resources_ttl, clock)
        self._rrd: SingleFlightMap[tuple[str, str, str], RrdSeries] = SingleFlightMap(
            lambda series: max(RRD_MIN_TTL, float(series.step)), RRD_CACHE_SIZE, clock
        )

    def __repr__(self) -> str:
        return f"PveClient(host={self.connection.address!r}, token_id={self.connection.token_id!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel running cached fetches and close the connections."""
        self._resources.cancel()
        self._backup_jobs.cancel()
        self._rrd.cancel()
        await self._session.aclose()

    # ------------------------------------------------------------------ generic calls

    async def request(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Any API call (path relative to /api2/json); returns `data`."""
        try:
            return await self._session.request(method, path, params)
        except PveNotFound:
            if GUEST_PATH_RE.match(path):
                # The guest is gone or elsewhere (deleted, migrated): the index is stale.
                self.invalidate_resources()
            raise

    async def get(self, path: str, /, **params: Any) -> Any:
        """GET path with params in the query; retried on connection trouble."""
        return await self.request("GET", path, params)

    async def post(self, path: str, /, **params: Any) -> Any:
        """POST path with params form-encoded; never retried."""
        return await self.request("POST", path, params)

    async def put(self, path: str, /, **params: Any) -> Any:
        """PUT path with params form-encoded; never retried."""
        return await self.request("PUT", path, params)

    async def upload(
        self,
        path: str,
        fields: Mapping[str, Any],
        filename: str,
        file: BinaryIO,
    ) -> Any:
        """POST path (a storage's upload) as multipart form data, the file streamed; never retried."""
        return await self._session.upload(path, fields, filename, file, UPLOAD_TIMEOUT)

    async def delete(self, path: str, /, **params: Any) -> Any:
        """DELETE path with params in the query; never retried."""
        return await self.request("DELETE", path, params)

    # ------------------------------------------------------------------ typed reads

    async def version(self) -> Version:
        """GET /version."""
        return Version.model_validate(await self.get(VERSION))

    async def cluster_status(self) -> ClusterStatus:
        """GET /cluster/status."""
        return ClusterStatus.from_api(await self.get(CLUSTER_STATUS) or [])

    async def nodes(self) -> list[NodeResource]:
        """GET /nodes."""
        return [NodeResource.model_validate(item) for item in await self.get(NODES) or []]

    async def cluster_resources(self, *, keep_for: float = 0.0) -> ClusterResources:
        """GET /cluster/resources; cached for resources_ttl, single-flight. With keep_for, a view slow to read
        and expired less than that long ago is returned at once while a new one is read (for pages that show
        its age)."""
        return await self._resources.get(self._fetch_resources, self._count_lookup, keep_for=keep_for)

    def _count_lookup(self, hit: bool) -> None:
        self._observer.cache_lookup(RESOURCES_CACHE, hit)

    async def _fetch_resources(self) -> ClusterResources:
        data = await self.get(CLUSTER_RESOURCES)
        return await ClusterResources.from_api_in_turns(data or [], datetime.now(UTC))

    def invalidate_resources(self) -> None:
        """Forget the cached /cluster/resources: a guest was not where the view said (callers wait anew)."""
        self.changes += 1
        self._resources.invalidate()

    def expire_resources(self) -> None:
        """A change was made (an action's call, a task's end): the view is out of date. At a size where it is
        slow to read, pages keep it while one new read replaces it, instead of each change starting another."""
        self.changes += 1
        self._resources.expire()

    async def backup_jobs(self) -> list[Any]:
        """GET /cluster/backup (the scheduled backup jobs); cached for resources_ttl, single-flight."""

        async def fetch() -> list[Any]:
            jobs = await self.get(BACKUP_JOBS)
            return jobs if isinstance(jobs, list) else []

        return await self._backup_jobs.get(fetch)

    async def locate(self, vmid: int) -> GuestLocation:
        """Node and type of a guest from the GET /cluster/resources index, refreshed once on a miss."""
        found = (await self.resources_holding(vmid)).locate(vmid)
        if found is None:
            raise PveNotFound(f"VM {vmid} does not exist", method="GET", path=CLUSTER_RESOURCES)
        return found

    async def resources_holding(self, vmid: int) -> ClusterResources:
        """The cluster view, read again when it lacks the guest but Proxmox says the VMID is taken (a guest
        made since, or one moved); a VMID nobody holds costs one small call, not a read of every guest."""
        view = await self.cluster_resources()
        if view.guest(vmid) is not None or not await self.vmid_taken(vmid):
            return view
        return await self._resources.newer_than(view, self._fetch_resources)

    async def vmid_taken(self, vmid: int) -> bool:
        """Whether a guest holds vmid in the cluster (GET /cluster/nextid?vmid=N refuses a taken one)."""
        try:
            await self.get(NEXTID, vmid=vmid)
        except PveRejected as exc:
            return "vmid" in exc.errors
        except PveError:
            return True  # cannot tell: the caller reads the view again, as it would without asking
        return False

    async def rrddata(self, path: str, timeframe: str, cf: str) -> RrdSeries:
        """GET {path}/rrddata of a node, guest or storage path; cached for the series' step, single-flight."""

        async def fetch() -> RrdSeries:
            return parse_rrddata(await self.get(rrddata(path), timeframe=timeframe, cf=cf), timeframe)

        return await self._rrd.get(
            (path, timeframe, cf), fetch, lambda hit: self._observer.cache_lookup(RRD_CACHE, hit)
        )

    async def task_status(self, node: str, upid: str) -> TaskStatus:
        """GET /nodes/{node}/tasks/{upid}/status."""
        data = await self.get(NodePath(node).task_status(upid))
        return TaskStatus.model_validate(data)

    async def task_log(self, node: str, upid: str, start: int = 0, limit: int = 0) -> list[TaskLogLine]:
        """GET /nodes/{node}/tasks/{upid}/log from line `start` (0-based); limit 0 reads to the end."""
        path = NodePath(node).task_log(upid)
        if limit:
            return _log_lines(await self.get(path, start=start, limit=limit))
        # PVE reads to the end with limit=0, but not every server honours it (fakepve answers []): page.
        lines: list[TaskLogLine] = []
        while True:
            page = _log_lines(await self.get(path, start=start + len(lines), limit=LOG_PAGE))
            lines += page
            if len(page) < LOG_PAGE:
                return lines


def _log_lines(data: Any) -> list[TaskLogLine]:
    return [TaskLogLine.model_validate(item) for item in data or []]
