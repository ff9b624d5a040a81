"""commands and internal events: the command table, deferred and retried inbound events

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "command",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("ref", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("lease_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["learner_id"], ["learner.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_command_learner_id", "command", ["learner_id"])
    op.create_index("ix_command_due", "command", ["status", "kind", "available_at"])

    with op.batch_alter_table("learner") as batch_op:
        batch_op.add_column(
            sa.Column("events_retry_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("inbound_message") as batch_op:
        batch_op.add_column(
            sa.Column("available_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute("UPDATE inbound_message SET available_at = received_at")
    with op.batch_alter_table("inbound_message") as batch_op:
        batch_op.alter_column(
            "available_at", existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False
        )
    op.drop_index("ix_inbound_unprocessed", table_name="inbound_message")
    op.create_index(
        "ix_inbound_unprocessed",
        "inbound_message",
        ["learner_id", "available_at", "id"],
        sqlite_where=sa.text("processed_at IS NULL"),
        postgresql_where=sa.text("processed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_unprocessed", table_name="inbound_message")
    op.create_index(
        "ix_inbound_unprocessed",
        "inbound_message",
        ["learner_id", "id"],
        sqlite_where=sa.text("processed_at IS NULL"),
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    with op.batch_alter_table("inbound_message") as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("available_at")
    with op.batch_alter_table("learner") as batch_op:
        batch_op.drop_column("events_retry_at")
    op.drop_index("ix_command_due", table_name="command")
    op.drop_index("ix_command_learner_id", table_name="command")
    op.drop_table("command")
