"""Nudges: what PAU remembers about each learner's nudges, and when the sweep looks next

Revision ID: 0009
Revises: 0008
"""

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("learner") as batch:
        batch.add_column(sa.Column("nudge_state", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("next_nudge_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_index(
        "ix_learner_next_nudge",
        "learner",
        ["next_nudge_at"],
        sqlite_where=sa.text("next_nudge_at IS NOT NULL"),
        postgresql_where=sa.text("next_nudge_at IS NOT NULL"),
    )
    # Learners who already finished set-up: their badges were celebrated in the chat (no
    # milestone nudge for them), and the first sweep looks at them at once.
    learner = sa.table(
        "learner",
        sa.column("id", sa.Integer),
        sa.column("motivation", sa.JSON),
        sa.column("nudge_state", sa.JSON),
        sa.column("next_nudge_at", sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column("consented_at", sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(learner.c.id, learner.c.motivation).where(learner.c.consented_at.is_not(None))
    ).all()
    now = datetime.now(UTC)
    for row in rows:
        badges = list((row.motivation or {}).get("badges") or [])
        connection.execute(
            sa.update(learner)
            .where(learner.c.id == row.id)
            .values(nudge_state={"told": badges}, next_nudge_at=now)
        )


def downgrade() -> None:
    op.drop_index("ix_learner_next_nudge", table_name="learner")
    with op.batch_alter_table("learner") as batch:
        batch.drop_column("next_nudge_at")
        batch.drop_column("nudge_state")
