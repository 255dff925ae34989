"""A call's lease kept while its process waits for Proxmox: an upload of several gigabytes outlives the lease
sized for a plain call, and the reconciler would otherwise take a call still streaming for a lost one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from types import TracebackType

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.executions import Execution
from app.db.models import utcnow

log = logging.getLogger(__name__)
# A lease is renewed this many times in its life, so one late renewal (a busy database) never loses it; a plain
# call (one request within the timeout) ends before its first renewal.
RENEWALS = 3


async def renew_call(
    sessions: async_sessionmaker[AsyncSession], execution: Execution, owner: str, lease: timedelta
) -> bool:
    """Extend the lease of a call still waiting for Proxmox; False once it is no longer this process's."""
    now = utcnow()
    async with sessions() as db:
        result = await db.exec(
            update(Execution)
            .where(
                col(Execution.id) == execution.id,
                col(Execution.state) == "calling",
                col(Execution.lease_owner) == owner,
            )
            .values(renewed_at=now, lease_until=now + lease)
        )
        await db.commit()
        return bool(result.rowcount == 1)


class CallLease:
    """Renews a call's lease in the background for as long as the call lasts (a dead process stops renewing,
    and the reconciler takes the call over once the lease has run out, as before)."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], execution: Execution, owner: str, lease: timedelta
    ) -> None:
        self.sessions = sessions
        self.execution = execution
        self.owner = owner
        self.lease = lease
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CallLease:
        self._task = asyncio.create_task(self._renew(), name=f"call-lease-{self.execution.id}")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / RENEWALS)
            try:
                if not await renew_call(self.sessions, self.execution, self.owner, self.lease):
                    return
            except Exception:  # a database hiccup: the next renewal is still in time
                log.warning("execution %s: its lease could not be renewed", self.execution.id, exc_info=True)
