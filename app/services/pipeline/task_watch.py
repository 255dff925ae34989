"""Follow every task the app started until Proxmox says it ended, and account for calls whose answer was lost.

Two jobs share one loop per process; rows are leased, so with many processes each is handled by one:
- follow: poll the status of running tasks (a few at a time) and record each end exactly once;
- reconcile: a call whose process died before the UPID was known ('calling' past its lease), or whose answer
  never came or named no task ('unknown'), is looked up in the node's task list (type, guest, user, time).
  A match is followed like any task; no match after a while ends as 'not-started'. Nothing is ever re-sent.
  A call whose task Proxmox named but whose start the audit log refused keeps its UPID on the row: that start
  is recorded as soon as the log takes writes again, without a search.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.executions import Execution
from app.db.models import utcnow
from app.operations.catalogue import get_operation
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveNotFound
from app.proxmox.paths import NodePath
from app.proxmox.upid import Upid, try_parse_upid
from app.services.audit import canonical_time
from app.services.background import Periodic
from app.services.pipeline import executions

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)
# Consecutive failed status checks (a node that stays unreachable) before a task's end is given up as unknown.
FAILURE_LIMIT = 120
# How far PVE's clock may be behind ours when matching a task to a lost call (nodes and Proxgate run NTP): a
# task that started earlier than this before the call is not the call's.
CLOCK_SLACK = timedelta(seconds=5)
# How long after its call (or its lease's last renewal) a lost execution is looked for before it is declared
# never started.
GIVE_UP = timedelta(minutes=3)


def task_outcome(exitstatus: str | None) -> str:
    """'succeeded' only for Proxmox's OK; warnings count as success with a message; anything else failed."""
    if exitstatus == "OK" or (exitstatus or "").startswith("WARNINGS"):
        return "succeeded"
    return "failed"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def last_alive(execution: Execution) -> datetime:
    """When the call's process was last known to wait for it: its lease's last renewal (a long upload), or
    the call's start."""
    return _aware(execution.renewed_at or execution.created_at)


def matches(execution: Execution, upid: Upid, token_id: str) -> bool:
    """True when a task could be the one an execution's call started."""
    types = (execution.task_type or "").split("|")
    if upid.type not in types or upid.user != token_id:
        return False
    if execution.vmid is not None and upid.id.split("@", 1)[0] != str(execution.vmid):
        return False
    called = _aware(execution.created_at)
    return called - CLOCK_SLACK <= upid.started_at <= last_alive(execution) + GIVE_UP


class TaskWatcher(Periodic):
    """A background loop per process: follows running tasks and reconciles lost calls."""

    name = "task-watcher"

    def __init__(
        self,
        pve: PveClient,
        sessions: async_sessionmaker[AsyncSession],
        interval: float = 1.0,
        concurrency: int = 8,
        failure_limit: int = FAILURE_LIMIT,
    ) -> None:
        super().__init__(interval)
        self.pve = pve
        self.sessions = sessions
        self.concurrency = concurrency
        self.failure_limit = failure_limit
        self.owner = secrets.token_hex(8)

    async def round(self) -> None:
        """Reconcile lost calls, then check the running tasks."""
        await self.reconcile_once()
        await self.poll_once()

    async def poll_once(self) -> int:
        """Check every task this process holds a lease on, a few at a time; returns how many ended."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(execution: Execution) -> int:
            async with gate:
                return await self._check(execution)

        running = await self._claim(col(Execution.state) == "running")
        return sum(await asyncio.gather(*(one(e) for e in running)))

    async def _check(self, execution: Execution) -> int:
        node, upid = str(execution.node), str(execution.upid)
        step = executions.step_of(execution)
        try:
            status = await self.pve.task_status(node, upid)
        except PveNotFound as exc:
            return await self._end(execution, step, "unknown", f"Proxmox no longer knows this task: {exc}")
        except PveError as exc:
            return await self._failed_check(execution, step, exc)
        if status.running:
            if execution.errors:
                await self._set(execution, errors=0)
            return 0
        exitstatus = status.exitstatus or "unexpected status"
        outcome = task_outcome(exitstatus)
        message = await self._ended_note(execution, exitstatus) if outcome == "succeeded" else exitstatus
        return await self._end(execution, step, outcome, message, exitstatus)

    async def _ended_note(self, execution: Execution, exitstatus: str) -> str:
        """The exit status, and what the operation says its task changed ('OK: moved from pve1 to pve2')."""
        op = get_operation(execution.operation)
        if op is None or op.ended is None:
            return exitstatus
        try:
            note = await op.ended(self.pve, str(execution.node), str(execution.upid))
        except PveError as exc:
            log.info("what task %s changed could not be read: %s", execution.upid, exc)
            return exitstatus
        return f"{exitstatus}: {note}" if note else exitstatus

    async def _failed_check(self, execution: Execution, step: executions.Step, exc: PveError) -> int:
        errors = execution.errors + 1
        if errors < self.failure_limit:
            log.info("task %s not checked (%d): %s", execution.upid, errors, exc)
            await self._set(execution, errors=errors)
            return 0
        message = (
            f"Proxmox could not be asked about this task {errors} times in a row ({exc}); its end is unknown"
        )
        return await self._end(execution, step, "unknown", message)

    async def _set(self, execution: Execution, **values: object) -> None:
        async with self.sessions() as db:
            await db.exec(update(Execution).where(col(Execution.id) == execution.id).values(**values))
            await db.commit()

    async def _end(
        self,
        execution: Execution,
        step: executions.Step,
        outcome: str,
        message: str,
        exitstatus: str | None = None,
    ) -> int:
        event = await executions.end_now(self.sessions, execution, step, outcome, message, exitstatus)
        self.pve.expire_resources()
        return 0 if event is None else 1

    async def _claim(self, which: object) -> list[Execution]:
        """Lease the rows `which` selects that nobody (alive) holds, and return those this process got."""
        now = utcnow()
        free = or_(
            col(Execution.lease_until).is_(None),
            col(Execution.lease_until) < now,
            col(Execution.lease_owner) == self.owner,
        )
        async with self.sessions() as db:
            wanted = list((await db.exec(select(Execution.id).where(which, free))).all())  # type: ignore[arg-type]
            if not wanted:
                return []
            await db.exec(
                update(Execution)
                .where(col(Execution.id).in_(wanted), free)
                .values(lease_owner=self.owner, lease_until=now + LEASE)
            )
            await db.commit()
            held = select(Execution).where(col(Execution.id).in_(wanted), Execution.lease_owner == self.owner)
            return list((await db.exec(held)).all())

    # ------------------------------------------------------------------ reconciliation

    async def reconcile_once(self) -> int:
        """Look for the tasks of lost calls; returns how many were found or given up."""
        now = utcnow()
        lost = or_(
            and_(col(Execution.state) == "unknown", col(Execution.upid).is_(None)),
            # With a UPID: Proxmox named the task, but the audit log refused its start (executions.keep_upid).
            and_(col(Execution.state) == "calling", col(Execution.lease_until) < now),
        )
        settled = 0
        for execution in await self._claim(lost):
            settled += await self._reconcile(execution, now)
        return settled

    async def _reconcile(self, execution: Execution, now: datetime) -> int:
        step = executions.step_of(execution)
        when = canonical_time(execution.created_at)
        if execution.upid is not None:
            message = (
                f"Proxmox named this task in its answer to the call of {when}; recorded late: the audit log "
                "could not be written then"
            )
            return await self._started(execution, step, execution.upid, message)
        try:
            upid = await self._find_task(execution)
        except PveError as exc:
            log.info("execution %s not reconciled yet: %s", execution.id, exc)
            return 0
        if upid is not None:
            message = f"Found in {execution.node}'s task list: the call of {when} started this task"
            return await self._started(execution, step, upid.text, message)
        if now - last_alive(execution) < GIVE_UP:
            return 0
        message = "Not started: Proxmox has no task for this call, so nothing happened (it is not sent again)"
        return await self._end(execution, step, "not-started", message)

    async def _started(self, execution: Execution, step: executions.Step, upid: str, message: str) -> int:
        """Record the start, to be followed from now on; 0 when another process recorded it first."""
        event = await executions.mark_started(self.sessions, execution, step, upid, message)
        return 0 if event is None else 1

    async def _find_task(self, execution: Execution) -> Upid | None:
        if not execution.node or not execution.task_type:
            return None
        params: dict[str, object] = {"source": "all", "limit": 200}
        if execution.vmid is not None:
            params["vmid"] = execution.vmid
        listing = await self.pve.get(NodePath(execution.node).tasks, **params) or []
        token = self.pve.connection.token_id
        candidates = [u for item in listing if (u := try_parse_upid(item.get("upid"))) is not None]
        found = [u for u in candidates if matches(execution, u, token)]
        if not found:
            return None
        async with self.sessions() as db:
            taken = set(
                (
                    await db.exec(
                        select(Execution.upid).where(col(Execution.upid).in_([u.text for u in found]))
                    )
                ).all()
            )
        called = _aware(execution.created_at).timestamp()
        fresh = [u for u in found if u.text not in taken]
        return min(fresh, key=lambda u: abs(u.starttime - called), default=None)
