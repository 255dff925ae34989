"""The audit log: append events to the hash chain, verify it, and read it back with filters."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.audit import AuditEvent, AuditHead
from app.db.models import utcnow

GENESIS = "0" * 64
# Parameter names whose values are secrets: never stored, not even hashed.
SECRET_NAME = re.compile(r"pass|secret|token|key|cipassword", re.IGNORECASE)
REDACTED = "[redacted]"
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "auth_method",
    "source_ip",
    "user_agent",
    "request_id",
    "operation",
    "risk",
    "node",
    "guest_type",
    "vmid",
    "target_name",
    "params",
    "outcome",
    "upid",
    "message",
    "approval_id",
    "prev_hash",
)


@dataclass(frozen=True)
class Actor:
    """Who acted and from where, copied into every event so history survives user deletion."""

    id: int | None
    name: str
    method: str
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class Target:
    """What an event is about: a guest, or a node/storage when there is no guest."""

    node: str | None = None
    guest_type: str | None = None
    vmid: int | None = None
    name: str | None = None


@dataclass
class Draft:
    """The event's content before the chain gives it a place."""

    operation: str
    risk: str
    outcome: str
    target: Target = field(default_factory=Target)
    params: Mapping[str, Any] = field(default_factory=dict)
    upid: str | None = None
    message: str | None = None
    approval_id: int | None = None


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with every secret replaced, recursively."""
    clean: dict[str, Any] = {}
    for name, value in params.items():
        if SECRET_NAME.search(name) or name == "ssh-public-keys":
            clean[name] = REDACTED
        elif isinstance(value, Mapping):
            clean[name] = redact(value)
        else:
            clean[name] = value
    return clean


def canonical_time(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds; SQLite hands back naive datetimes, which are UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(values: Mapping[str, Any]) -> str:
    """The event's hashed fields as compact, key-sorted JSON."""
    hashed = {name: values[name] for name in HASHED_FIELDS}
    hashed["at"] = canonical_time(values["at"])
    return json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, values: Mapping[str, Any]) -> str:
    """sha256 over the previous hash and the event's canonical form."""
    return hashlib.sha256((prev_hash + canonical(values)).encode()).hexdigest()


def event_values(event: AuditEvent) -> dict[str, Any]:
    """The columns of a stored event, by name."""
    return {name: getattr(event, name) for name in (*HASHED_FIELDS, "hash")}


# Built once: plain Core statements on the tables skip the ORM's per-call work (appends are a hot path).
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
_ADVANCE_HEAD = (
    update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 1).returning(_HEAD.c.seq, _HEAD.c.hash)
)
_INSERT_EVENT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


def _truncate(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


async def append(sessions: async_sessionmaker[AsyncSession], actor: Actor, draft: Draft) -> AuditEvent:
    """Add one event at the end of the chain, in a transaction of its own."""
    async with sessions() as db:
        event = await append_in(db, actor, draft)
        await db.commit()
        return event


async def append_in(db: AsyncSession, actor: Actor, draft: Draft) -> AuditEvent:
    """Add one event in the caller's transaction (the caller commits); nothing may have been read in it yet
    on SQLite, where a transaction that read first cannot always take the write lock."""
    # Advancing the head first takes the row lock (PostgreSQL) or the write lock (SQLite) before anything
    # is read, so concurrent writers, in this process or others, queue here and the chain never forks.
    advanced = await db.exec(_ADVANCE_HEAD)
    seq, prev_hash = advanced.one()
    values: dict[str, Any] = {
        "seq": seq,
        "at": utcnow(),
        "actor_id": actor.id,
        "actor_name": actor.name[:64],
        "auth_method": actor.method,
        "source_ip": actor.ip[:64],
        "user_agent": actor.user_agent[:255],
        "request_id": actor.request_id[:64],
        "operation": draft.operation,
        "risk": draft.risk,
        "node": draft.target.node,
        "guest_type": draft.target.guest_type,
        "vmid": draft.target.vmid,
        "target_name": _truncate(draft.target.name, 255),
        "params": json.dumps(redact(draft.params), sort_keys=True, separators=(",", ":"), default=str),
        "outcome": draft.outcome,
        "upid": draft.upid,
        "message": _truncate(draft.message, 4000),
        "approval_id": draft.approval_id,
        "prev_hash": prev_hash,
    }
    values["hash"] = chain_hash(prev_hash, values)
    # The head's hash follows by itself: a trigger copies it from the inserted event (migration 0003).
    await db.exec(_INSERT_EVENT, params=values)
    return AuditEvent(**values)


async def record_account_change(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    operation: str,
    subject: str,
    message: str,
    params: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """A change to users, roles or tokens, in the same chain as everything else (risk 'admin')."""
    draft = Draft(operation, "admin", "succeeded", Target(name=subject), params or {}, message=message)
    return await append(sessions, actor, draft)


@dataclass
class Verification:
    """The result of walking the chain."""

    checked: int = 0
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every link holds."""
        return self.broken_seq is None


VERIFY_COLUMNS = (*HASHED_FIELDS, "hash")


async def _batches(db: AsyncSession, size: int = 10000) -> AsyncIterator[list[dict[str, Any]]]:
    """Every event as a plain mapping, in order (Core rows: hydrating ORM objects would triple the time)."""
    columns = [getattr(AuditEvent, name) for name in VERIFY_COLUMNS]
    last = 0
    while True:
        query = select(*columns).where(AuditEvent.seq > last).order_by(col(AuditEvent.seq)).limit(size)
        rows = [dict(zip(VERIFY_COLUMNS, row, strict=True)) for row in (await db.exec(query)).all()]
        if not rows:
            return
        yield rows
        last = rows[-1]["seq"]


async def verify_chain(db: AsyncSession) -> Verification:
    """Recompute every link; the first event whose hash, link or sequence is wrong is named."""
    result, prev_hash, expected_seq = Verification(), GENESIS, 1
    async for rows in _batches(db):
        for event in rows:
            problem = _check(event, prev_hash, expected_seq)
            if problem:
                # A gap is reported at the first missing number, anything else at the event itself.
                result.broken_seq, result.reason = min(event["seq"], expected_seq), problem
                return result
            result.checked += 1
            prev_hash, expected_seq = event["hash"], event["seq"] + 1
    head = (await db.exec(select(AuditHead).where(AuditHead.id == 1))).one()
    if head.seq != expected_seq - 1 or head.hash != prev_hash:
        result.broken_seq = expected_seq
        result.reason = f"events after #{expected_seq - 1} are missing (the chain head is at #{head.seq})"
    return result


def _check(event: Mapping[str, Any], prev_hash: str, expected_seq: int) -> str | None:
    seq = event["seq"]
    if seq != expected_seq:
        return f"event #{expected_seq} is missing (the next one is #{seq})"
    if event["prev_hash"] != prev_hash:
        return f"event #{seq} does not link to the event before it"
    if chain_hash(prev_hash, event) != event["hash"]:
        return f"event #{seq} was altered after it was written"
    return None
