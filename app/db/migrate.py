"""Run Alembic migrations from code (start-up and `proxgate migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from app.db.engine import sync_url
from app.paths import resource_dir


def alembic_config(url: str) -> Config:
    """An Alembic configuration for this database URL (async URLs are made synchronous)."""
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return config


def upgrade_database(url: str) -> None:
    """Bring the database to the newest revision."""
    if url.startswith("sqlite"):
        # Create the parent folder the same way the app's engine does.
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sync_url(url))
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()
