"""A database engine for one command-line run, its audit chain keyed from the settings like the app's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.config import Settings
from app.db.engine import create_engine, session_factory
from app.services.audit.binding import configure


@asynccontextmanager
async def command_sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions of the configured database for the length of one command; the engine is closed afterwards."""
    engine = create_engine(settings.resolved_database_url)
    configure(engine, settings)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
