"""The runner's view of one learner, on one SQLModel session (the caller commits)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.commands import Command, Timer
from core.dialogue.model import Snapshot
from core.dialogue.nudging import facts_of
from core.dialogue.states import State
from core.escalations import EscalationRequest
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord, ConceptProgress, LearningStats, Profile
from core.motivation import MotivationState
from core.nudges import NudgeState, next_check
from core.ports import Address, PendingEvent
from core.replies import Reply, Template, reply_to_dict
from core.review import ReviewScheduler
from storage.db import from_db, to_db
from storage.models import (
    Activity,
    CommandRecord,
    Conversation,
    Enrollment,
    InboundMessage,
    Learner,
    OutboxMessage,
)
from storage.privacy import delete_learner
from storage.review_cards import due_reviews, is_review, record_review

log = logging.getLogger(__name__)

INTERNAL = "internal"  # the channel of command results and timers
WINDOWED_CHANNELS = frozenset({"whatsapp"})  # free-form replies within 24 h of the last message
WINDOW = timedelta(hours=24)


def in_window(last_inbound: datetime | None, closed: datetime | None, now: datetime) -> bool:
    """WhatsApp's rule: free-form messages within 24 hours of the learner's last message, unless
    WhatsApp said the window was closed after that (error 131047)."""
    if last_inbound is None or (closed is not None and closed >= last_inbound):
        return False
    return to_db(last_inbound) > to_db(now - WINDOW)


LEARNER_TABLE: sa.Table = Learner.__table__  # type: ignore[attr-defined]
INBOUND_TABLE: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]
PROFILE_FIELDS = (
    "name",
    "level",
    "daily_time",
    "timezone",
    "nudges",
    "language",
    "paused",
    "stopped",
)


def profile_of(learner: Learner, course_slug: str) -> Profile:
    """The learner's profile as the dialogue and the nudge rules see it."""
    return Profile(
        consented=learner.consented_at is not None,
        course_slug=course_slug,
        **{name: getattr(learner, name) for name in PROFILE_FIELDS},
    )


@dataclass(frozen=True)
class Ingested:
    learner_id: int
    inbound_id: int | None  # None: a duplicate delivery, already stored

    @property
    def duplicate(self) -> bool:
        return self.inbound_id is None


def insert_ignoring_conflicts(session: Session, table: Any, rows: list[dict[str, Any]]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING of one or many rows (a statement to add RETURNING to)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).values(rows).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).values(rows).on_conflict_do_nothing()


def _insert_ignoring_conflicts(session: Session, table: Any, values: dict[str, Any]) -> int | None:
    """The new row's id, or None if it already existed."""
    statement = insert_ignoring_conflicts(session, table, [values])
    row = session.execute(statement.returning(table.c.id)).first()
    return int(row[0]) if row else None


def learner_id_for(session: Session, *, channel: str, external_id: str, now: datetime) -> int:
    """The learner for a channel user, created on first contact (only the address is kept)."""
    new = Learner(channel=channel, external_id=external_id, created_at=to_db(now))
    created = _insert_ignoring_conflicts(session, LEARNER_TABLE, new.model_dump(exclude={"id"}))
    if created is not None:
        return created
    existing = session.exec(
        select(Learner.id).where(Learner.channel == channel, Learner.external_id == external_id)
    ).one()
    assert existing is not None
    return existing


def dedupe_key(secret: bytes, channel: str, platform_message_id: str) -> str:
    """A keyed hash of a platform's message id: redeliveries still match, but no chat id or phone
    number survives in the table (after a delete, nothing points back to the person)."""
    message = f"{channel}\x00{platform_message_id}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def ingest(
    session: Session,
    *,
    channel: str,
    sender_id: str,
    platform_message_id: str,
    event: InboundEvent,
    received_at: datetime,
    secret: bytes,
    sequence: int | None = None,
) -> Ingested:
    """Store an inbound event once; a redelivery of the same message id is recognised."""
    learner_id = learner_id_for(session, channel=channel, external_id=sender_id, now=received_at)
    new = InboundMessage(
        channel=channel,
        platform_message_id=dedupe_key(secret, channel, platform_message_id),
        learner_id=learner_id,
        payload=event.to_dict(),
        sequence=sequence,
        received_at=to_db(received_at),
        available_at=to_db(received_at),
    )
    inbound_id = _insert_ignoring_conflicts(session, INBOUND_TABLE, new.model_dump(exclude={"id"}))
    if inbound_id is not None:
        seen: dict[str, Any] = {"last_inbound_at": to_db(received_at)}
        if event.kind is not EventKind.STATUS:
            seen["unreachable"] = False  # who writes to us can be written to
        if channel in WINDOWED_CHANNELS and event.kind is not EventKind.STATUS:
            # WhatsApp's 24-hour window opens again (the replies held for it go out once this
            # message is processed: not when it says STOP)
            seen.update(window_closed_at=None, window_knocked_at=None)
        session.execute(sa.update(Learner).where(col(Learner.id) == learner_id).values(**seen))
    return Ingested(learner_id, inbound_id)


def ingest_internal(
    session: Session,
    *,
    learner_id: int,
    key: str,
    event: InboundEvent,
    now: datetime,
    available_at: datetime | None = None,
) -> int | None:
    """Queue an internal event (a command result, a timer) once per key; None for a duplicate or
    a learner who no longer exists."""
    exists = session.exec(select(Learner.id).where(Learner.id == learner_id)).first()
    if exists is None:
        return None
    new = InboundMessage(
        channel=INTERNAL,
        platform_message_id=key,
        learner_id=learner_id,
        payload=event.to_dict(),
        received_at=to_db(now),
        available_at=to_db(available_at or now),
    )
    return _insert_ignoring_conflicts(session, INBOUND_TABLE, new.model_dump(exclude={"id"}))


def _due(now: datetime) -> Any:
    return sa.and_(
        col(InboundMessage.processed_at).is_(None),
        col(InboundMessage.available_at) <= to_db(now),
    )


def learners_with_pending(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Learners with an event due, longest waiting first, leaving out those whose queue is held
    after a failure (so a hundred broken learners cannot crowd out a new one)."""
    rows = session.exec(
        select(InboundMessage.learner_id)
        .join(Learner, col(Learner.id) == col(InboundMessage.learner_id))
        .where(
            _due(now),
            sa.or_(
                col(Learner.events_retry_at).is_(None), col(Learner.events_retry_at) <= to_db(now)
            ),
        )
        .group_by(col(InboundMessage.learner_id))
        .order_by(sa.func.min(InboundMessage.available_at))
        .limit(limit)
    ).all()
    return [int(r) for r in rows if r is not None]


class SqlLearnerStore:
    """Implements core.ports.LearnerStore on a session."""

    def __init__(self, session: Session, *, desired_retention: float = 0.9) -> None:
        self.session = session
        self.desired_retention = desired_retention
        self._enrollments: dict[int, Enrollment | None] = {}

    def _learner(self, learner_id: int) -> Learner:
        learner = self.session.get(Learner, learner_id)  # the session's identity map caches it
        if learner is None:
            raise LookupError(f"no learner {learner_id}")
        return learner

    def next_pending(self, learner_id: int, now: datetime) -> PendingEvent | None:
        """The learner's next due event: arrival order for all events alike, except that Telegram
        messages among themselves go by the platform's update_id (webhooks can race)."""
        # Locking the learner row serialises this learner's events across PostgreSQL workers.
        learner = self.session.exec(
            select(Learner.id).where(Learner.id == learner_id).with_for_update()
        ).first()
        if learner is None:  # deleted while its events waited
            return None
        head = self.head_of_queue(learner_id, now)
        row = self.session.get(InboundMessage, head[0]) if head else None
        if row is None or row.id is None:
            return None
        return PendingEvent(row.id, InboundEvent.from_dict(row.payload), from_db(row.available_at))

    def head_of_queue(self, learner_id: int, now: datetime) -> tuple[int, int] | None:
        """(id, failed attempts) of the event next in line, found without reading its payload,
        so an event that cannot be parsed can still be counted and set aside."""
        columns = (InboundMessage.id, InboundMessage.attempts, InboundMessage.sequence,
                   InboundMessage.channel)  # fmt: skip
        mine = sa.and_(col(InboundMessage.learner_id) == learner_id, _due(now))
        head = self.session.execute(
            sa.select(*columns)  # type: ignore[call-overload]
            .where(mine)
            .order_by(col(InboundMessage.available_at), col(InboundMessage.id))
            .limit(1)
        ).first()
        if head is not None and head.sequence is not None:
            head = self.session.execute(
                sa.select(*columns)  # type: ignore[call-overload]
                .where(
                    mine,
                    col(InboundMessage.channel) == head.channel,
                    col(InboundMessage.sequence).is_not(None),
                )
                .order_by(col(InboundMessage.sequence), col(InboundMessage.id))
                .limit(1)
            ).first()
        return (int(head.id), int(head.attempts)) if head is not None else None

    def note_failure(
        self, inbound_id: int, learner_id: int, error: str, retry_at: datetime
    ) -> None:
        self.session.execute(
            sa.update(InboundMessage)
            .where(col(InboundMessage.id) == inbound_id)
            .values(attempts=InboundMessage.attempts + 1, error=error[:500])
        )
        self.session.execute(
            sa.update(Learner)
            .where(col(Learner.id) == learner_id)
            .values(events_retry_at=to_db(retry_at))
        )

    def load(self, learner_id: int, now: datetime) -> Snapshot:
        learner = self._learner(learner_id)
        conversation = self.session.get(Conversation, learner_id)
        enrollment = self._enrollment(learner_id)
        profile = profile_of(learner, enrollment.course_slug if enrollment else "")
        progress = {
            cid: ConceptProgress.from_dict(value)
            for cid, value in (enrollment.progress if enrollment else {}).items()
        }
        return Snapshot(
            state=State(conversation.state) if conversation else State.CONSENT,
            data=dict(conversation.data) if conversation else {},
            profile=profile,
            progress=progress,
            stats=LearningStats.from_dict(enrollment.stats if enrollment else {}),
            motivation=MotivationState.from_dict(learner.motivation or {}),
            due_reviews=due_reviews(self.session, learner_id=learner_id, now=now,
                                    scheduler=self.scheduler(learner_id)),
            nudging=NudgeState.from_dict(learner.nudge_state or {}),
            last_seen=from_db(learner.last_inbound_at) if learner.last_inbound_at else None,
            window_open=learner.channel not in WINDOWED_CHANNELS
            or in_window(learner.last_inbound_at, learner.window_closed_at, now),
        )  # fmt: skip

    def scheduler(self, learner_id: int) -> ReviewScheduler:
        """The learner's FSRS scheduler: their own fitted parameters, or the defaults."""
        learner = self._learner(learner_id)
        zone = ZoneInfo(learner.timezone or "UTC")  # study days roll over at 04:00 local time
        return ReviewScheduler(learner.fsrs_parameters, self.desired_retention, zone=zone)

    def review(self, learner_id: int, activity: ActivityRecord, now: datetime) -> None:
        """Update the FSRS card of a quiz item after an answer (a new card on first sight)."""
        if not activity.item_id or activity.correct is None:
            return
        enrollment = self._enrollment(learner_id)
        record_review(
            self.session, learner_id=learner_id, activity=activity, now=now,
            course_slug=enrollment.course_slug if enrollment else "",
            scheduler=self.scheduler(learner_id),
        )  # fmt: skip

    def _enrollment(self, learner_id: int) -> Enrollment | None:
        """The active enrollment, read once per transaction."""
        if learner_id not in self._enrollments:
            self._enrollments[learner_id] = self.session.exec(
                select(Enrollment).where(
                    Enrollment.learner_id == learner_id, col(Enrollment.active)
                )
            ).first()
        return self._enrollments[learner_id]

    def address(self, learner_id: int) -> Address:
        learner = self._learner(learner_id)
        return Address(learner.channel, learner.external_id)

    def save(self, learner_id: int, snapshot: Snapshot, now: datetime) -> None:
        learner = self._learner(learner_id)
        profile = snapshot.profile
        if profile.consented and learner.consented_at is None:
            learner.consented_at = to_db(now)
        for name in PROFILE_FIELDS:
            setattr(learner, name, getattr(profile, name))
        learner.motivation = snapshot.motivation.to_dict()
        learner.nudge_state = snapshot.nudging.to_dict()
        learner.next_nudge_at = next_check(
            facts_of(snapshot, reachable=not learner.unreachable), now
        )
        self.session.add(learner)
        conversation = self.session.get(Conversation, learner_id) or Conversation(
            learner_id=learner_id, state=snapshot.state, updated_at=to_db(now)
        )
        conversation.state = str(snapshot.state)
        conversation.data = dict(snapshot.data)
        conversation.updated_at = to_db(now)
        self.session.add(conversation)
        if profile.course_slug:
            self._save_enrollment(learner_id, snapshot, now)
        if learner.channel in WINDOWED_CHANNELS:
            self._settle_held(learner, now)

    def _settle_held(self, learner: Learner, now: datetime) -> None:
        """Replies held for WhatsApp's window go out once it is open again, before this event's
        own replies (they come later in the queue); to a learner who unsubscribed, never."""
        held = sa.update(OutboxMessage).where(
            col(OutboxMessage.learner_id) == learner.id, col(OutboxMessage.status) == "held"
        )
        if learner.stopped:
            self.session.execute(held.values(status="failed", last_error="the learner stopped"))
        elif in_window(learner.last_inbound_at, learner.window_closed_at, now):
            self.session.execute(held.values(status="pending", next_attempt_at=to_db(now)))

    def _save_enrollment(self, learner_id: int, snapshot: Snapshot, now: datetime) -> None:
        slug = snapshot.profile.course_slug
        enrollment = self._enrollment(learner_id)
        if enrollment is None or enrollment.course_slug != slug:
            enrollment = self.session.exec(
                select(Enrollment).where(
                    Enrollment.learner_id == learner_id, Enrollment.course_slug == slug
                )
            ).first()
        if enrollment is None:
            for other in self.session.exec(
                select(Enrollment).where(Enrollment.learner_id == learner_id)
            ):
                other.active = False
                self.session.add(other)
            enrollment = Enrollment(learner_id=learner_id, course_slug=slug, enrolled_at=to_db(now))
        enrollment.active = True
        enrollment.progress = {cid: p.to_dict() for cid, p in snapshot.progress.items()}
        enrollment.stats = snapshot.stats.to_dict()
        self.session.add(enrollment)
        self._enrollments[learner_id] = enrollment

    def record_activity(self, learner_id: int, activity: ActivityRecord, now: datetime) -> None:
        enrollment = self._enrollment(learner_id)
        if is_review(activity.kind, activity.item_id, activity.correct):
            self._learner(learner_id).reviews_logged += 1
        self.session.add(
            Activity(
                learner_id=learner_id,
                course_slug=enrollment.course_slug if enrollment else "",
                kind=activity.kind,
                concept_id=activity.concept_id,
                item_id=activity.item_id,
                correct=activity.correct,
                score=activity.score,
                response=activity.response,
                duration_ms=activity.duration_ms,
                at=to_db(now),
            )
        )

    def enqueue(
        self, address: Address, learner_id: int | None, replies: Sequence[Reply], now: datetime
    ) -> None:
        # A learner who blocked the bot gets nothing: the replies are kept as not sent, with why.
        blocked = learner_id is not None and self._learner(learner_id).unreachable
        if learner_id is not None and any(isinstance(reply, Template) for reply in replies):
            # a template asks them to write already: no "reconnect" template on top of it
            learner = self._learner(learner_id)
            learner.window_knocked_at = learner.window_knocked_at or to_db(now)
        for reply in replies:
            self.session.add(
                OutboxMessage(
                    learner_id=learner_id,
                    channel=address.channel,
                    address=address.address,
                    payload=reply_to_dict(reply),
                    status="failed" if blocked else "pending",
                    last_error="not sent: the learner blocked the bot" if blocked else None,
                    next_attempt_at=to_db(now),
                    created_at=to_db(now),
                )
            )

    def add_command(self, learner_id: int, command: Command, now: datetime) -> None:
        self.session.add(
            CommandRecord(
                learner_id=learner_id,
                kind=command.kind.value,
                args=dict(command.args),
                ref=command.ref,
                available_at=to_db(now),
                created_at=to_db(now),
            )
        )

    def open_escalation(self, learner_id: int, request: EscalationRequest, now: datetime) -> int:
        from storage.escalations import open_escalation  # it builds on this module

        enrollment = self._enrollment(learner_id)
        log.warning("escalation opened: a learner's question waits for a mentor%s",
                    " (urgent)" if request.urgent else "")  # fmt: skip
        return open_escalation(
            self.session, learner_id=learner_id, request=request,
            course_slug=enrollment.course_slug if enrollment else "", now=now,
        )  # fmt: skip

    def add_timer(self, learner_id: int, timer: Timer, key: str, now: datetime) -> None:
        event = InboundEvent.result(EventKind.TIMER_FIRED, timer.ref, name=timer.name)
        ingest_internal(self.session, learner_id=learner_id, key=key, event=event, now=now,
                        available_at=timer.at)  # fmt: skip

    def mark_processed(
        self, inbound_id: int, now: datetime, *, error: str | None = None, scrub: bool = False
    ) -> None:
        values: dict[str, Any] = {"processed_at": to_db(now), "error": error}
        if scrub:  # keep only what deduplication needs
            values["payload"] = {}
        self.session.execute(
            sa.update(InboundMessage).where(col(InboundMessage.id) == inbound_id).values(**values)
        )

    def delete_learner(self, learner_id: int) -> None:
        delete_learner(self.session, learner_id=learner_id)
