"""each approval keeps the seal of the request as its approver was shown it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 07:20:00

A request's seal (sha256 of its operation, target, parameters, description and preview) is written into its
'requested' audit event; an approval records the seal it was shown, so a request row changed between two
approvals no longer matches either and is refused before it runs. Approvals from before keep NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add approvals.seal."""
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("seal", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    """Drop approvals.seal."""
    with op.batch_alter_table("approvals") as batch:
        batch.drop_column("seal")
