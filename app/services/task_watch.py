"""Follow every task the app started until Proxmox says it ended, and record the end exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.models import utcnow
from app.db.watches import TaskWatch
from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveNotFound
from app.services import audit

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)


def task_outcome(exitstatus: str | None) -> str:
    """'succeeded' only for Proxmox's OK; warnings count as success with a message; anything else failed."""
    if exitstatus == "OK" or (exitstatus or "").startswith("WARNINGS"):
        return "succeeded"
    return "failed"


def watch_for(upid: str, node: str, draft: audit.Draft, actor: audit.Actor) -> TaskWatch:
    """The watch row for a task just started."""
    return TaskWatch(
        upid=upid,
        node=node,
        operation=draft.operation,
        risk=draft.risk,
        guest_type=draft.target.guest_type,
        vmid=draft.target.vmid,
        target_name=draft.target.name,
        actor_id=actor.id,
        actor_name=actor.name,
        auth_method=actor.method,
        request_id=actor.request_id,
    )


class TaskWatcher:
    """A background loop per process; rows are leased, so with many processes each task has one follower."""

    def __init__(
        self, pve: PveClient, sessions: async_sessionmaker[AsyncSession], interval: float = 1.0
    ) -> None:
        self.pve = pve
        self.sessions = sessions
        self.interval = interval
        self.owner = secrets.token_hex(8)
        self._task: asyncio.Task[None] | None = None
        self.wakeup = asyncio.Event()

    def start(self) -> None:
        """Begin following tasks in the background."""
        self._task = asyncio.create_task(self._run(), name="task-watcher")

    async def stop(self) -> None:
        """Stop following (rows stay; another process or the next start picks them up)."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception:  # the loop must outlive a bad round (database or Proxmox trouble)
                log.exception("task watcher round failed")
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.interval)

    async def poll_once(self) -> int:
        """Check every task this process holds a lease on; returns how many ended."""
        ended = 0
        for watch in await self._claim():
            try:
                status = await self.pve.task_status(watch.node, watch.upid)
            except PveNotFound as exc:
                ended += await self._finish(
                    watch, None, f"Proxmox no longer knows this task: {exc}", "unknown"
                )
                continue
            except PveError as exc:
                log.info("task %s not checked: %s", watch.upid, exc)
                continue
            if not status.running:
                exitstatus = status.exitstatus or "unexpected status"
                ended += await self._finish(watch, exitstatus, exitstatus, task_outcome(exitstatus))
        return ended

    async def _claim(self) -> list[TaskWatch]:
        now = utcnow()
        async with self.sessions() as db:
            await db.exec(
                update(TaskWatch)
                .where(col(TaskWatch.state) == "running")
                .where(
                    or_(
                        col(TaskWatch.lease_until).is_(None),
                        col(TaskWatch.lease_until) < now,
                        col(TaskWatch.lease_owner) == self.owner,
                    )
                )
                .values(lease_owner=self.owner, lease_until=now + LEASE)
            )
            await db.commit()
            query = select(TaskWatch).where(TaskWatch.state == "running", TaskWatch.lease_owner == self.owner)
            return list((await db.exec(query)).all())

    async def _finish(self, watch: TaskWatch, exitstatus: str | None, message: str, outcome: str) -> int:
        """Mark the watch done and write the end event in one transaction; 0 if another process did."""
        async with self.sessions() as db:
            result = await db.exec(
                update(TaskWatch)
                .where(col(TaskWatch.upid) == watch.upid, col(TaskWatch.state) == "running")
                .values(state="done", exitstatus=exitstatus, finished_at=utcnow())
            )
            if result.rowcount != 1:
                await db.rollback()
                return 0
            actor = audit.Actor(
                watch.actor_id, watch.actor_name, watch.auth_method, request_id=watch.request_id
            )
            target = audit.Target(watch.node, watch.guest_type, watch.vmid, watch.target_name)
            draft = audit.Draft(
                watch.operation, watch.risk, outcome, target, upid=watch.upid, message=message
            )
            await audit.append_in(db, actor, draft)
            await db.commit()
        self.pve.invalidate_resources()
        return 1
