"""The audit log's writing side: redact, seal and append events to the chain (verify: audit_verify.py)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.audit import AuditEvent, AuditHead
from app.db.models import utcnow
from app.services.audit.binding import config_of
from app.services.audit.chain import ROTATION, Keyring, seal, segment_name
from app.services.audit.checkpoint import checkpoint_now
from app.services.errors import AuditUnavailable
from app.services.secrets_in_text import TOKEN_PREFIX

__all__ = [
    "WRITE_REFUSED",
    "Actor",
    "AuditEvent",
    "Draft",
    "Target",
    "append",
    "append_in",
    "checkpoint_now",
    "recording",
    "redact",
    "refusal",
]

log = logging.getLogger(__name__)

# Parameter names whose values are secrets: never stored, not even hashed. A name ending in "token" is a
# secret; a token's name or id ("token_name", "token_id") is how the log says which token acted.
SECRET_NAME = re.compile(r"pass|secret|key|token$", re.IGNORECASE)
# Values that are Proxgate API tokens are never stored, whatever the parameter is called.
SECRET_VALUE_PREFIX = TOKEN_PREFIX
REDACTED = "[redacted]"
SYSTEM = "proxgate"


@dataclass(frozen=True)
class Actor:
    """Who acted and from where, copied into every event so history survives user deletion."""

    id: int | None
    name: str
    method: str
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    token_name: str | None = None
    # The batch this actor acts in (a bulk action): every event it writes carries the batch's id.
    batch_id: str | None = None


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
    # The batch the event belongs to when the actor acts outside it (deciding a bulk request); else the actor's.
    batch_id: str | None = None


# Who writes the events the chain itself needs (a new key segment).
_SYSTEM_ACTOR = Actor(None, SYSTEM, "system")


def redact(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with every secret replaced, recursively."""
    clean: dict[str, Any] = {}
    for name, value in params.items():
        if SECRET_NAME.search(name) or (isinstance(value, str) and value.startswith(SECRET_VALUE_PREFIX)):
            clean[name] = REDACTED
        elif isinstance(value, Mapping):
            clean[name] = redact(value)
        else:
            clean[name] = value
    return clean


# Built once: plain Core statements on the tables skip the ORM's per-call work (appends are a hot path).
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
_ADVANCE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + 1)
    .returning(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.key_id)
)
_INSERT_EVENT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


def _truncate(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


# What a database that does not take a write raises: refused, locked, read-only, gone, or no connection in time.
WRITE_REFUSED = (DBAPIError, PoolTimeout)


@asynccontextmanager
async def recording(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for a transaction that records what is done; AuditUnavailable when the database refuses it.

    Nothing of such a transaction is kept then, so the caller did nothing: every path that cannot write its
    audit event answers alike (errors the caller expects, like a unique key taken, it handles inside)."""
    try:
        async with sessions() as db:
            yield db
    except WRITE_REFUSED as exc:
        log.error("the audit log cannot be written: %s", refusal(exc))
        raise AuditUnavailable() from exc


def refusal(exc: BaseException) -> str:
    """The driver's own first line (SQLAlchemy's message goes on with the statement and its parameters)."""
    cause = getattr(exc, "orig", None) or exc
    return (str(cause).splitlines() or [type(cause).__name__])[0]


async def append(sessions: async_sessionmaker[AsyncSession], actor: Actor, draft: Draft) -> AuditEvent:
    """Add one event at the end of the chain, in a transaction of its own (AuditUnavailable if refused)."""
    async with recording(sessions) as db:
        event = await append_in(db, actor, draft)
        await db.commit()
        return event


async def append_in(db: AsyncSession, actor: Actor, draft: Draft) -> AuditEvent:
    """Add one event in the caller's transaction (the caller commits); nothing may have been read in it yet
    on SQLite, where a transaction that read first cannot always take the write lock."""
    keyring = config_of(db).keyring
    # Advancing the head first takes the row lock (PostgreSQL) or the write lock (SQLite) before anything
    # is read, so concurrent writers, in this process or others, queue here and the chain never forks.
    conn = await db.connection()
    seq, prev_hash, prev_key = (await conn.execute(_ADVANCE_HEAD)).one()
    if seq > 1 and prev_key != keyring.current_id:
        # The key changed since the newest event: a rotation event opens the new segment and names the old one.
        rotation = _values(seq, _SYSTEM_ACTOR, _rotation_draft(prev_key, keyring.current_id), prev_hash)
        await _insert(conn, keyring, rotation)
        seq, prev_hash, _ = (await conn.execute(_ADVANCE_HEAD)).one()
        log.warning(
            "the audit key changed: events from #%d on are sealed with key %s", seq - 1, keyring.current_id
        )
    values = _values(seq, actor, draft, prev_hash)
    return await _insert(conn, keyring, values)


def _rotation_draft(previous: str, current: str) -> Draft:
    message = f"New audit key segment ({segment_name(current)}); it follows {segment_name(previous)}."
    params = {"segment": current, "previous_segment": previous or "legacy"}
    return Draft(ROTATION, "admin", "succeeded", params=params, message=message)


def _values(seq: int, actor: Actor, draft: Draft, prev_hash: str) -> dict[str, Any]:
    """The columns of a new event, but its key id and hash."""
    return {
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
        "token_name": _truncate(actor.token_name, 64),
        "batch_id": draft.batch_id or actor.batch_id,
        "prev_hash": prev_hash,
    }


async def _insert(conn: AsyncConnection, keyring: Keyring, values: dict[str, Any]) -> AuditEvent:
    values["key_id"] = keyring.current_id
    values["hash"] = seal(keyring.current, values["prev_hash"], values)
    # The head's hash and key id follow by themselves: a trigger copies them from the inserted event.
    await conn.execute(_INSERT_EVENT, values)
    return AuditEvent(**values)


async def record_account_change(
    sessions: async_sessionmaker[AsyncSession],
    actor: Actor,
    operation: str,
    subject: str,
    message: str,
    params: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """A change to users, roles or tokens, in the same chain as everything else (risk 'admin').

    It is recorded after the change was committed, so a refused record must not say that nothing was done."""
    draft = Draft(operation, "admin", "succeeded", Target(name=subject), params or {}, message=message)
    try:
        return await append(sessions, actor, draft)
    except AuditUnavailable as exc:
        done = f"the change was made, but Proxgate could not record it ({message.rstrip('.')})"
        raise AuditUnavailable(done) from exc
