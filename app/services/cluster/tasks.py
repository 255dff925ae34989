"""Tasks: the cluster's recent tasks, filtered, and one task's status and whole log by its UPID."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from pydantic import TypeAdapter

from app.proxmox.cache import SingleFlight
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveNotFound
from app.proxmox.models import PveModel, TaskStatus, validate_rows
from app.proxmox.paths import CLUSTER_TASKS, NodePath
from app.proxmox.upid import Upid, parse_upid
from app.services.errors import Invalid, NotFound

TaskState = Literal["running", "ok", "warning", "error"]
TASK_STATES: tuple[TaskState, ...] = ("running", "ok", "warning", "error")
# A task type as a UPID carries it (FACTS.md section 3).
TYPE_PATTERN = r"^[^:\s/]+$"


def task_state(status: str | None, running: bool) -> TaskState:
    """running; ok only for exactly 'OK'; warning for 'WARNINGS: n'; anything else is an error."""
    if running:
        return "running"
    if status == "OK":
        return "ok"
    if (status or "").startswith("WARNINGS"):
        return "warning"
    return "error"


def who(user: str, tokenid: str | None) -> str:
    """'root@pam!proxgate' for a token's task, whether PVE split the token off or not."""
    return f"{user}!{tokenid}" if tokenid and "!" not in user else user


class ClusterTask(PveModel):
    """An entry of GET /cluster/tasks (or /nodes/{node}/tasks): `status` is the exit status or RUNNING."""

    upid: str
    node: str
    type: str = ""
    id: str = ""
    user: str = ""
    tokenid: str | None = None
    pid: int = 0
    pstart: int = 0
    starttime: int = 0
    endtime: int | None = None
    status: str | None = None

    @property
    def running(self) -> bool:
        """True while the task runs: PVE says RUNNING, or gives neither status nor end."""
        return self.status == "RUNNING" or (not self.status and self.endtime is None)

    @property
    def state(self) -> TaskState:
        """running, ok, warning or error."""
        return task_state(self.status, self.running)

    @property
    def vmid(self) -> int | None:
        """The guest the task is about, when its id is a vmid."""
        return int(self.id) if self.id.isdigit() else None

    @property
    def who(self) -> str:
        """The user, with the API token's name when a token started it."""
        return who(self.user, self.tokenid)

    def duration(self, now: float) -> int | None:
        """Seconds it ran (so far, while running)."""
        if self.running:
            return max(0, int(now) - self.starttime)
        return self.endtime - self.starttime if self.endtime else None


_TASKS = TypeAdapter(list[ClusterTask])


@dataclass
class TaskFilter:
    """Which tasks to show; user matches as PVE's userfilter does (a case-insensitive part)."""

    node: str | None = None
    type: str | None = None
    status: TaskState | None = None
    user: str | None = None
    vmid: int | None = None

    def keeps(self, task: ClusterTask) -> bool:
        """True if the task passes every given test."""
        return (
            (self.node is None or task.node == self.node)
            and (self.type is None or task.type == self.type)
            and (self.status is None or task.state == self.status)
            and (self.user is None or self.user.lower() in task.who.lower())
            and (self.vmid is None or task.vmid == self.vmid)
        )


@dataclass
class TaskDetail:
    """One task: its status, its whole log, and its end when PVE's task list knows it."""

    upid: Upid
    status: TaskStatus
    log: list[str]
    endtime: int | None
    now: float

    @property
    def running(self) -> bool:
        """True until the task stops."""
        return self.status.running

    @property
    def state(self) -> TaskState:
        """running, ok, warning or error."""
        return task_state(self.status.exitstatus, self.running)

    @property
    def who(self) -> str:
        """The user, with the API token's name when a token started it."""
        return who(self.status.user or self.upid.user, self.status.tokenid)

    @property
    def duration(self) -> int | None:
        """Seconds it ran (so far, while running)."""
        if self.running:
            return max(0, int(self.now) - self.upid.starttime)
        return self.endtime - self.upid.starttime if self.endtime else None


# How many ended tasks are remembered as seen (each seen first expires the cluster view once).
ENDED_REMEMBERED = 1024


class TaskService:
    """Recent tasks cluster-wide (cached as briefly as the cluster index) and single tasks."""

    def __init__(self, pve: PveClient) -> None:
        self.pve = pve
        self._recent: SingleFlight[list[ClusterTask]] = SingleFlight(pve.connection.resources_ttl)
        self._ended: dict[str, None] = {}  # the tasks whose end this process has seen, oldest first

    async def list_tasks(self, wanted: TaskFilter | None = None) -> list[ClusterTask]:
        """GET /cluster/tasks, filtered, newest first."""
        tasks = await self._recent.get(self._fetch_recent)
        wanted = wanted or TaskFilter()
        return [task for task in tasks if wanted.keeps(task)]

    async def _fetch_recent(self) -> list[ClusterTask]:
        data = await self.pve.get(CLUSTER_TASKS)
        tasks = validate_rows(_TASKS, data if isinstance(data, list) else [])
        # pstart (the worker's start in clock ticks) orders tasks started within the same second.
        return sorted(tasks, key=lambda t: (-t.starttime, -t.pstart, t.upid))

    async def guest_names(self) -> dict[int, str]:
        """vmid -> guest name from the cached cluster index, to name the guests tasks are about."""
        try:
            resources = await self.pve.cluster_resources()
        except PveError:
            return {}  # names are a nicety; the tasks stand without them
        return {guest.vmid: guest.name for guest in resources.guests}

    async def task_detail(self, upid: str) -> TaskDetail:
        """Status and whole log of a task; Invalid for a malformed UPID, NotFound for an unknown one."""
        try:
            parsed = parse_upid(upid)
        except ValueError:
            raise Invalid("unable to parse worker upid", field="upid") from None
        try:
            status = await self.pve.task_status(parsed.node, parsed.text)
            lines = await self.pve.task_log(parsed.node, parsed.text)
        except PveNotFound as exc:
            raise NotFound(f"Proxmox: {exc.errors.get('upid') or exc.message}") from exc
        endtime = None if status.running else await self._endtime(parsed)
        if not status.running:
            self._forget_if_behind(parsed.text)
        return TaskDetail(parsed, status, [line.t for line in lines], endtime, time.time())

    def _forget_if_behind(self, upid: str) -> None:
        """Drop what was read before this task ended: the recent list when it still shows the task running (or
        not at all), and, the first time its end is seen here, the cluster view, which a task changes (a new
        guest's name, a guest's state). Pages that refresh as the task ends then show what it did."""
        recent = self._recent.peek()
        if recent is not None and not any(t.upid == upid and t.endtime for t in recent):
            self._recent.invalidate()
        if upid not in self._ended:
            self._ended[upid] = None
            while len(self._ended) > ENDED_REMEMBERED:
                del self._ended[next(iter(self._ended))]
            self.pve.expire_resources()

    async def _endtime(self, upid: Upid) -> int | None:
        """The end of a stopped task: the status has none; the node's task list has (narrowed to it)."""
        params: dict[str, object] = {
            "since": upid.starttime - 1,
            "until": upid.starttime + 1,
            "typefilter": upid.type,
            "source": "all",
        }
        if upid.vmid is not None:
            params["vmid"] = upid.vmid
        try:
            data = await self.pve.get(NodePath(upid.node).tasks, **params)
        except PveError:
            return None  # the end time is a nicety; the status and log are what matter
        for task in validate_rows(_TASKS, data if isinstance(data, list) else []):
            if task.upid == upid.text:
                return task.endtime
        return None
