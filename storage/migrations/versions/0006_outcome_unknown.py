"""delivery: who holds a claim (renewed while the send lasts), and whether a send timed out
after the request went out (a retry may duplicate)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("outcome_unknown", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("claim", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claim")
        batch.drop_column("outcome_unknown")
