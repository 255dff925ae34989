"""Migrations: upgrade from empty, and the models match what the migrations build."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import app.db.models  # noqa: F401  (registers the tables)
from app.db.engine import sync_url
from app.db.migrate import upgrade_database


@pytest.fixture
def empty_database(database_url: str, tmp_path: object) -> Iterator[str]:
    """A new, empty database of the same kind as the suite's (SQLite file or PostgreSQL database)."""
    url = make_url(sync_url(database_url))
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    name = f"proxgate_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_from_empty_then_autogenerate_finds_no_difference(empty_database: str) -> None:
    upgrade_database(empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert {"users", "web_sessions", "api_tokens", "login_attempts", "alembic_version"} <= tables
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(empty_database: str) -> None:
    upgrade_database(empty_database)
    upgrade_database(empty_database)
