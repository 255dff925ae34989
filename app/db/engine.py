"""The async engine: SQLite (WAL, foreign keys) or PostgreSQL via psycopg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.files import make_private_sqlite


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Several processes share one file: wait for a writer instead of failing at once.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Connections per process: POOL_SIZE kept open, up to POOL_OVERFLOW more under load. A request holds at most
# one at a time, so a larger burst waits its turn (up to the pool's 30 s) instead of deadlocking.
POOL_SIZE = 10
POOL_OVERFLOW = 20


def create_engine(url: str, pool_size: int = POOL_SIZE, pool_overflow: int = POOL_OVERFLOW) -> AsyncEngine:
    """An async engine for the URL, with SQLite's pragmas applied on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        make_private_sqlite(url)
        engine = create_async_engine(
            url, connect_args={"timeout": 10}, pool_size=pool_size, max_overflow=pool_overflow
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_overflow)


def sync_url(url: str) -> str:
    """The same database for synchronous use (Alembic): pysqlite or psycopg."""
    return url.replace("sqlite+aiosqlite://", "sqlite://")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session that commits on success and rolls back on error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
