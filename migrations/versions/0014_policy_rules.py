"""policy rules on requests: the rule that decided a request's needs, its groups, each approver's groups, and
break-glass runs with their later review, and maintenance windows

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:50:00

A policy file's rule may ask for approvers from named groups; the request keeps which rule applied and what it
asked, and each approval keeps its approver's groups, so the count of groups covered survives a later change of
anyone's groups.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STRING = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Add the rule and groups columns to approval_requests and the approver's groups to approvals."""
    with op.batch_alter_table("approval_requests") as batch:
        batch.add_column(
            sa.Column("policy_rule", _STRING(length=100), nullable=False, server_default="settings")
        )
        batch.add_column(
            sa.Column("required_groups", _STRING(length=1000), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("own_group_approves", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("requester_groups", _STRING(length=1000), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("break_glass_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("break_glass_by", _STRING(length=64), nullable=True))
        batch.add_column(sa.Column("break_glass_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reviewed_by", _STRING(length=64), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_comment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("window_name", _STRING(length=100), nullable=True))
        batch.add_column(sa.Column("run_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("run_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("groups", _STRING(length=1000), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop the columns again."""
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("groups")
    with op.batch_alter_table("approval_requests") as batch:
        for name in (
            "run_until",
            "run_at",
            "window_name",
            "review_comment",
            "reviewed_at",
            "reviewed_by",
            "break_glass_reason",
            "break_glass_by",
            "break_glass_by_id",
            "requester_groups",
            "own_group_approves",
            "required_groups",
            "policy_rule",
        ):
            batch.drop_column(name)
