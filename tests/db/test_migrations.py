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


def test_events_from_before_the_keyed_chain_become_its_legacy_segment(empty_database: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from app.db.migrate import alembic_config

    config = alembic_config(empty_database)
    command.upgrade(config, "0003")
    engine = create_engine(empty_database)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_events (seq, at, actor_name, auth_method, source_ip, user_agent, request_id,"
                    " operation, risk, params, outcome, prev_hash, hash) VALUES (1, '2026-01-01 00:00:00', 'old',"
                    " 'session', '', '', '', 'start', 'reversible', '{}', 'intent', :zero, :h)"
                ),
                {"zero": "0" * 64, "h": "a" * 64},
            )
            conn.execute(text("UPDATE audit_head SET seq = 1"))
        upgrade_database(empty_database)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT key_id, token_name FROM audit_events")).one() == ("", None)
            assert conn.execute(text("SELECT seq, hash, key_id FROM audit_head")).one() == (1, "a" * 64, "")
            conn.execute(
                text(
                    "INSERT INTO audit_events (seq, at, actor_name, auth_method, source_ip, user_agent, request_id,"
                    " operation, risk, params, outcome, prev_hash, hash, key_id) VALUES (2, '2026-01-02 00:00:00',"
                    " 'new', 'session', '', '', '', 'start', 'reversible', '{}', 'intent', :h, :h2, 'k1')"
                ),
                {"h": "a" * 64, "h2": "b" * 64},
            )
            # The trigger keeps the head's hash and key id in step with the newest event.
            assert conn.execute(text("SELECT hash, key_id FROM audit_head")).one() == ("b" * 64, "k1")
            conn.rollback()
    finally:
        engine.dispose()
