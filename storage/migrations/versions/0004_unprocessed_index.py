"""inbound: a partial index on unprocessed messages instead of one over all history

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch_op:
        batch_op.drop_index("ix_inbound_pending")
    op.create_index(
        "ix_inbound_unprocessed",
        "inbound_message",
        ["learner_id", "id"],
        sqlite_where=sa.text("processed_at IS NULL"),
        postgresql_where=sa.text("processed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_unprocessed", table_name="inbound_message")
    op.create_index("ix_inbound_pending", "inbound_message", ["learner_id", "processed_at", "id"])
