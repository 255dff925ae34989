"""Follow Proxmox's task lists and record every task Proxgate did not start (record.py writes each once).

Each round reads /cluster/tasks (every node's recent tasks in one call). A node's own list
(/nodes/{node}/tasks with `since`) is read where that tail may not reach back to where the last reading
stopped: at a process's first round (a restart catches up on what ran while Proxgate was down, as far back
as Proxmox still keeps it) and when more tasks ran since the last round than the tail holds. A node that
cannot be read keeps its cursor, and the window it leaves unread is named (`gaps`) until it is read.
The first round of a new install starts the record at that moment; earlier history is not imported.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import utcnow
from app.db.observed import ObservedTask
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveNotFound
from app.proxmox.paths import CLUSTER_TASKS, NodePath
from app.proxmox.upid import Upid, parse_upid, try_parse_upid
from app.services.background import Periodic
from app.services.sidedoors import cursors
from app.services.sidedoors.record import Recorder, Seen, calls_in_flight, known_upids
from app.services.sidedoors.removals import Present, Removals

log = logging.getLogger(__name__)
# Tasks are read again this far before a cursor: a task Proxgate's own call started is not recorded while
# that call has no UPID yet (its reconciler may look for it for minutes), so it must still be in reach later.
OVERLAP = 300
# How far PVE's clocks may be behind ours: a cursor stays this far behind the moment a list was read.
CLOCK_SLACK = 5
PAGE = 500
FOLLOW_AT_ONCE = 8


@dataclass
class ObserverStatus:
    """What the observer last did, for the side-door page: when, and which windows it could not read."""

    last_round: float | None = None
    gaps: dict[str, str] = field(default_factory=dict)


def seen_of(item: dict[str, Any]) -> Seen | None:
    """A task list entry as a Seen (None for an entry that is not a task)."""
    upid = try_parse_upid(item.get("upid"))
    if upid is None:
        return None
    status = item.get("status")
    # /cluster/tasks says RUNNING; a node's list leaves the status out until the task stopped.
    return Seen(upid, None if status in (None, "RUNNING") else str(status))


class TaskObserver(Periodic):
    """A background loop per process: tasks run beside Proxgate become audit events, once."""

    name = "task-observer"

    def __init__(
        self,
        pve: PveClient,
        sessions: async_sessionmaker[AsyncSession],
        recorder: Recorder,
        interval: float,
    ) -> None:
        super().__init__(interval)
        self.pve = pve
        self.sessions = sessions
        self.recorder = recorder
        self.status = ObserverStatus()
        # Guest names as the cluster view last showed them: a deleted guest is named by what it was called.
        self.names: dict[int, str] = {}
        # Nodes whose own task list this process has read since it started.
        self._caught_up: set[str] = set()
        self.removals = Removals(sessions, recorder)
        # The guests of the previous round, to notice one that left without a task (None before the first, which
        # compares with the guests the database keeps from the last round of any process).
        self._present: dict[int, Present] | None = None

    async def round(self) -> None:
        """Read what ran since the last round, record what is new, and follow the observed tasks still running."""
        began = int(time.time())
        if self._present is None:  # read before this round moves the cursors (the moment they were last seen)
            self._present = await self.removals.last_seen()
            # A guest deleted before this process first read the cluster is named as any process last saw it.
            self.names.update({vmid: p.name for vmid, p in self._present.items() if p.name})
        resources = await self.pve.cluster_resources()
        self.names.update({g.vmid: g.name for g in resources.guests if g.name})
        nodes = [n.node for n in resources.nodes]
        marks = await cursors.read_cursors(self.sessions)
        listed = [s for item in await self.pve.get(CLUSTER_TASKS) or [] if (s := seen_of(item))]
        read: dict[str, list[Seen]] = {}
        for node in nodes:
            mark = marks.get(node)
            tail = [s for s in listed if s.upid.node == node]
            if mark is None:
                read[node] = []  # a new install: the record starts now
            elif node in self._caught_up and not _gap(tail, mark):
                read[node] = tail
            else:
                found = await self._read_node(node, mark)
                if found is not None:
                    read[node] = found + tail
                    self._caught_up.add(node)
        for node, seen in read.items():
            start = marks.get(node, began) - OVERLAP
            await self._record_new([s for s in seen if s.upid.starttime >= start])
            await cursors.advance(self.sessions, node, began - CLOCK_SLACK)
        await self._follow(listed)
        await self._removed(resources.guests)
        self.status.last_round = time.time()

    async def _removed(self, guests: Iterable[Any]) -> None:
        """Record each guest of the previous round that is gone and that no task removed; one last seen on a node
        whose tasks could not be read is judged once they are (the task that removed it may be among them)."""
        now = utcnow()
        present = {g.vmid: Present(g.node, g.type, g.name or None, now) for g in guests}
        before = self._present or {}
        for vmid, last in before.items():
            if vmid in present:
                continue
            if last.node in self.status.gaps:
                present[vmid] = last
            else:
                await self.removals.record(vmid, last)
        await self.removals.remember(before, present)
        self._present = present

    async def _read_node(self, node: str, mark: int) -> list[Seen] | None:
        """Every task of the node since just before its cursor (None, with the gap named, when unreadable)."""
        since = mark - OVERLAP
        found: list[Seen] = []
        try:
            while True:
                page = await self.pve.get(
                    NodePath(node).tasks, source="all", since=since, start=len(found), limit=PAGE
                )
                found += [s for item in page or [] if (s := seen_of(item))]
                if len(page or []) < PAGE:
                    break
        except PveError as exc:
            moment = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(mark))
            self.status.gaps[node] = f"{node}'s tasks since {moment} could not be read yet: {exc}"
            log.warning("%s", self.status.gaps[node])
            return None
        self.status.gaps.pop(node, None)
        return found

    async def _record_new(self, seen: Iterable[Seen]) -> None:
        """Record each task no process started or recorded, oldest first."""
        fresh = {s.upid.text: s for s in seen}
        own = self.pve.connection.token_id
        # Asked before the UPIDs are looked up: a call of Proxgate's opens its row before its task exists, so
        # a listed task of our token is either still claimable now (skipped) or already recorded as ours.
        claimable = any(s.upid.user == own for s in fresh.values()) and await calls_in_flight(self.sessions)
        for known in await known_upids(self.sessions, fresh):
            fresh.pop(known)
        if claimable:
            fresh = {u: s for u, s in fresh.items() if s.upid.user != own}
        for s in sorted(fresh.values(), key=lambda s: (s.upid.starttime, s.upid.pid)):
            await self.recorder.record(s, self.names.get(s.upid.vmid or 0))

    async def _follow(self, listed: list[Seen]) -> None:
        """Record the end of each observed task that was running, once it stopped."""
        async with self.sessions() as db:
            open_rows = (
                await db.exec(
                    select(ObservedTask.upid).where(col(ObservedTask.finished_at).is_(None)).limit(200)
                )
            ).all()
        if not open_rows:
            return
        ended = {s.upid.text: s.exitstatus for s in listed if not s.running}
        gate = asyncio.Semaphore(FOLLOW_AT_ONCE)

        async def one(text: str) -> None:
            upid = parse_upid(text)
            exitstatus = ended.get(text)
            if exitstatus is None:
                async with gate:
                    exitstatus = await self._exit_of(upid)
            if exitstatus is not None:
                await self.recorder.record_end(upid, exitstatus, self.names.get(upid.vmid or 0))

        await asyncio.gather(*(one(text) for text in open_rows))

    async def _exit_of(self, upid: Upid) -> str | None:
        """The task's exit status once it stopped; None while it runs or cannot be read now."""
        try:
            status = await self.pve.task_status(upid.node, upid.text)
        except PveNotFound:
            return "unexpected status: Proxmox no longer knows this task"
        except PveError:
            return None
        return None if status.running else (status.exitstatus or "unexpected status")


def _gap(tail: list[Seen], mark: int) -> bool:
    """Whether the node's recent tail may have lost tasks since the cursor: its oldest is newer than it."""
    return bool(tail) and min(s.upid.starttime for s in tail) > mark
