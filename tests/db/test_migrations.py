"""Migrations: upgrade from empty, and the models match what the migrations build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import app.db.tables  # noqa: F401  (registers every table)
from app.db.migrate import upgrade_database


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


def test_upgrade_twice_is_harmless(empty_database: str) -> None:
    upgrade_database(empty_database)
    upgrade_database(empty_database)
