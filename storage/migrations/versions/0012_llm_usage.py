"""The tutor: tokens used per learner, day and purpose, and the answer cache

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

String = sqlmodel.sql.sqltypes.AutoString
Moment = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "learner_id",
            sa.Integer(),
            sa.ForeignKey("learner.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("purpose", String(length=16), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.UniqueConstraint("learner_id", "day", "purpose", name="uq_llm_usage_learner_day"),
    )
    op.create_index(
        "uq_llm_usage_unattributed",
        "llm_usage",
        ["day", "purpose"],
        unique=True,
        sqlite_where=sa.text("learner_id IS NULL"),
        postgresql_where=sa.text("learner_id IS NULL"),
    )
    op.create_index("ix_llm_usage_day", "llm_usage", ["day"])
    op.create_table(
        "llm_answer_cache",
        sa.Column("key", String(length=64), primary_key=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", Moment(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("llm_answer_cache")
    op.drop_index("ix_llm_usage_day", table_name="llm_usage")
    op.drop_index("uq_llm_usage_unattributed", table_name="llm_usage")
    op.drop_table("llm_usage")
