"""WhatsApp: webhook items stored raw before parsing, the learner's phone number and 24-hour
window, and what the platform says about each sent message

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.UniqueConstraint("channel", "dedupe_key", name="uq_webhook_item"),
    )
    op.create_index("ix_webhook_item_unprocessed", "webhook_item", ["processed_at", "id"])
    with op.batch_alter_table("learner") as batch:
        batch.add_column(sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch.add_column(sa.Column("window_closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("window_knocked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("last_message_ref", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True)
        )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("platform_message_id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True))
        batch.add_column(sa.Column("platform_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.create_index("ix_outbox_platform_message", "outbox", ["platform_message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_platform_message", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("platform_status")
        batch.drop_column("platform_message_id")
    with op.batch_alter_table("learner") as batch:
        batch.drop_column("last_message_ref")
        batch.drop_column("window_knocked_at")
        batch.drop_column("window_closed_at")
        batch.drop_column("phone")
    op.drop_index("ix_webhook_item_unprocessed", table_name="webhook_item")
    op.drop_table("webhook_item")
