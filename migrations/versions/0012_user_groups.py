"""user groups: the named approver groups a user belongs to

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 13:40:00

An approval rule may ask for an approver from a named group (the database team for production databases); a
user's groups are kept on the user, comma-separated, set locally or by the identity provider at sign-in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.groups, empty for every existing user."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "groups", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False, server_default=""
            )
        )


def downgrade() -> None:
    """Drop users.groups."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("groups")
