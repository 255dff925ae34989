"""One-time keys: a change sent with a key is claimed once per person; a repeat finds the first answer.

The key is claimed (a unique row per person and key) before anything is sent, so two repeats at once never both
go through: the loser reads the winner's row (its answer, or "being sent" while there is none yet)."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import Delete, Update, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.approvals import IdempotencyKey
from app.services import audit
from app.services.errors import Conflict, Invalid

log = logging.getLogger(__name__)
KEY_MAX = 128
BEING_SENT = "This change is already being sent; its result appears in a moment."
Sessions = async_sessionmaker[AsyncSession]


def check_key(key: str) -> None:
    """Invalid unless the key is 1 to KEY_MAX printable characters."""
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise Invalid(f"The idempotency key must be 1–{KEY_MAX} printable characters.", field="key")


async def claim(
    sessions: Sessions, user_id: int, key: str, name: str, digest: str, other_values: str
) -> dict[str, Any] | None:
    """Reserve the key; None when it is new, the first answer when it was used before. Conflict saying
    `other_values` when it came with another digest, or "being sent" while the first has no answer yet."""
    for _ in range(2):  # the key may be released by a failing first submission while we look
        async with audit.recording(sessions) as db:
            db.add(IdempotencyKey(user_id=user_id, key=key, operation=name, request_hash=digest))
            try:
                await db.commit()
                return None
            except IntegrityError:
                await db.rollback()
        async with sessions() as db:
            query = select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            row = (await db.exec(query)).first()
            if row is None:
                continue
            if row.request_hash != digest:
                raise Conflict(other_values)
            if row.result is None:
                raise Conflict(BEING_SENT)
            stored: dict[str, Any] = json.loads(row.result)
            return stored
    raise Conflict(BEING_SENT)


async def bind(sessions: Sessions, user_id: int, key: str, stored: dict[str, Any]) -> None:
    """Bind the key to its answer; when the database refuses, the key stays claimed (repeats answer "being
    sent", never send twice) and the caller's own answer goes out."""
    where = (col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key)
    await _key_write(sessions, update(IdempotencyKey).where(*where).values(result=json.dumps(stored)))


async def release(sessions: Sessions, user_id: int, key: str) -> None:
    """A submission that failed frees its key, so the corrected form can be sent again."""
    where = (col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key)
    await _key_write(sessions, delete(IdempotencyKey).where(*where))


async def _key_write(sessions: Sessions, statement: Update | Delete) -> None:
    try:
        async with sessions() as db:
            await db.exec(statement)
            await db.commit()
    except audit.WRITE_REFUSED as exc:
        log.warning("a one-time key stays as it was, the database refused: %s", audit.refusal(exc))
