"""Which process runs a batch: it holds a lease on the batch's row that it renews while it runs, and another
process takes a running batch over once the lease has run out (one conditional UPDATE: exactly one wins)."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select

from app.db.batches import Batch
from app.db.models import utcnow
from app.services.batches import store
from app.services.lease_keeper import LeaseKeeper

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)


def process_name() -> str:
    """This process as people can find it: host, pid, and a few random characters (a restarted container has
    the same host and pid)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(2)}"


def held(owner: str, lease: timedelta) -> dict[str, Any]:
    """The columns of a lease held by `owner` from now."""
    return {"lease_owner": owner, "lease_until": utcnow() + lease}


def _runs_out() -> Any:
    """A running batch whose lease has run out (or that never had one: written before leases existed)."""
    now = utcnow()
    return (
        col(Batch.status) == "running",
        or_(col(Batch.lease_until).is_(None), col(Batch.lease_until) < now),
    )


async def expired(sessions: store.Sessions) -> list[str]:
    """The running batches whose process stopped renewing their lease, oldest first."""
    query = select(Batch.id).where(*_runs_out()).order_by(col(Batch.created_at))
    async with sessions() as db:
        return list((await db.exec(query)).all())


async def take_over(sessions: store.Sessions, batch_id: str, owner: str, lease: timedelta) -> bool:
    """Hold a running batch whose lease ran out, marking it resumed by `owner`; False when another process got
    it first, or it ended, or its process renewed it meanwhile."""
    async with sessions() as db:
        result = await db.exec(
            update(Batch)
            .where(col(Batch.id) == batch_id, *_runs_out())
            .values(resumed_by=owner, resumed_at=utcnow(), **held(owner, lease))
        )
        await db.commit()
        return bool(result.rowcount == 1)


async def renew(sessions: store.Sessions, batch_id: str, owner: str, lease: timedelta) -> bool:
    """Extend this process's lease on a running batch; False when it is no longer this process's to run."""
    async with sessions() as db:
        result = await db.exec(
            update(Batch)
            .where(col(Batch.id) == batch_id, col(Batch.status) == "running", col(Batch.lease_owner) == owner)
            .values(lease_until=utcnow() + lease)
        )
        await db.commit()
        return bool(result.rowcount == 1)


async def release(sessions: store.Sessions, owner: str) -> None:
    """Let go of every batch this process still holds (it stops), so another takes them over at once."""
    async with sessions() as db:
        await db.exec(
            update(Batch)
            .where(col(Batch.lease_owner) == owner, col(Batch.status) == "running")
            .values(lease_until=None)
        )
        await db.commit()


def keeper(sessions: store.Sessions, batch_id: str, owner: str, lease: timedelta) -> LeaseKeeper:
    """The batch's lease, renewed while its run lasts; its `holds` turns False once another process took it."""
    return LeaseKeeper(lambda: renew(sessions, batch_id, owner, lease), lease, f"batch-lease-{batch_id}")
