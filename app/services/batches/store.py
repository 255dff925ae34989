"""A batch's rows: written when it is asked, each item moved on by a conditional UPDATE (so a stop and the
runner never both move it), and read back for its page."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.batches import Batch, BatchMember
from app.db.executions import Execution
from app.db.models import utcnow

Sessions = async_sessionmaker[AsyncSession]
# The states an item is in once it has ended; "waiting" and "running" are the others.
ENDED = ("succeeded", "failed", "skipped")


@dataclass(frozen=True)
class BatchItem:
    """One guest of a batch as the caller asks for it: its VMID and its own operation parameters."""

    vmid: int
    params: dict[str, Any] = field(default_factory=dict)
    # Set when the guest needs no call (a tag it already has): stored as succeeded with this message.
    done: str | None = None


@dataclass(frozen=True)
class Placed:
    """Where a guest of a new batch is and what it is called, as the cluster view had it when asked."""

    name: str
    node: str


def new_batch_id() -> str:
    """A short random id for URLs (12 characters of base64url: 72 bits)."""
    return secrets.token_urlsafe(9)


async def create(
    sessions: Sessions, batch: Batch, items: Sequence[BatchItem], placed: dict[int, Placed]
) -> None:
    """Write the batch and its items ("waiting", or "succeeded" when nothing is to be sent) in one
    transaction."""
    async with sessions() as db:
        db.add(batch)
        await db.flush()
        for position, item in enumerate(items):
            where = placed.get(item.vmid, Placed("", ""))
            db.add(
                BatchMember(
                    batch_id=batch.id,
                    position=position,
                    vmid=item.vmid,
                    name=where.name[:255],
                    node=where.node[:64],
                    params=json.dumps(item.params, sort_keys=True, default=str),
                    status="waiting" if item.done is None else "succeeded",
                    message=item.done or "",
                    ended_at=None if item.done is None else utcnow(),
                )
            )
        await db.commit()


async def load(sessions: Sessions, batch_id: str) -> tuple[Batch, list[BatchMember]] | None:
    """The batch and its items in order; None when there is no such batch."""
    async with sessions() as db:
        batch = await db.get(Batch, batch_id)
        if batch is None:
            return None
        query = (
            select(BatchMember).where(BatchMember.batch_id == batch_id).order_by(col(BatchMember.position))
        )
        return batch, list((await db.exec(query)).all())


async def recent(sessions: Sessions, limit: int, kind: str | None = None) -> list[Batch]:
    """The newest batches first."""
    query = select(Batch).order_by(col(Batch.created_at).desc()).limit(limit)
    if kind is not None:
        query = query.where(Batch.kind == kind)
    async with sessions() as db:
        return list((await db.exec(query)).all())


async def load_recent(
    sessions: Sessions, limit: int, kind: str | None = None
) -> list[tuple[Batch, list[BatchMember]]]:
    """The newest batches first, each with its items in order (two queries for all of them)."""
    batches = await recent(sessions, limit, kind)
    query = (
        select(BatchMember)
        .where(col(BatchMember.batch_id).in_([b.id for b in batches]))
        .order_by(col(BatchMember.batch_id), col(BatchMember.position))
    )
    items: dict[str, list[BatchMember]] = {b.id: [] for b in batches}
    if batches:
        async with sessions() as db:
            for item in (await db.exec(query)).all():
                items[item.batch_id].append(item)
    return [(b, items[b.id]) for b in batches]


async def item_counts(sessions: Sessions, batch_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """For each batch, how many of its items are in each status (one grouped query for all of them)."""
    if not batch_ids:
        return {}
    query = (
        select(BatchMember.batch_id, BatchMember.status, func.count())
        .where(col(BatchMember.batch_id).in_(batch_ids))
        .group_by(col(BatchMember.batch_id), col(BatchMember.status))
    )
    counts: dict[str, dict[str, int]] = {batch_id: {} for batch_id in batch_ids}
    async with sessions() as db:
        for batch_id, status, count in (await db.exec(query)).all():
            counts[batch_id][status] = int(count)
    return counts


async def move_item(sessions: Sessions, item_id: int, from_status: str, **values: Any) -> bool:
    """Move an item on from `from_status` (only from it); False when it was no longer there."""
    if values.get("status") in ENDED or values.get("status") == "running":
        values.setdefault("ended_at" if values["status"] in ENDED else "started_at", utcnow())
    async with sessions() as db:
        result = await db.exec(
            update(BatchMember)
            .where(col(BatchMember.id) == item_id, col(BatchMember.status) == from_status)
            .values(**values)
        )
        await db.commit()
        return bool(result.rowcount == 1)


async def skip_waiting(sessions: Sessions, batch_id: str, message: str) -> int:
    """Every item not started yet is skipped with `message`; returns how many."""
    async with sessions() as db:
        result = await db.exec(
            update(BatchMember)
            .where(col(BatchMember.batch_id) == batch_id, col(BatchMember.status) == "waiting")
            .values(status="skipped", message=message, ended_at=utcnow())
        )
        await db.commit()
        return int(result.rowcount)


async def set_status(
    sessions: Sessions, batch_id: str, status: str, from_status: str | None = None, **values: Any
) -> bool:
    """Set the batch's status (from `from_status` only, when given) and any other `values`; an ending status
    stamps ended_at and lets go of the batch's lease."""
    async with sessions() as db:
        moved = await set_status_in(db, batch_id, status, from_status, **values)
        await db.commit()
        return moved


async def set_status_in(
    db: AsyncSession, batch_id: str, status: str, from_status: str | None = None, **values: Any
) -> bool:
    """set_status in the caller's transaction (the caller commits)."""
    values["status"] = status
    if status not in ("running", "pending"):
        values.update(ended_at=utcnow(), lease_owner=None, lease_until=None)
    query = update(Batch).where(col(Batch.id) == batch_id)
    if from_status is not None:
        query = query.where(col(Batch.status) == from_status)
    result = await db.exec(query.values(**values))
    return bool(result.rowcount == 1)


async def execution_of(sessions: Sessions, batch_id: str, vmid: int) -> Execution | None:
    """The newest execution this batch opened for this guest."""
    query = (
        select(Execution)
        .where(Execution.batch_id == batch_id, Execution.vmid == vmid)
        .order_by(col(Execution.id).desc())
        .limit(1)
    )
    async with sessions() as db:
        return (await db.exec(query)).first()
