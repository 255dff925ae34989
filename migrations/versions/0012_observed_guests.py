"""observed_guests: the guests the cluster view last showed, so a restart notices one removed meanwhile

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 13:45:00

A guest gone from the cluster with no task that removed it is recorded by comparing each round's guests with
the last ones seen; kept in the database, the comparison holds across a restart.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STR = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Create observed_guests."""
    op.create_table(
        "observed_guests",
        sa.Column("vmid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node", _STR(length=64), nullable=False),
        sa.Column("guest_type", _STR(length=8), nullable=False),
        sa.Column("name", _STR(length=128), nullable=True),
        sa.PrimaryKeyConstraint("vmid"),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("observed_guests")
