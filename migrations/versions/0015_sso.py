"""single sign-on: who a user is at the identity provider, and what a session keeps to re-check them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 13:50:00

A user made by single sign-on carries the provider's subject (its stable id); a session started there keeps the
refresh token (sealed with the secret key) and the ID token, and when the provider last confirmed the person.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.sso_subject and the sso_* columns of web_sessions."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("sso_subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch.create_index("ix_users_sso_subject", ["sso_subject"], unique=True)
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("sso_refresh_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sso_id_token", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sso_checked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the single sign-on columns."""
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("sso_checked_at")
        batch.drop_column("sso_id_token")
        batch.drop_column("sso_refresh_token")
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_sso_subject")
        batch.drop_column("sso_subject")
