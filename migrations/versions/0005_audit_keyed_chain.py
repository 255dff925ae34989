"""audit chain keyed with HMAC: key id per event and on the head, token name per event

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:00:00

Events written before this revision keep an empty key_id: they form the legacy segment, hashed with plain sha256,
and are verified as such. The first keyed event after them opens a new segment that links to their last hash
(see app/services/audit/chain.py). The head row also remembers the key id of the newest event, so an append
notices a changed key without reading the event back; the trigger that copies the hash now copies both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGER = """
CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_events
BEGIN
    UPDATE audit_head SET hash = NEW.hash, key_id = NEW.key_id WHERE id = 1;
END
"""
SQLITE_OLD_TRIGGER = """
CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_events
BEGIN
    UPDATE audit_head SET hash = NEW.hash WHERE id = 1;
END
"""
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_head_follows() RETURNS trigger AS $$
BEGIN
    UPDATE audit_head SET hash = NEW.hash, key_id = NEW.key_id WHERE id = 1;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""
POSTGRES_OLD_FUNCTION = POSTGRES_FUNCTION.replace(", key_id = NEW.key_id", "")


def _key_column() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="")


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(_key_column())
        batch_op.add_column(
            sa.Column("token_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(_key_column())
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
    else:
        # A batch rebuild of audit_events drops its triggers; this one is (re)created after it.
        op.execute("DROP TRIGGER IF EXISTS audit_head_follows")
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    """Undo this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_OLD_FUNCTION)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_head_follows")
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("key_id")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("token_name")
        batch_op.drop_column("key_id")
    if op.get_bind().dialect.name != "postgresql":
        op.execute(SQLITE_OLD_TRIGGER)
