"""What the tests read or move in the app's database: ids of users and tokens, and a session's clock."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.engine import sync_url


def scalar(settings: Settings, sql: str, **params: Any) -> Any:
    """The one value a statement returns (None for an UPDATE)."""
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return result.scalar_one() if result.returns_rows else None
    finally:
        engine.dispose()


def user_id(settings: Settings, username: str) -> int:
    """The id of the user with this name."""
    return int(scalar(settings, "SELECT id FROM users WHERE username = :u", u=username))


def token_id(settings: Settings, secret: str) -> int:
    """The id of the API token with this secret."""
    digest = hashlib.sha256(secret.encode()).hexdigest()
    return int(scalar(settings, "SELECT id FROM api_tokens WHERE token_hash = :h", h=digest))


def user_role(settings: Settings, username: str) -> str:
    """The role the user has now."""
    return str(scalar(settings, "SELECT role FROM users WHERE username = :u", u=username))


def age_session(settings: Settings, cookie: str, created: datetime, last_seen: datetime) -> None:
    """Move a session's start and last activity into the past, as time passing would."""
    key = hashlib.sha256(cookie.encode()).hexdigest()
    sql = "UPDATE web_sessions SET created_at = :c, last_seen_at = :s WHERE id = :id"
    scalar(settings, sql, c=created, s=last_seen, id=key)


def _moment(value: Any) -> datetime:
    """A stored time as an aware datetime (SQLite hands back text without a zone; it is UTC)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def pass_time(settings: Settings, cookie: str, by: timedelta) -> None:
    """Move a session's start and last activity back by `by`, as that much time passing would."""
    key = hashlib.sha256(cookie.encode()).hexdigest()
    sql = "SELECT created_at, last_seen_at FROM web_sessions WHERE id = :id"
    engine = create_engine(sync_url(settings.resolved_database_url))
    try:
        with engine.begin() as conn:
            created, seen = conn.execute(text(sql), {"id": key}).one()
            conn.execute(
                text("UPDATE web_sessions SET created_at = :c, last_seen_at = :s WHERE id = :id"),
                {"c": _moment(created) - by, "s": _moment(seen) - by, "id": key},
            )
    finally:
        engine.dispose()
