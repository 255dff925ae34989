"""what happens in Proxmox without Proxgate: observed tasks, task-list cursors, alerts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:45:00

A task Proxgate did not start is recorded once (its UPID is the key, written in the same transaction as its
audit event); each node's task list is read from where it was left; an observed destructive change waits as an
alert until an approver or admin acknowledges it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Create observed_tasks, observer_cursors, side_door_alerts and guest_configs_seen."""
    op.create_table(
        "observed_tasks",
        sa.Column("upid", _STR(length=255), nullable=False),
        sa.Column("node", _STR(length=64), nullable=False),
        sa.Column("task_type", _STR(length=32), nullable=False),
        sa.Column("vmid", sa.Integer(), nullable=True),
        sa.Column("user", _STR(length=128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exitstatus", _STR(length=255), nullable=True),
        sa.PrimaryKeyConstraint("upid"),
    )
    op.create_index("ix_observed_tasks_open", "observed_tasks", ["finished_at"])
    op.create_table(
        "observer_cursors",
        sa.Column("node", _STR(length=64), nullable=False),
        sa.Column("read_until", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("node"),
    )
    op.create_table(
        "side_door_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upid", _STR(length=255), nullable=True),
        sa.Column("vmid", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", _STR(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("upid"),
    )
    op.create_index("ix_side_door_alerts_open", "side_door_alerts", ["acknowledged_at"])
    op.create_table(
        "guest_configs_seen",
        sa.Column("vmid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", _STR(length=64), nullable=False),
        sa.Column("fingerprints", sa.Text(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vmid"),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("guest_configs_seen")
    op.drop_index("ix_side_door_alerts_open", "side_door_alerts")
    op.drop_table("side_door_alerts")
    op.drop_table("observer_cursors")
    op.drop_index("ix_observed_tasks_open", "observed_tasks")
    op.drop_table("observed_tasks")
