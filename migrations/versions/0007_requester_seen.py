"""a request remembers when its requester last saw how it stands

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 07:30:00

Requesters are told in the app when their request is approved, rejected, expired or has run: an outcome newer
than requester_seen_at is news for them (the navigation's badge and the notices), until they open the request
or mark their notices read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add approval_requests.requester_seen_at."""
    with op.batch_alter_table("approval_requests") as batch:
        batch.add_column(sa.Column("requester_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop approval_requests.requester_seen_at."""
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("requester_seen_at")
