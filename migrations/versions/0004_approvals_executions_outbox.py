"""approval requests, executions, notification outbox, idempotency keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 05:58:06

Task watches become executions: a row is written before the call to Proxmox (not after its UPID is
known), so a crash in between leaves a trace that start-up can reconcile. Running watches are carried over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("node", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("guest_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("vmid", sa.Integer(), nullable=True),
        sa.Column("target_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("target_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("open_key", sqlmodel.sql.sqltypes.AutoString(length=340), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("warnings", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("approval_count", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("requester_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("requester_method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requester_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("upid", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("exitstatus", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("result_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.create_index("ix_approval_requests_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_approval_requests_vmid_id", ["vmid", "id"], unique=False)

    op.create_table(
        "executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upid", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("node", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("risk", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("guest_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("vmid", sa.Integer(), nullable=True),
        sa.Column("target_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("task_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("auth_method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("exitstatus", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("lease_owner", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("upid"),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index("ix_executions_approval_id", ["approval_id"], unique=False)
        batch_op.create_index("ix_executions_state_lease", ["state", "lease_until"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notification_outbox_state_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("auth_method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["approval_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "user_id", name="uq_approvals_request_user"),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_request_id"), ["request_id"], unique=False)

    op.execute(
        "INSERT INTO executions (upid, node, operation, risk, guest_type, vmid, target_name, actor_id, actor_name,"
        " auth_method, request_id, state, exitstatus, lease_owner, lease_until, created_at, started_at,"
        " finished_at, errors)"
        " SELECT upid, node, operation, risk, guest_type, vmid, target_name, actor_id, actor_name, auth_method,"
        " request_id, state, exitstatus, lease_owner, lease_until, created_at, created_at, finished_at, errors"
        " FROM task_watches WHERE state = 'running'"
    )
    with op.batch_alter_table("task_watches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_watches_state_lease"))

    op.drop_table("task_watches")


def downgrade() -> None:
    """Undo this revision."""
    op.create_table(
        "task_watches",
        sa.Column("upid", sa.VARCHAR(length=255), nullable=False),
        sa.Column("node", sa.VARCHAR(length=64), nullable=False),
        sa.Column("operation", sa.VARCHAR(length=32), nullable=False),
        sa.Column("risk", sa.VARCHAR(length=16), nullable=False),
        sa.Column("guest_type", sa.VARCHAR(length=8), nullable=True),
        sa.Column("vmid", sa.INTEGER(), nullable=True),
        sa.Column("target_name", sa.VARCHAR(length=255), nullable=True),
        sa.Column("actor_id", sa.INTEGER(), nullable=True),
        sa.Column("actor_name", sa.VARCHAR(length=64), nullable=False),
        sa.Column("auth_method", sa.VARCHAR(length=16), nullable=False),
        sa.Column("request_id", sa.VARCHAR(length=64), nullable=False),
        sa.Column("state", sa.VARCHAR(length=16), nullable=False),
        sa.Column("exitstatus", sa.VARCHAR(length=255), nullable=True),
        sa.Column("lease_owner", sa.VARCHAR(length=64), nullable=True),
        sa.Column("lease_until", sa.DATETIME(), nullable=True),
        sa.Column("created_at", sa.DATETIME(), nullable=False),
        sa.Column("finished_at", sa.DATETIME(), nullable=True),
        sa.Column("errors", sa.INTEGER(), nullable=False),
        sa.PrimaryKeyConstraint("upid"),
    )
    with op.batch_alter_table("task_watches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_watches_state_lease"), ["state", "lease_until"], unique=False
        )

    op.execute(
        "INSERT INTO task_watches (upid, node, operation, risk, guest_type, vmid, target_name, actor_id,"
        " actor_name, auth_method, request_id, state, exitstatus, lease_owner, lease_until, created_at,"
        " finished_at, errors)"
        " SELECT upid, node, operation, risk, guest_type, vmid, target_name, actor_id, actor_name, auth_method,"
        " request_id, state, exitstatus, lease_owner, lease_until, created_at, finished_at, errors"
        " FROM executions WHERE state = 'running' AND upid IS NOT NULL AND node IS NOT NULL"
    )

    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_request_id"))

    op.drop_table("approvals")
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_outbox_state_due")

    op.drop_table("notification_outbox")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_state_lease")
        batch_op.drop_index("ix_executions_approval_id")

    op.drop_table("executions")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_approval_requests_vmid_id")
        batch_op.drop_index("ix_approval_requests_status_id")

    op.drop_table("approval_requests")
