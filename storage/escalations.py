"""Escalations to a human mentor: opened by the dialogue, worked on from the admin page.

    open ──claim──▶ claimed ──send_reply──▶ answered ──resolve──▶ resolved
      ▲               │ release                 │ send_reply (again)
      └───────────────┘                         ▼
                                             answered

A claim is a conditional update, so of two mentors pressing Claim at once exactly one gets it.
A reply and a resolve never write the outbox: each is an internal event for the learner
(`mentor_replied`, `mentor_resolved`), deduplicated on the escalation and the reply's number,
so the dialogue words it, on the learner's channel, in order with everything else (DESIGN.md §8).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.commands import Command, CommandKind
from core.escalations import MAX_QUESTION_CHARS, EscalationRequest
from core.events import EventKind, InboundEvent
from core.learner import ConceptProgress
from core.mastery import MASTERED
from core.motivation import MotivationState, current_streak, local_day
from core.replies import Choices, Quiz, Text, reply_from_dict
from storage.db import to_db
from storage.learner_store import ingest_internal
from storage.models import (
    CommandRecord,
    ConceptRecord,
    CourseRecord,
    Enrollment,
    Escalation,
    FaqEntry,
    InboundMessage,
    Learner,
    OutboxMessage,
    Staff,
)

OPEN_STATUSES = ("open", "claimed", "answered")
RECENT_MESSAGES = 12


@dataclass(frozen=True)
class InboxRow:
    id: int
    learner_id: int
    learner_name: str
    channel: str
    question: str
    reason: str
    urgent: bool
    status: str
    created_at: datetime
    claimed_by_name: str


@dataclass(frozen=True)
class LearnerCard:
    id: int
    name: str
    channel: str
    phone: str | None  # only for staff allowed to see it
    course_title: str
    streak: int
    mastered: int
    studied: int


@dataclass(frozen=True)
class ChatLine:
    at: datetime
    who: str  # learner | pau | mentor
    text: str


@dataclass(frozen=True)
class ConceptLine:
    title: str
    mastery: float


@dataclass(frozen=True)
class EscalationDetail:
    id: int
    status: str
    urgent: bool
    reason: str
    question: str
    draft: str
    reply: str
    created_at: datetime
    claimed_by: int | None
    claimed_by_name: str
    learner: LearnerCard
    recent: list[ChatLine]
    progress: list[ConceptLine]


def open_escalation(
    session: Session, *, learner_id: int, request: EscalationRequest, course_slug: str,
    now: datetime,
) -> int:  # fmt: skip
    """Store a learner's question for the mentors; an urgent one also queues the command that
    pings the on-duty mentors (a webhook or an e-mail command, performed after the commit)."""
    row = Escalation(
        learner_id=learner_id,
        course_slug=course_slug,
        concept_id=request.concept_id,
        question=request.question[:MAX_QUESTION_CHARS],
        reason=request.reason,
        urgent=request.urgent,
        draft=request.draft,
        created_at=to_db(now),
        updated_at=to_db(now),
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    if request.urgent:
        ping = Command(CommandKind.NOTIFY_MENTORS, {"escalation_id": row.id,
                                                   "reason": request.reason})  # fmt: skip
        session.add(
            CommandRecord(
                learner_id=learner_id, kind=ping.kind.value, args=dict(ping.args),
                ref=f"escalation:{row.id}", available_at=to_db(now), created_at=to_db(now),
            )
        )  # fmt: skip
    return row.id


def inbox(
    session: Session, *, statuses: tuple[str, ...] = OPEN_STATUSES, limit: int = 200,
    claimed_by: int | None = None,
) -> list[InboxRow]:  # fmt: skip
    """Escalations in the given states, urgent first, then the longest waiting; resolved ones
    newest first. One query, whatever the number of rows."""
    claimer = sa.orm.aliased(Staff)
    columns: tuple[Any, ...] = (Escalation, Learner.name, Learner.channel, claimer.name,
                                claimer.email)  # fmt: skip
    statement = (
        sa.select(*columns)
        .join(Learner, col(Learner.id) == col(Escalation.learner_id))
        .outerjoin(claimer, col(claimer.id) == col(Escalation.claimed_by))
        .where(col(Escalation.status).in_(statuses))
    )
    if claimed_by is not None:
        statement = statement.where(col(Escalation.claimed_by) == claimed_by)
    if statuses == ("resolved",):
        statement = statement.order_by(col(Escalation.resolved_at).desc())
    else:
        statement = statement.order_by(
            col(Escalation.urgent).desc(), col(Escalation.created_at), col(Escalation.id)
        )
    rows = session.execute(statement.limit(limit)).all()
    return [
        InboxRow(
            id=int(e.id or 0), learner_id=e.learner_id, learner_name=name or "(no name yet)",
            channel=channel, question=e.question, reason=e.reason, urgent=e.urgent,
            status=e.status, created_at=e.created_at, claimed_by_name=c_name or c_email or "",
        )
        for e, name, channel, c_name, c_email in rows
    ]  # fmt: skip


def count(session: Session, *, statuses: tuple[str, ...] = OPEN_STATUSES) -> int:
    return int(
        session.exec(
            select(sa.func.count())
            .select_from(Escalation)
            .where(col(Escalation.status).in_(statuses))
        ).one()
    )


def detail(
    session: Session, *, escalation_id: int, show_phone: bool, now: datetime
) -> EscalationDetail | None:
    """Everything a mentor needs to answer: the question, the learner's recent chat and progress.
    The phone number only for staff allowed to see it."""
    row = session.get(Escalation, escalation_id)
    if row is None:
        return None
    learner = session.get(Learner, row.learner_id)
    if learner is None:
        return None
    claimer = session.get(Staff, row.claimed_by) if row.claimed_by is not None else None
    enrollment = session.exec(
        select(Enrollment).where(Enrollment.learner_id == learner.id, col(Enrollment.active))
    ).first()
    course = session.get(CourseRecord, enrollment.course_slug) if enrollment else None
    progress = _progress(session, enrollment, now)
    motivation = MotivationState.from_dict(dict(learner.motivation or {}))
    card = LearnerCard(
        id=int(learner.id or 0),
        name=learner.name or "(no name yet)",
        channel=learner.channel,
        phone=learner.phone if show_phone else None,
        course_title=course.title if course else "",
        streak=current_streak(motivation, local_day(now, learner.timezone)),
        mastered=sum(1 for line in progress if line.mastery >= MASTERED),
        studied=len(progress),
    )
    return EscalationDetail(
        id=escalation_id, status=row.status, urgent=row.urgent, reason=row.reason,
        question=row.question, draft=row.draft, reply=row.reply, created_at=row.created_at,
        claimed_by=row.claimed_by,
        claimed_by_name=(claimer.name or claimer.email) if claimer else "",
        learner=card, recent=recent_chat(session, learner_id=card.id), progress=progress,
    )  # fmt: skip


def _progress(session: Session, enrollment: Enrollment | None, now: datetime) -> list[ConceptLine]:
    """Mastery today of each concept studied, best first."""
    if enrollment is None:
        return []
    titles = dict(
        session.exec(
            select(ConceptRecord.concept_id, ConceptRecord.title).where(
                ConceptRecord.course_slug == enrollment.course_slug
            )
        ).all()
    )
    lines = [
        ConceptLine(titles.get(concept_id, concept_id),
                    ConceptProgress.from_dict(value).mastery.mastery(now))
        for concept_id, value in (enrollment.progress or {}).items()
    ]  # fmt: skip
    return sorted(lines, key=lambda line: -line.mastery)


def recent_chat(
    session: Session, *, learner_id: int, limit: int = RECENT_MESSAGES
) -> list[ChatLine]:
    """The learner's last messages, PAU's replies and the mentors' (whose events keep their
    text: see core/runner.py), oldest first; texts only."""
    received = session.exec(
        select(InboundMessage.received_at, InboundMessage.payload)
        .where(InboundMessage.learner_id == learner_id)
        .order_by(col(InboundMessage.id).desc())
        .limit(limit * 2)
    ).all()
    sent = session.exec(
        select(OutboxMessage.created_at, OutboxMessage.payload)
        .where(OutboxMessage.learner_id == learner_id)
        .order_by(col(OutboxMessage.id).desc())
        .limit(limit)
    ).all()
    # oldest first; at the same moment the learner's message comes before PAU's answer to it
    heard = [line for at, payload in reversed(received) if (line := _received_line(at, payload))]
    said = [line for at, payload in reversed(sent) if (line := _sent_line(at, payload))]
    # PAU's own words of a mentor's reply ("💬 Maria (mentor) writes:\n<the reply>") are shown
    # as the mentor's line instead
    mentor_texts = [line.text for line in heard if line.who == "mentor"]
    said = [line for line in said if not _echoes(line.text, mentor_texts)]
    ordered = sorted(
        [(line.at, 0, n, line) for n, line in enumerate(heard)]
        + [(line.at, 1, n, line) for n, line in enumerate(said)],
        key=lambda entry: entry[:3],
    )
    return [line for *_, line in ordered][-limit:]


def _echoes(text: str, mentor_texts: list[str]) -> bool:
    return text.startswith("💬") and any(text.endswith("\n" + said) for said in mentor_texts)


def _received_line(at: datetime, payload: Mapping[str, Any]) -> ChatLine | None:
    kind = payload.get("kind")
    if kind == EventKind.MENTOR_REPLIED:
        return ChatLine(at, "mentor", str(payload.get("data", {}).get("text", "")))
    if kind in ("text", "command") and payload.get("text"):
        return ChatLine(at, "learner", str(payload["text"]))
    if kind == "choice" and payload.get("choice_id"):
        return ChatLine(at, "learner", f"[tapped {payload['choice_id']}]")
    return None


def _sent_line(at: datetime, payload: Mapping[str, Any]) -> ChatLine | None:
    try:
        reply = reply_from_dict(dict(payload))
    except (KeyError, ValueError, TypeError):
        return None
    if isinstance(reply, Text):
        return ChatLine(at, "pau", reply.text)
    if isinstance(reply, Choices):
        return ChatLine(at, "pau", reply.prompt)
    if isinstance(reply, Quiz):
        return ChatLine(at, "pau", f"Quiz: {reply.question}")
    return None


def claim(
    session: Session, *, escalation_id: int, staff_id: int, now: datetime,
    take_over: bool = False,
) -> bool:  # fmt: skip
    """Take an open escalation; False when another mentor has it (or it is resolved). Claiming
    one you already hold is fine, and so is one whose mentor left (no holder); `take_over` (an
    admin's) takes it from whoever holds it."""
    held_by_nobody_else = sa.or_(
        col(Escalation.claimed_by) == staff_id,
        col(Escalation.claimed_by).is_(None),
        sa.true() if take_over else sa.false(),
    )
    result = session.execute(
        sa.update(Escalation)
        .where(
            col(Escalation.id) == escalation_id,
            sa.or_(
                col(Escalation.status) == "open",
                sa.and_(held_by_nobody_else, col(Escalation.status).in_(("claimed", "answered"))),
            ),
        )
        .values(
            status=sa.case((col(Escalation.status) == "open", "claimed"),
                           else_=col(Escalation.status)),
            claimed_by=staff_id, claimed_at=to_db(now), updated_at=to_db(now),
        )
    )  # fmt: skip
    return bool(getattr(result, "rowcount", 0))


def release(session: Session, *, escalation_id: int, staff_id: int, now: datetime) -> bool:
    """Give a claimed (not yet answered) escalation back to the inbox."""
    result = session.execute(
        sa.update(Escalation)
        .where(
            col(Escalation.id) == escalation_id,
            col(Escalation.claimed_by) == staff_id,
            col(Escalation.status) == "claimed",
        )
        .values(status="open", claimed_by=None, claimed_at=None, updated_at=to_db(now))
    )
    return bool(getattr(result, "rowcount", 0))


def release_all_of(session: Session, *, staff_id: int, now: datetime) -> int:
    """A mentor's account is closed: what they held goes back to the inbox (an answered one
    stays answered, with nobody holding it)."""
    result = session.execute(
        sa.update(Escalation)
        .where(
            col(Escalation.claimed_by) == staff_id,
            col(Escalation.status).in_(("claimed", "answered")),
        )
        .values(
            status=sa.case((col(Escalation.status) == "claimed", "open"),
                           else_=col(Escalation.status)),
            claimed_by=None, claimed_at=None, updated_at=to_db(now),
        )
    )  # fmt: skip
    return int(getattr(result, "rowcount", 0) or 0)


def _held_by(session: Session, escalation_id: int, staff_id: int) -> Escalation | None:
    """The escalation, locked for this transaction, if this mentor holds it."""
    row = session.exec(
        select(Escalation).where(Escalation.id == escalation_id).with_for_update()
    ).first()
    if row is None or row.claimed_by != staff_id or row.status not in ("claimed", "answered"):
        return None
    return row


def send_reply(
    session: Session, *, escalation_id: int, staff_id: int, text: str, now: datetime,
    form_token: str = "",
) -> bool:  # fmt: skip
    """The claimer's reply: queued for the learner as a `mentor_replied` event, once per reply
    form (`form_token`, fresh on each page: a double click or a re-sent form is one reply).
    False when this mentor does not hold it."""
    text = text.strip()
    row = _held_by(session, escalation_id, staff_id)
    if row is None or not text:
        return False
    mentor = session.get(Staff, staff_id)
    number = row.replies_sent + 1
    event = InboundEvent.result(
        EventKind.MENTOR_REPLIED, f"escalation:{escalation_id}", escalation=escalation_id,
        text=text, mentor=(mentor.name if mentor else "") or "your mentor",
    )  # fmt: skip
    key = f"escalation:{escalation_id}:reply:{form_token or number}"
    if ingest_internal(session, learner_id=row.learner_id, key=key, event=event, now=now) is None:
        return True  # this form was sent already: the learner has it once
    row.reply, row.replies_sent, row.status = text, number, "answered"
    row.replied_by, row.replied_at, row.updated_at = staff_id, to_db(now), to_db(now)
    session.add(row)
    return True


def resolve(session: Session, *, escalation_id: int, staff_id: int, now: datetime) -> bool:
    """The claimer closes it; the learner hears it and the bot carries on (`mentor_resolved`)."""
    row = _held_by(session, escalation_id, staff_id)
    if row is None:
        return False
    event = InboundEvent.result(
        EventKind.MENTOR_RESOLVED, f"escalation:{escalation_id}", escalation=escalation_id,
        answered=row.replies_sent > 0,
    )  # fmt: skip
    key = f"escalation:{escalation_id}:resolved"
    ingest_internal(session, learner_id=row.learner_id, key=key, event=event, now=now)
    row.status, row.resolved_by = "resolved", staff_id
    row.resolved_at, row.updated_at = to_db(now), to_db(now)
    session.add(row)
    return True


def save_to_faq(
    session: Session, *, escalation_id: int, staff_id: int, question: str, answer: str,
    now: datetime, may_edit_any: bool = False,
) -> int | None:  # fmt: skip
    """A mentor's answer kept for the course (the retrieval and the tutor use it next time), by
    the mentor who holds the escalation (or an admin: `may_edit_any`); None when they may not,
    the escalation has no course or the texts are empty. The same entry twice is kept once."""
    row = session.get(Escalation, escalation_id)
    if row is None or not row.course_slug or not question.strip() or not answer.strip():
        return None
    if row.claimed_by != staff_id and not may_edit_any:
        return None
    same = session.exec(
        select(FaqEntry.id).where(
            FaqEntry.course_slug == row.course_slug,
            FaqEntry.question == question.strip(),
            FaqEntry.answer == answer.strip(),
        )
    ).first()
    if same is not None:
        return same
    entry = FaqEntry(
        course_slug=row.course_slug, concept_id=row.concept_id, question=question.strip(),
        answer=answer.strip(), staff_id=staff_id, created_at=to_db(now),
    )  # fmt: skip
    session.add(entry)
    session.flush()
    return entry.id


def open_summary(session: Session, *, now: datetime) -> tuple[int, float]:
    """How many escalations wait for a mentor, and the oldest one's age in seconds."""
    number, oldest = session.exec(
        select(sa.func.count(), sa.func.min(Escalation.created_at)).where(
            col(Escalation.status).in_(OPEN_STATUSES)
        )
    ).one()
    if not number or oldest is None:
        return 0, 0.0
    return int(number), max(0.0, (to_db(now) - to_db(oldest)).total_seconds())


@dataclass(frozen=True)
class AlertFacts:
    """What an urgent alert says: which escalation, why, and who is on duty (no learner text)."""

    escalation_id: int
    reason: str
    created_at: datetime
    on_duty: list[str]  # the e-mail addresses of active, on-duty mentors and admins


def alert_facts(session: Session, *, escalation_id: int) -> AlertFacts | None:
    row = session.get(Escalation, escalation_id)
    if row is None:
        return None
    emails = session.exec(
        select(Staff.email).where(col(Staff.active), col(Staff.on_duty)).order_by(col(Staff.id))
    ).all()
    return AlertFacts(escalation_id, row.reason, row.created_at, list(emails))
