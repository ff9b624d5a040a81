"""Mentors and the admin page: staff accounts and sessions, sign-in tries, the audit log,
escalations to a human and the course FAQ built from mentors' answers

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

String = sqlmodel.sql.sqltypes.AutoString
Moment = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", String(length=254), nullable=False, unique=True),
        sa.Column("name", String(length=80), nullable=False),
        sa.Column("role", String(length=16), nullable=False),
        sa.Column("password_hash", String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("can_see_phone", sa.Boolean(), nullable=False),
        sa.Column("created_at", Moment(), nullable=False),
        sa.Column("last_login_at", Moment(), nullable=True),
    )
    op.create_table(
        "staff_session",
        sa.Column("token_hash", String(length=64), primary_key=True),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", Moment(), nullable=False),
        sa.Column("expires_at", Moment(), nullable=False),
        sa.Column("last_seen_at", Moment(), nullable=False),
        sa.Column("address", String(length=64), nullable=False),
    )
    op.create_index("ix_staff_session_staff_id", "staff_session", ["staff_id"])
    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", String(length=254), nullable=False),
        sa.Column("address", String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", Moment(), nullable=False),
    )
    op.create_index("ix_login_attempt_email", "login_attempt", ["email", "at"])
    op.create_index("ix_login_attempt_address", "login_attempt", ["address", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", Moment(), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="SET NULL"), nullable=True),
        sa.Column("staff_email", String(length=254), nullable=False),
        sa.Column("action", String(length=64), nullable=False),
        sa.Column("target", String(length=128), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("address", String(length=64), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    staff_ref = {"ondelete": "SET NULL"}
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("learner_id", sa.Integer(), sa.ForeignKey("learner.id", ondelete="CASCADE"), nullable=False),
        sa.Column("course_slug", String(length=64), nullable=False),
        sa.Column("concept_id", String(length=64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reason", String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("status", String(length=16), nullable=False),
        sa.Column("draft", sa.Text(), nullable=False),
        sa.Column("claimed_by", sa.Integer(), sa.ForeignKey("staff.id", **staff_ref), nullable=True),
        sa.Column("claimed_at", Moment(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("replied_by", sa.Integer(), sa.ForeignKey("staff.id", **staff_ref), nullable=True),
        sa.Column("replied_at", Moment(), nullable=True),
        sa.Column("replies_sent", sa.Integer(), nullable=False),
        sa.Column("resolved_by", sa.Integer(), sa.ForeignKey("staff.id", **staff_ref), nullable=True),
        sa.Column("resolved_at", Moment(), nullable=True),
        sa.Column("created_at", Moment(), nullable=False),
        sa.Column("updated_at", Moment(), nullable=False),
    )
    op.create_index("ix_escalation_learner_id", "escalation", ["learner_id"])
    op.create_index("ix_escalation_inbox", "escalation", ["status", "urgent", "created_at"])
    op.create_table(
        "faq_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("course_slug", sa.String(length=64), sa.ForeignKey("course.slug", ondelete="CASCADE"), nullable=True),
        sa.Column("concept_id", String(length=64), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", Moment(), nullable=False),
    )
    op.create_index("ix_faq_entry_course_slug", "faq_entry", ["course_slug"])


def downgrade() -> None:
    op.drop_index("ix_faq_entry_course_slug", table_name="faq_entry")
    op.drop_table("faq_entry")
    op.drop_index("ix_escalation_inbox", table_name="escalation")
    op.drop_index("ix_escalation_learner_id", table_name="escalation")
    op.drop_table("escalation")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_login_attempt_address", table_name="login_attempt")
    op.drop_index("ix_login_attempt_email", table_name="login_attempt")
    op.drop_table("login_attempt")
    op.drop_index("ix_staff_session_staff_id", table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_table("staff")
