"""the IP index survives a restart

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:40:00

Each guest's network config (the keys the address parser reads, with its digest) and the addresses its guest
agent or container last reported are kept, so a restarted app lists addresses at once and only a new install
reads every guest before it can.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ip_guest_configs and ip_guest_addresses."""
    op.create_table(
        "ip_guest_configs",
        sa.Column("vmid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("network", sa.Text(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vmid"),
    )
    op.create_table(
        "ip_guest_addresses",
        sa.Column("vmid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("node", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.Column("problem_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vmid"),
    )


def downgrade() -> None:
    """Drop the IP index."""
    op.drop_table("ip_guest_addresses")
    op.drop_table("ip_guest_configs")
