"""paths that run often do not grow with history: indexes for the purge, a review counter on the
learner for the refit selection (back-filled from the activity log)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("learner") as batch:
        batch.add_column(
            sa.Column("reviews_logged", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE learner SET reviews_logged = (SELECT count(*) FROM activity"
        " WHERE activity.learner_id = learner.id AND activity.kind = 'quiz'"
        " AND activity.item_id <> '' AND activity.correct IS NOT NULL)"
    )
    op.create_index("ix_outbox_settled", "outbox", ["status", "created_at"])
    op.create_index("ix_command_settled", "command", ["status", "created_at"])
    op.create_index(
        "ix_inbound_processed",
        "inbound_message",
        ["received_at"],
        sqlite_where=sa.text("processed_at IS NOT NULL"),
        postgresql_where=sa.text("processed_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_processed", table_name="inbound_message")
    op.drop_index("ix_command_settled", table_name="command")
    op.drop_index("ix_outbox_settled", table_name="outbox")
    with op.batch_alter_table("learner") as batch:
        batch.drop_column("reviews_logged")
