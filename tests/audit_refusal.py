"""An audit log that refuses writes: a trigger in the app's own database (SQLite or PostgreSQL) makes it refuse
new events, all of them or those of one outcome, the way a database that will not take a write does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.engine import sync_url
from tests.approval_guests import sql

# Every answer about an audit log that cannot be written starts so, whatever was asked.
UNWRITABLE = "The audit log cannot be written right now"
NOTHING_DONE = (
    f"{UNWRITABLE}, so nothing was done and nothing was sent to Proxmox. "
    "Try again once the database takes writes again."
)
NAME = "test_audit_refused"


@contextmanager
def audit_refused(settings: Settings, outcome: str | None = None) -> Iterator[None]:
    """While inside, the database refuses to insert audit events (only those with this outcome, if given)."""
    postgres = make_url(sync_url(settings.resolved_database_url)).get_backend_name() == "postgresql"
    if postgres:
        when = f"WHEN (NEW.outcome = '{outcome}')" if outcome else ""
        sql(
            settings,
            f"CREATE FUNCTION {NAME}() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'the audit log refuses writes'; END $$ LANGUAGE plpgsql",
        )
        sql(
            settings,
            f"CREATE TRIGGER {NAME} BEFORE INSERT ON audit_events FOR EACH ROW {when} EXECUTE FUNCTION {NAME}()",
        )
    else:
        when = f"WHEN NEW.outcome = '{outcome}'" if outcome else ""
        sql(
            settings,
            f"CREATE TRIGGER {NAME} BEFORE INSERT ON audit_events {when} "
            "BEGIN SELECT RAISE(ABORT, 'the audit log refuses writes'); END",
        )
    try:
        yield
    finally:
        sql(settings, f"DROP TRIGGER IF EXISTS {NAME}" + (" ON audit_events" if postgres else ""))
        if postgres:
            sql(settings, f"DROP FUNCTION IF EXISTS {NAME}()")
