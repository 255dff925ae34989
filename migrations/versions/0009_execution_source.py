"""an execution remembers where its call came from

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:20:00

The events an execution writes after its intent ("started", "succeeded", "failed", "unknown"), often from the
task watcher or another process, carry the same source address and user agent as the intent did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add executions.source_ip and executions.user_agent."""
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("source_ip", sa.String(length=64), nullable=False, server_default=""))
        batch.add_column(sa.Column("user_agent", sa.String(length=255), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop executions.source_ip and executions.user_agent."""
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("user_agent")
        batch.drop_column("source_ip")
