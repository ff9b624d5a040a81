"""The admin page's reads: one learner's messages and replies, and recent activities by kind

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbound_learner", "inbound_message", ["learner_id", "id"])
    op.create_index("ix_outbox_learner", "outbox", ["learner_id", "id"])
    op.create_index("ix_activity_kind_at", "activity", ["kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_activity_kind_at", table_name="activity")
    op.drop_index("ix_outbox_learner", table_name="outbox")
    op.drop_index("ix_inbound_learner", table_name="inbound_message")
