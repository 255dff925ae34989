"""batches: one change asked of many guests, each guest's part, and the batch on every event and call

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:40:00

A bulk action (or emptying a node) is one batch: its guests' parts are run a few at a time, and every audit
event and execution of it carries the batch's id, so the log tells it as one story.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STRING = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Create batches and batch_items; add batch_id to audit_events, executions and approval_requests."""
    op.create_table(
        "batches",
        sa.Column("id", _STRING(length=16), nullable=False),
        sa.Column("kind", _STRING(length=16), nullable=False),
        sa.Column("operation", _STRING(length=32), nullable=False),
        sa.Column("created_by", _STRING(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("stop_on_failure", sa.Boolean(), nullable=False),
        sa.Column("status", _STRING(length=16), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batches_created_at", "batches", ["created_at"])
    op.create_table(
        "batch_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", _STRING(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("vmid", sa.Integer(), nullable=False),
        sa.Column("name", _STRING(length=255), nullable=False),
        sa.Column("node", _STRING(length=64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", _STRING(length=16), nullable=False),
        sa.Column("upid", _STRING(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batch_items_batch_position", "batch_items", ["batch_id", "position"], unique=True)
    # A plain ADD COLUMN: a batch rebuild of audit_events on SQLite would drop the triggers that guard it.
    op.add_column("audit_events", sa.Column("batch_id", _STRING(length=16), nullable=True))
    op.create_index("ix_audit_events_batch_seq", "audit_events", ["batch_id", "seq"])
    op.add_column("executions", sa.Column("batch_id", _STRING(length=16), nullable=True))
    op.create_index("ix_executions_batch_id", "executions", ["batch_id"])
    op.add_column("approval_requests", sa.Column("batch_id", _STRING(length=16), nullable=True))


def downgrade() -> None:
    """Drop the batch columns and tables."""
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("batch_id")
    op.drop_index("ix_executions_batch_id", table_name="executions")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("batch_id")
    op.drop_index("ix_audit_events_batch_seq", table_name="audit_events")
    op.drop_column("audit_events", "batch_id")
    op.drop_index("ix_batch_items_batch_position", table_name="batch_items")
    op.drop_table("batch_items")
    op.drop_index("ix_batches_created_at", table_name="batches")
    op.drop_table("batches")
