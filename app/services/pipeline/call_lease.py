"""A call's lease kept while its process waits for Proxmox: an upload of several gigabytes outlives the lease
sized for a plain call, and the reconciler would otherwise take a call still streaming for a lost one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.executions import Execution
from app.db.models import utcnow
from app.services.lease_keeper import LeaseKeeper

# A plain call (one request within the timeout) ends before its first renewal (LeaseKeeper renews a few times in
# a lease's life); only an upload of gigabytes lasts long enough to renew.


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


def call_lease(
    sessions: async_sessionmaker[AsyncSession], execution: Execution, owner: str, lease: timedelta
) -> LeaseKeeper:
    """The call's lease, renewed for as long as the call lasts (a dead process stops renewing, and the reconciler
    takes the call over once the lease has run out, as before)."""
    return LeaseKeeper(
        lambda: renew_call(sessions, execution, owner, lease), lease, f"call-lease-{execution.id}"
    )
