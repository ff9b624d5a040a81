"""Read queries for the admin page's learner pages: the searchable list, one learner's report (the
detail page and the evidence report), the at-risk facts and the cohorts. Each returns frozen
dataclasses, never table rows, and costs a fixed handful of statements whatever the number of
learners (the at-risk facts read every learner's last quiz answers in one windowed query).

Nudges sent are counted from the outbox (rows kept for the retention period, see
storage/housekeeping.py): a sent reply that is a nudge (its one-tap "mute" way out, or a
`nudge_*` WhatsApp template). The learner's nudge state adds when the last one went out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.insights import ActivityPoint, QuizOutcome, RiskFacts
from core.learner import ConceptProgress
from core.motivation import MotivationState, current_streak, local_day
from core.nudges import NudgeState
from storage.db import from_db, to_db
from storage.models import (
    Activity,
    ConceptRecord,
    Conversation,
    CourseRecord,
    Enrollment,
    Escalation,
    Learner,
    OutboxMessage,
)

PAGE_SIZE = 50
RECENT_QUIZZES = 20  # per learner, for the at-risk rules
RECENT_QUIZ_DAYS = 60  # older answers never decide a reason (an idle learner is "inactive")


@dataclass(frozen=True)
class LearnerRow:
    id: int
    name: str
    channel: str
    course_title: str
    streak: int
    last_active: datetime | None
    mastered: int
    studied: int
    phone: str | None  # None unless the staff member may see phones


@dataclass(frozen=True)
class LearnerPage:
    rows: tuple[LearnerRow, ...]
    total: int
    page: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class LearnerReport:
    """One learner as the detail page and the evidence report show them."""

    id: int
    name: str
    channel: str
    phone: str | None
    timezone: str
    language: str
    created_at: datetime
    last_active: datetime | None
    course_slug: str
    course_title: str
    enrolled_at: datetime | None
    concepts: tuple[tuple[str, str], ...]  # (concept id, title) of the course, in order
    titles: Mapping[tuple[str, str], str]  # (course, concept id) -> title, retired ones too
    progress: Mapping[str, ConceptProgress]
    motivation: MotivationState
    streak: int
    activities: tuple[ActivityPoint, ...]  # oldest first
    activity_courses: tuple[str, ...]  # the course of each activity, same order
    nudges_sent: int
    last_nudge_at: datetime | None
    open_escalations: int


@dataclass(frozen=True)
class RiskRow:
    id: int
    name: str
    channel: str
    course_title: str
    facts: RiskFacts


@dataclass(frozen=True)
class CohortMember:
    learner_id: int
    course_slug: str
    enrolled_at: datetime
    progress: Mapping[str, ConceptProgress]
    active_days: frozenset[date]  # UTC days with an activity in this course


@dataclass(frozen=True)
class CohortFacts:
    members: tuple[CohortMember, ...]
    course_titles: Mapping[str, str]
    course_concepts: Mapping[str, tuple[str, ...]]  # the course's current concepts, in order


def _aware(moment: datetime | None) -> datetime | None:
    return from_db(moment) if moment is not None else None


def _progress(raw: Mapping[str, Any] | None) -> dict[str, ConceptProgress]:
    return {cid: ConceptProgress.from_dict(value) for cid, value in (raw or {}).items()}


def _streak(motivation: Mapping[str, Any] | None, timezone: str, now: datetime) -> int:
    return current_streak(MotivationState.from_dict(motivation or {}), local_day(now, timezone))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _active_course() -> Any:
    return sa.and_(col(Enrollment.learner_id) == col(Learner.id), col(Enrollment.active))


def search_learners(
    session: Session, *, query: str, show_phone: bool, page: int, now: datetime
) -> LearnerPage:
    """Learners whose name holds `query` (any case) or whose id is it, and by phone only when
    `show_phone`; newest first, PAGE_SIZE a page (two statements)."""
    where: list[Any] = []
    query = query.strip()
    if query:
        # SQLite's ILIKE folds ASCII letters only: the usual capitalisations cover the rest ("ünal"
        # finds "Ünal" there too)
        spellings = {query, query.lower(), query.capitalize(), query.title(), query.upper()}
        matches: list[Any] = [
            col(Learner.name).ilike(_like(spelling), escape="\\") for spelling in sorted(spellings)
        ]
        if query.isdigit():
            matches.append(col(Learner.id) == int(query))
        digits = query.lstrip("+").replace(" ", "")
        if show_phone and digits.isdigit():
            matches.append(col(Learner.phone).like(_like(digits), escape="\\"))
        where.append(sa.or_(*matches))
    total = session.execute(sa.select(sa.func.count()).select_from(Learner).where(*where)).scalar()
    page = max(1, page)
    rows = session.execute(
        sa.select(
            col(Learner.id),
            col(Learner.name),
            col(Learner.channel),
            col(Learner.phone),
            col(Learner.timezone),
            col(Learner.motivation),
            col(Learner.last_inbound_at),
            col(Enrollment.progress),
            col(CourseRecord.title),
        )
        .outerjoin(Enrollment, _active_course())
        .outerjoin(CourseRecord, col(CourseRecord.slug) == col(Enrollment.course_slug))
        .where(*where)
        .order_by(col(Learner.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    result = []
    for lid, name, channel, phone, zone, motivation, last_in, raw, title in rows:
        progress = _progress(raw)
        masteries = [p.mastery.mastery(now) for p in progress.values()]
        result.append(
            LearnerRow(
                id=lid,
                name=name,
                channel=channel,
                course_title=title or "",
                streak=_streak(motivation, zone, now),
                last_active=_aware(last_in),
                mastered=sum(1 for m in masteries if m >= 0.8),
                studied=len(progress),
                phone=phone if show_phone else None,
            )
        )
    return LearnerPage(tuple(result), int(total or 0), page)


def learner_report(
    session: Session, *, learner_id: int, show_phone: bool, now: datetime
) -> LearnerReport | None:
    """Everything the detail page and the evidence report show, in six statements; None if
    there is no such learner. Activities are read without their response text."""
    learner = session.get(Learner, learner_id)
    if learner is None:
        return None
    enrollment = session.exec(
        select(Enrollment).where(col(Enrollment.learner_id) == learner_id, col(Enrollment.active))
    ).first()
    slug = enrollment.course_slug if enrollment else ""
    history = session.execute(
        sa.select(
            col(Activity.kind),
            col(Activity.at),
            col(Activity.concept_id),
            col(Activity.item_id),
            col(Activity.correct),
            col(Activity.score),
            col(Activity.course_slug),
        )
        .where(col(Activity.learner_id) == learner_id)
        .order_by(col(Activity.at), col(Activity.id))
    ).all()
    courses = {slug, *(row[6] for row in history)} - {""}
    concept_rows = session.execute(
        sa.select(
            col(ConceptRecord.course_slug),
            col(ConceptRecord.concept_id),
            col(ConceptRecord.title),
            col(ConceptRecord.retired),
            col(CourseRecord.title),
        )
        .join(CourseRecord, col(CourseRecord.slug) == col(ConceptRecord.course_slug))
        .where(col(ConceptRecord.course_slug).in_(sorted(courses)))
        .order_by(col(ConceptRecord.position))
    ).all()
    course_title = next((row[4] for row in concept_rows if row[0] == slug), slug)
    nudges = session.execute(
        sa.select(sa.func.count()).where(
            col(OutboxMessage.learner_id) == learner_id,
            col(OutboxMessage.status) == "sent",
            sa.or_(
                sa.cast(col(OutboxMessage.payload), sa.Text).like('%"cmd:mute"%'),
                sa.cast(col(OutboxMessage.payload), sa.Text).like('%"nudge\\_%', escape="\\"),
            ),
        )
    ).scalar()
    escalations = session.execute(
        sa.select(sa.func.count()).where(
            col(Escalation.learner_id) == learner_id, col(Escalation.status) != "resolved"
        )
    ).scalar()
    last_nudge = NudgeState.from_dict(learner.nudge_state or {}).last_sent
    return LearnerReport(
        id=learner_id,
        name=learner.name,
        channel=learner.channel,
        phone=learner.phone if show_phone else None,
        timezone=learner.timezone,
        language=learner.language,
        created_at=from_db(learner.created_at),
        last_active=_aware(learner.last_inbound_at),
        course_slug=slug,
        course_title=course_title,
        enrolled_at=_aware(enrollment.enrolled_at) if enrollment else None,
        concepts=tuple((row[1], row[2]) for row in concept_rows if row[0] == slug and not row[3]),
        titles={(row[0], row[1]): row[2] for row in concept_rows},
        progress=_progress(enrollment.progress if enrollment else None),
        motivation=MotivationState.from_dict(learner.motivation or {}),
        streak=_streak(learner.motivation, learner.timezone, now),
        activities=tuple(
            ActivityPoint(kind=k, at=from_db(at), concept_id=c, item_id=i, correct=ok, score=s)
            for k, at, c, i, ok, s, _ in history
        ),
        activity_courses=tuple(row[6] for row in history),
        nudges_sent=int(nudges or 0),
        last_nudge_at=last_nudge,
        open_escalations=int(escalations or 0),
    )


def risk_facts(session: Session, *, now: datetime) -> list[RiskRow]:
    """The at-risk facts of every consented learner who has not stopped, in three statements:
    the learners, their last activity, and their last RECENT_QUIZZES graded quiz answers (a
    window function, on SQLite and PostgreSQL alike)."""
    learners = session.execute(
        sa.select(
            col(Learner.id),
            col(Learner.name),
            col(Learner.channel),
            col(Learner.consented_at),
            col(Learner.last_inbound_at),
            col(Learner.unreachable),
            col(Learner.nudges),
            col(Learner.paused),
            col(Conversation.state),
            col(CourseRecord.title),
        )
        .outerjoin(Conversation, col(Conversation.learner_id) == col(Learner.id))
        .outerjoin(Enrollment, _active_course())
        .outerjoin(CourseRecord, col(CourseRecord.slug) == col(Enrollment.course_slug))
        .where(col(Learner.consented_at).is_not(None), sa.not_(col(Learner.stopped)))
    ).all()
    last_activity: dict[int, datetime] = dict(
        session.execute(
            sa.select(col(Activity.learner_id), sa.func.max(col(Activity.at))).group_by(
                col(Activity.learner_id)
            )
        ).all()
    )
    numbered = (
        sa.select(
            col(Activity.learner_id),
            col(Activity.item_id),
            col(Activity.correct),
            col(Activity.at),
            sa.func.row_number()
            .over(
                partition_by=col(Activity.learner_id),
                order_by=(col(Activity.at).desc(), col(Activity.id).desc()),
            )
            .label("newest"),
        )
        .where(
            col(Activity.kind) == "quiz",
            col(Activity.at) >= to_db(now - timedelta(days=RECENT_QUIZ_DAYS)),
            col(Activity.correct).is_not(None),
        )
        .subquery()
    )
    quizzes: dict[int, list[QuizOutcome]] = {}
    for lid, item, correct, at in session.execute(
        sa.select(numbered.c.learner_id, numbered.c.item_id, numbered.c.correct, numbered.c.at)
        .where(numbered.c.newest <= RECENT_QUIZZES)
        .order_by(numbered.c.learner_id, numbered.c.at)
    ).all():
        quizzes.setdefault(lid, []).append(QuizOutcome(item, bool(correct), _at(at)))
    rows = []
    for (
        lid,
        name,
        channel,
        consented,
        last_in,
        unreachable,
        nudges,
        paused,
        state,
        title,
    ) in learners:
        seen = [m for m in (_aware(last_in), _aware(last_activity.get(lid))) if m is not None]
        facts = RiskFacts(
            consented_at=_aware(consented),
            onboarding=state is None or str(state).startswith("onboarding:"),
            last_active_at=max(seen) if seen else None,
            recent_quizzes=tuple(quizzes.get(lid, ())),
            unreachable=bool(unreachable),
            nudges=bool(nudges),
            paused=bool(paused),
        )
        rows.append(RiskRow(lid, name, channel, title or "", facts))
    return rows


def _at(value: Any) -> datetime:
    """A datetime out of a subquery column (SQLite hands the stored text back there)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return to_db(value)


def cohort_facts(session: Session) -> CohortFacts:
    """Every consented learner's enrollments with their progress and their active days per
    course (UTC days), and each course's title and concepts: three statements."""
    enrolled = session.execute(
        sa.select(
            col(Enrollment.learner_id),
            col(Enrollment.course_slug),
            col(Enrollment.enrolled_at),
            col(Enrollment.progress),
        )
        .join(Learner, col(Learner.id) == col(Enrollment.learner_id))
        .where(col(Learner.consented_at).is_not(None))
    ).all()
    day = sa.func.date(col(Activity.at))
    days: dict[tuple[int, str], set[date]] = {}
    for lid, slug, when in session.execute(
        sa.select(col(Activity.learner_id), col(Activity.course_slug), day).distinct()
    ).all():
        moment = date.fromisoformat(when) if isinstance(when, str) else when
        days.setdefault((lid, slug), set()).add(moment)
    concepts: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for slug, concept_id, title in session.execute(
        sa.select(
            col(ConceptRecord.course_slug), col(ConceptRecord.concept_id), col(CourseRecord.title)
        )
        .join(CourseRecord, col(CourseRecord.slug) == col(ConceptRecord.course_slug))
        .where(sa.not_(col(ConceptRecord.retired)))
        .order_by(col(ConceptRecord.position))
    ).all():
        concepts.setdefault(slug, []).append(concept_id)
        titles[slug] = title
    members = tuple(
        CohortMember(
            learner_id=lid,
            course_slug=slug,
            enrolled_at=from_db(at),
            progress=_progress(raw),
            active_days=frozenset(days.get((lid, slug), ())),
        )
        for lid, slug, at, raw in enrolled
    )
    return CohortFacts(members, titles, {k: tuple(v) for k, v in concepts.items()})
