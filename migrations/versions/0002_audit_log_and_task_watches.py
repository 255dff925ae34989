"""audit log and task watches

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:49:50.748292
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("auth_method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("node", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("guest_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("vmid", sa.Integer(), nullable=True),
        sa.Column("target_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("upid", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_actor_seq", ["actor_name", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_events_operation_seq", ["operation", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_outcome_seq", ["outcome", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_upid", ["upid"], unique=False)
        batch_op.create_index("ix_audit_events_vmid_seq", ["vmid", "seq"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "task_watches",
        sa.Column("upid", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("node", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("guest_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("vmid", sa.Integer(), nullable=True),
        sa.Column("target_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("auth_method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("exitstatus", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("upid"),
    )
    with op.batch_alter_table("task_watches", schema=None) as batch_op:
        batch_op.create_index("ix_task_watches_state_lease", ["state", "lease_until"], unique=False)

    # The chain starts from a head of sequence 0 and an all-zero hash; appends lock and advance this row.
    head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer),
        sa.column("seq", sa.BigInteger),
        sa.column("hash", sa.String),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("task_watches", schema=None) as batch_op:
        batch_op.drop_index("ix_task_watches_state_lease")

    op.drop_table("task_watches")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_vmid_seq")
        batch_op.drop_index("ix_audit_events_upid")
        batch_op.drop_index("ix_audit_events_outcome_seq")
        batch_op.drop_index("ix_audit_events_operation_seq")
        batch_op.drop_index("ix_audit_events_at")
        batch_op.drop_index("ix_audit_events_actor_seq")

    op.drop_table("audit_events")
