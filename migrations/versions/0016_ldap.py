"""LDAP sign-in: which users the directory vouches for

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 15:30:00

A user made by signing in against the LDAP directory carries the DN of their entry, as last seen; such a user
signs in and is re-checked there only. Their sessions use the single sign-on columns of 0015 (when the
directory last confirmed the person).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.ldap_dn."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("ldap_dn", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True))


def downgrade() -> None:
    """Drop users.ldap_dn."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("ldap_dn")
