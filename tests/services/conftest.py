"""Fixtures for service tests: a migrated, empty database whose audit chain has a key and a checkpoint folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db.engine import create_engine, session_factory
from app.db.migrate import upgrade_database
from app.services.audit.binding import ChainConfig, register
from app.services.audit.chain import Keyring

CHAIN_SECRET = "a secret key for the audit tests, long enough"


def async_url(url: str) -> str:
    """The async driver form of a test database URL."""
    return url.replace("sqlite://", "sqlite+aiosqlite://").replace("postgresql://", "postgresql+psycopg://")


@dataclass
class Chain:
    """An engine on a fresh database, its sessions, and where its checkpoints go."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    checkpoints: Path

    def rekey(self, secret: str, *old: str) -> Keyring:
        """Configure the engine with another current key (and older ones to verify with)."""
        keyring = Keyring.from_secrets(secret, old)
        register(self.engine, ChainConfig(keyring, self.checkpoints))
        return keyring


@pytest.fixture
async def chain(empty_database: str, tmp_path: Path) -> AsyncIterator[Chain]:
    """A migrated, empty database with a keyed audit chain to write to."""
    upgrade_database(empty_database)
    engine = create_engine(async_url(empty_database))
    made = Chain(async_url(empty_database), engine, session_factory(engine), tmp_path / "checkpoints")
    made.rekey(CHAIN_SECRET)
    yield made
    await engine.dispose()
