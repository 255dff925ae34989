"""batch leases: which process runs a batch and until when, and who took it over

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 15:40:00

A running batch is held by the process that runs it for a short lease it renews; when its process stops, the
lease runs out and another process takes the batch over (and says so: resumed_by, resumed_at).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STRING = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Add batches.lease_owner, lease_until, resumed_by and resumed_at, and the index the takeover reads."""
    # Plain ADD COLUMNs: a batch rebuild of batches on SQLite drops the table, and with it (ON DELETE CASCADE)
    # every batch's items.
    op.add_column("batches", sa.Column("lease_owner", _STRING(length=64), nullable=True))
    op.add_column("batches", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("batches", sa.Column("resumed_by", _STRING(length=64), nullable=True))
    op.add_column("batches", sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_batches_status_lease", "batches", ["status", "lease_until"])


def downgrade() -> None:
    """Drop the lease and takeover columns."""
    op.drop_index("ix_batches_status_lease", table_name="batches")
    for column in ("resumed_at", "resumed_by", "lease_until", "lease_owner"):
        op.drop_column("batches", column)
