"""call renewals: when the process of a call still waiting for Proxmox last said it was alive

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 16:30:00

An upload streams for longer than a plain call's lease, so its process renews the lease; the reconciler of a
call whose process then died looks for its task from that moment, not from when the call began.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add executions.renewed_at."""
    op.add_column("executions", sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop executions.renewed_at."""
    op.drop_column("executions", "renewed_at")
