"""Migrations: upgrade from empty, and the models match what the migrations build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import app.db.tables  # noqa: F401  (registers every table)
from app.db.migrate import alembic_config, upgrade_database


def test_upgrade_from_empty_then_autogenerate_finds_no_difference(empty_database: str) -> None:
    upgrade_database(empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert {
                "users",
                "web_sessions",
                "api_tokens",
                "login_attempts",
                "audit_events",
                "audit_head",
                "executions",
                "approval_requests",
                "approvals",
                "notification_outbox",
                "idempotency_keys",
                "alembic_version",
            } <= tables
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
    finally:
        engine.dispose()


def schema_of(url: str) -> tuple[list[str], list[str], int]:
    """(the revisions alembic_version holds, the tables, the rows of the audit chain's head)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
            heads = conn.execute(text("SELECT count(*) FROM audit_head")).scalar_one()
            return versions, sorted(inspect(conn).get_table_names()), int(heads)
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(empty_database: str) -> None:
    upgrade_database(empty_database)
    once = schema_of(empty_database)
    upgrade_database(empty_database)
    head = ScriptDirectory.from_config(alembic_config(empty_database)).get_current_head()
    assert once[0] == [head], "the database is at the newest revision"
    assert {
        "users",
        "audit_events",
        "audit_head",
        "executions",
        "approval_requests",
        "alembic_version",
    } <= set(once[1])
    assert schema_of(empty_database) == once, (
        "the second run changed nothing: same revision, tables, head row"
    )
