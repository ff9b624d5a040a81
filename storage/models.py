"""SQLModel tables. Datetimes are aware UTC (SQLModel's UTCDateTime on both databases)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _json_column() -> Any:
    return Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))


class Learner(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_learner_channel_user"),
        # the nudge sweep reads only learners due for a look: its cost follows them, not all
        sa.Index(
            "ix_learner_next_nudge",
            "next_nudge_at",
            sqlite_where=sa.text("next_nudge_at IS NOT NULL"),
            postgresql_where=sa.text("next_nudge_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    external_id: str = Field(max_length=128)  # the platform's user or chat id
    consented_at: datetime | None = None
    name: str = Field(default="", max_length=64)
    level: str = Field(default="", max_length=16)
    daily_time: str = Field(default="", max_length=5)
    timezone: str = Field(default="", max_length=64)
    nudges: bool = False
    language: str = Field(default="en", max_length=8)
    paused: bool = False
    stopped: bool = False
    unreachable: bool = False
    created_at: datetime
    last_inbound_at: datetime | None = None
    phone: str | None = Field(default=None, max_length=32)  # WhatsApp's wa_id, when it is sent
    # WhatsApp's 24-hour window: closed early by error 131047; a template asked them to write
    window_closed_at: datetime | None = None
    window_knocked_at: datetime | None = None
    last_message_ref: str | None = Field(default=None, max_length=160)  # WhatsApp: for "typing…"
    # After an event of theirs failed: their queue waits until then (the others go on meanwhile).
    events_retry_at: datetime | None = None
    motivation: dict[str, Any] = _json_column()  # core.motivation.MotivationState
    fsrs_parameters: list[float] | None = Field(
        default=None, sa_column=sa.Column(sa.JSON(none_as_null=True), nullable=True)
    )
    fsrs_fit_reviews: int = 0  # how many reviews the last parameter fit looked at
    reviews_logged: int = 0  # reviews in their history (kept here so the refit never counts)
    nudge_state: dict[str, Any] = _json_column()  # core.nudges.NudgeState
    next_nudge_at: datetime | None = None  # when the sweep looks at them next (None: never)


class Conversation(SQLModel, table=True):
    learner_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("learner.id", ondelete="CASCADE"), primary_key=True
        )
    )
    state: str = Field(max_length=64)
    data: dict[str, Any] = _json_column()
    updated_at: datetime


class InboundMessage(SQLModel, table=True):
    """Every event for a learner, stored before it is processed: platform messages (unique per
    channel and keyed hash of the message id) and internal events (channel "internal": command
    results keyed by the command id, timers). One queue per learner, in `available_at` order."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        sa.UniqueConstraint("channel", "platform_message_id", name="uq_inbound_channel_message"),
        # what the worker reads ("who has something waiting?", "what is next for this learner?")
        # covers only unprocessed rows, so its cost does not grow with all history
        sa.Index(
            "ix_inbound_unprocessed",
            "learner_id",
            "available_at",
            "id",
            sqlite_where=sa.text("processed_at IS NULL"),
            postgresql_where=sa.text("processed_at IS NULL"),
        ),
        # one learner's messages, newest first (the admin page's recent chat)
        sa.Index("ix_inbound_learner", "learner_id", "id"),
        # housekeeping: processed rows by age
        sa.Index(
            "ix_inbound_processed",
            "received_at",
            sqlite_where=sa.text("processed_at IS NOT NULL"),
            postgresql_where=sa.text("processed_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    platform_message_id: str = Field(max_length=160)
    learner_id: int | None = Field(default=None, foreign_key="learner.id", ondelete="SET NULL")
    payload: dict[str, Any] = _json_column()
    sequence: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    received_at: datetime
    available_at: datetime  # when it joins the queue: at once, or later for a timer
    attempts: int = 0  # failed tries; after a few the event is set aside with its error
    processed_at: datetime | None = None
    error: str | None = Field(default=None, max_length=500)


class CommandRecord(SQLModel, table=True):
    """Work a step asked for, done after its commit by the command worker (core/commands.py)."""

    __tablename__ = "command"
    __table_args__ = (
        sa.Index("ix_command_due", "status", "kind", "available_at"),
        sa.Index("ix_command_settled", "status", "created_at"),  # housekeeping
    )

    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = Field(foreign_key="learner.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=32)
    args: dict[str, Any] = _json_column()  # emptied once the result is in
    ref: str = Field(default="", max_length=80)
    status: str = Field(default="pending", max_length=16)  # pending | done | failed
    attempts: int = 0
    available_at: datetime
    lease_until: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime
    finished_at: datetime | None = None


class OutboxMessage(SQLModel, table=True):
    """A reply waiting to be delivered, written in the same transaction as the state change."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_due", "status", "channel", "address", "id"),
        sa.Index("ix_outbox_settled", "status", "created_at"),  # housekeeping
        sa.Index("ix_outbox_platform_message", "platform_message_id"),  # statuses find it
        sa.Index("ix_outbox_learner", "learner_id", "id"),  # one learner's replies (admin page)
    )

    id: int | None = Field(default=None, primary_key=True)
    learner_id: int | None = Field(default=None, foreign_key="learner.id", ondelete="SET NULL")
    channel: str = Field(max_length=32)
    address: str = Field(max_length=128)
    payload: dict[str, Any] = _json_column()
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime
    lease_until: datetime | None = None
    claim: str | None = Field(default=None, max_length=32)  # the lease holder's token
    last_error: str | None = Field(default=None, max_length=500)
    # the last try timed out after the request went out: it may have arrived (a retry may
    # duplicate it, and is counted)
    outcome_unknown: bool = False
    created_at: datetime
    sent_at: datetime | None = None
    platform_message_id: str | None = Field(default=None, max_length=160)
    platform_status: str | None = Field(default=None, max_length=16)  # delivered, read, failed


class WebhookItem(SQLModel, table=True):
    """One message or status of a platform webhook, stored as it came (re-wrapped on its own) and
    parsed later, so a crash between the 200 and the parsing loses nothing. The body is emptied
    once it is processed; the dedupe key stays to recognise redeliveries."""

    __tablename__ = "webhook_item"
    __table_args__ = (
        sa.UniqueConstraint("channel", "dedupe_key", name="uq_webhook_item"),
        sa.Index("ix_webhook_item_unprocessed", "processed_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    dedupe_key: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # message | status
    body: dict[str, Any] = _json_column()
    received_at: datetime
    attempts: int = 0
    processed_at: datetime | None = None
    error: str | None = Field(default=None, max_length=500)


class Enrollment(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("learner_id", "course_slug", name="uq_enrollment"),)

    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = Field(foreign_key="learner.id", ondelete="CASCADE", index=True)
    course_slug: str = Field(max_length=64)
    active: bool = True
    progress: dict[str, Any] = _json_column()  # concept id -> ConceptProgress.to_dict()
    stats: dict[str, Any] = _json_column()  # core.dialogue.model.LearningStats
    enrolled_at: datetime


class Activity(SQLModel, table=True):
    """One learning event: a lesson read, a quiz answered, a reflection, a question asked..."""

    # the at-risk page reads recent graded quizzes of everyone
    __table_args__ = (sa.Index("ix_activity_kind_at", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = Field(foreign_key="learner.id", ondelete="CASCADE", index=True)
    course_slug: str = Field(default="", max_length=64)
    kind: str = Field(max_length=32)
    concept_id: str = Field(default="", max_length=64)
    item_id: str = Field(default="", max_length=64)
    correct: bool | None = None
    score: float | None = None
    response: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    duration_ms: int | None = None
    at: datetime


class CourseRecord(SQLModel, table=True):
    __tablename__ = "course"

    slug: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    language: str = Field(default="en", max_length=8)
    version: int = 1
    content_hash: str = Field(max_length=64)
    revision: int = 1  # bumped on every import that changed the content
    imported_at: datetime


class ConceptRecord(SQLModel, table=True):
    """A concept and everything in it (lesson, quiz, prompts) as the loader produced it."""

    __tablename__ = "concept"

    course_slug: str = Field(
        sa_column=sa.Column(
            sa.String(64), sa.ForeignKey("course.slug", ondelete="CASCADE"), primary_key=True
        )
    )
    concept_id: str = Field(primary_key=True, max_length=64)
    position: int
    title: str = Field(max_length=200)
    body: dict[str, Any] = _json_column()
    retired: bool = False  # removed from the course folder; kept so progress still resolves


class ReviewCardRecord(SQLModel, table=True):
    """One FSRS card per learner and quiz item; `due` is indexed so due reviews are cheap."""

    __tablename__ = "review_card"
    __table_args__ = (sa.Index("ix_review_card_due", "learner_id", "due"),)

    learner_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("learner.id", ondelete="CASCADE"), primary_key=True
        )
    )
    item_id: str = Field(primary_key=True, max_length=64)
    course_slug: str = Field(max_length=64)
    concept_id: str = Field(max_length=64)
    fsrs_state: dict[str, Any] = _json_column()
    due: datetime
    reviews: int = 0
    updated_at: datetime


class SentPoll(SQLModel, table=True):
    """A native quiz poll we sent, so a poll answer (which names only the poll) finds its item."""

    __tablename__ = "sent_poll"

    poll_id: str = Field(primary_key=True, max_length=128)
    channel: str = Field(max_length=32)
    learner_id: int = Field(foreign_key="learner.id", ondelete="CASCADE", index=True)
    item_id: str = Field(max_length=64)
    created_at: datetime


# --- Mentors and the admin page (DESIGN.md §8) ---


class Staff(SQLModel, table=True):
    """A mentor or an admin of the admin page. E-mail addresses are kept lower-case."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(default="", max_length=80)
    role: str = Field(max_length=16)  # mentor | admin
    password_hash: str = Field(max_length=255)  # argon2
    active: bool = True
    on_duty: bool = True  # pinged for urgent escalations
    can_see_phone: bool = False  # an admin may allow a mentor to see learners' phone numbers
    created_at: datetime
    last_login_at: datetime | None = None


class StaffSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is stored, so a
    leaked table signs nobody in. Logging out deletes the row."""

    __tablename__ = "staff_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: int = Field(foreign_key="staff.id", ondelete="CASCADE", index=True)
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    address: str = Field(default="", max_length=64)


class LoginAttempt(SQLModel, table=True):
    """Every sign-in try, for throttling per account and per address (across processes)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_email", "email", "at"),
        sa.Index("ix_login_attempt_address", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    address: str = Field(max_length=64)
    succeeded: bool = False
    at: datetime


class AuditEntry(SQLModel, table=True):
    """One staff action. `detail` carries ids and settings, never a learner's text."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    staff_id: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    staff_email: str = Field(default="", max_length=254)  # kept when the account goes
    action: str = Field(max_length=64)  # e.g. "login", "escalation.reply", "staff.create"
    target: str = Field(default="", max_length=128)  # e.g. "escalation:12", "learner:5"
    detail: dict[str, Any] = _json_column()
    address: str = Field(default="", max_length=64)


class Escalation(SQLModel, table=True):
    """A learner's question for a human: opened by the dialogue, claimed, answered and resolved
    by a mentor. The mentor's reply reaches the learner as an internal event (mentor_replied)."""

    __table_args__ = (sa.Index("ix_escalation_inbox", "status", "urgent", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    learner_id: int = Field(foreign_key="learner.id", ondelete="CASCADE", index=True)
    course_slug: str = Field(default="", max_length=64)
    concept_id: str = Field(default="", max_length=64)  # what they were studying, when known
    question: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    reason: str = Field(default="asked", max_length=16)  # asked | tutor | crisis | no_answer
    urgent: bool = False
    status: str = Field(default="open", max_length=16)  # open | claimed | answered | resolved
    draft: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    claimed_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    claimed_at: datetime | None = None
    reply: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, default=""))
    replied_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    replied_at: datetime | None = None
    replies_sent: int = 0  # a mentor may write more than once; each is its own event
    resolved_by: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    resolved_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class FaqEntry(SQLModel, table=True):
    """A mentor's answer saved for the course: the tutor and the retrieval use it next time."""

    __tablename__ = "faq_entry"

    id: int | None = Field(default=None, primary_key=True)
    course_slug: str = Field(
        sa_column=sa.Column(
            sa.String(64), sa.ForeignKey("course.slug", ondelete="CASCADE"), index=True
        )
    )
    concept_id: str = Field(default="", max_length=64)
    question: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    answer: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    staff_id: int | None = Field(default=None, foreign_key="staff.id", ondelete="SET NULL")
    created_at: datetime


# --- The tutor's token use and answer cache (DESIGN.md §6) ---


class LlmUsageRecord(SQLModel, table=True):
    """Tokens the language model used, per learner, UTC day and purpose ("answer", "hint",
    "grade", "draft"); one row each, incremented by an upsert. `learner_id` is None for calls no
    learner made (an author's `pau content draft-quiz`): NULLs never clash in a unique
    constraint, so those rows have their own partial unique index."""

    __tablename__ = "llm_usage"
    __table_args__ = (
        sa.UniqueConstraint("learner_id", "day", "purpose", name="uq_llm_usage_learner_day"),
        sa.Index(
            "uq_llm_usage_unattributed",
            "day",
            "purpose",
            unique=True,
            sqlite_where=sa.text("learner_id IS NULL"),
            postgresql_where=sa.text("learner_id IS NULL"),
        ),
        # the day's total for everyone, read before every call
        sa.Index("ix_llm_usage_day", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    learner_id: int | None = Field(default=None, foreign_key="learner.id", ondelete="CASCADE")
    day: date
    purpose: str = Field(max_length=16)
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # of the input, read from the provider's prompt cache


class LlmAnswerCacheEntry(SQLModel, table=True):
    """A checked answer to a question about one lesson of one course revision, keyed by
    core/tutor/cache_key.py's hash (which holds no learner text), reused until it expires."""

    __tablename__ = "llm_answer_cache"

    key: str = Field(primary_key=True, max_length=64)
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime
    hits: int = 0
