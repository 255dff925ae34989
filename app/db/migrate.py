"""Run Alembic migrations from code (start-up and `proxgate migrate`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from app.db.engine import sync_url
from app.db.files import make_private_sqlite
from app.paths import resource_dir


def alembic_config(url: str) -> Config:
    """An Alembic configuration for this database URL (async URLs are made synchronous)."""
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade_database(url: str) -> None:
    """Bring the database to the newest revision."""
    # Create a new SQLite file the same way the app's engine does: private, before SQLite opens it.
    make_private_sqlite(url)
    engine = create_engine(sync_url(url))
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()
