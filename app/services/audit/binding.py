"""Which keys seal each database engine's audit chain, where its checkpoints go and who hears of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services.audit.chain import AuditKeyMissing, Keyring
from app.services.audit.signed import Checkpoint

if TYPE_CHECKING:
    from app.config import Settings


@dataclass(frozen=True)
class ChainConfig:
    """What appends, verification and checkpoints of one database need: keys, where checkpoints go, who hears."""

    keyring: Keyring
    checkpoint_dir: Path | None = None
    on_checkpoint: Callable[[Checkpoint], None] | None = field(default=None, compare=False)


# Per engine, so several apps (and test databases) in one process each use their own key.
_CONFIGS: WeakKeyDictionary[Engine, ChainConfig] = WeakKeyDictionary()


def register(engine: AsyncEngine, config: ChainConfig) -> ChainConfig:
    """Give this engine's audit chain its keys and checkpoint directory."""
    _CONFIGS[engine.sync_engine] = config
    return config


def configure(
    engine: AsyncEngine, settings: Settings, on_checkpoint: Callable[[Checkpoint], None] | None = None
) -> ChainConfig:
    """Key this engine's chain from the settings (the app's lifespan and the CLI call this once per engine)."""
    old = settings.audit_old_keys.get_secret_value() if settings.audit_old_keys else ""
    keyring = Keyring.from_secrets(
        settings.resolved_secret_key(), [s.strip() for s in old.split(",") if s.strip()]
    )
    return register(engine, ChainConfig(keyring, settings.resolved_checkpoint_dir(), on_checkpoint))


def config_of(bind: AsyncSession | async_sessionmaker[AsyncSession]) -> ChainConfig:
    """The configuration of the engine behind a session or session factory; AuditKeyMissing if none."""
    engine = bind.kw.get("bind") if isinstance(bind, async_sessionmaker) else bind.bind
    if isinstance(engine, AsyncConnection):
        engine = engine.engine
    config = _CONFIGS.get(engine.sync_engine) if isinstance(engine, AsyncEngine) else None
    if config is None:
        raise AuditKeyMissing(
            "this database engine has no audit key: call app.services.audit.binding.configure(engine, settings) "
            "after creating it (the app's lifespan and the CLI do)"
        )
    return config
