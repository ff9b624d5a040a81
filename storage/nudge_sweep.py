"""The nudge sweep (DESIGN.md §7): learners due for a look (an indexed `next_nudge_at`), claimed
so no two sweeps take the same one, asked the pure policy what they should get; a nudge becomes an
internal event for the learner, queued once per learner, kind and slot (its dedupe key), so the
dialogue step writes the message in the learner's own order of events and checks the rules again.

Exactly once: on PostgreSQL the due rows are claimed with FOR UPDATE SKIP LOCKED (a second sweep
takes others, or none; on SQLite the transaction holds the write lock from its start), and on both
the event's unique key refuses a second copy of the same nudge, whoever decides it again (a sweep
of the same minute, another worker, a restart); the step sends it only if its slot is still open,
and records the slot in the same transaction. A crash before the commit leaves everything as it
was; after it, the queued event is processed like any other, in one transaction with its reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.events import EventKind, InboundEvent
from core.motivation import MotivationState
from core.nudges import Decision, Facts, Nudge, NudgeState, decide
from storage.db import from_db, to_db
from storage.learner_store import (
    INBOUND_TABLE,
    INTERNAL,
    LEARNER_TABLE,
    profile_of,
)
from storage.models import Enrollment, InboundMessage, Learner, ReviewCardRecord

BATCH = 500
RECHECK = timedelta(minutes=10)  # after queueing a nudge: its step sets the real next look sooner


@dataclass(frozen=True)
class Outcome:
    learner_id: int
    channel: str
    decision: Decision
    queued: bool  # its event was queued by this sweep (not a dry run, not queued already)


def sweep(
    session: Session, *, now: datetime, limit: int = BATCH, dry_run: bool = False,
    everyone: bool = False,
) -> list[Outcome]:  # fmt: skip
    """One batch of due learners (all consented ones with `everyone`, for a dry run's report)."""
    query = select(Learner)
    if everyone:
        query = query.where(col(Learner.consented_at).is_not(None)).order_by(col(Learner.id))
    else:
        query = (
            query.where(col(Learner.next_nudge_at) <= to_db(now))
            .order_by(col(Learner.next_nudge_at))
            .limit(limit)
        )
    if not dry_run:
        query = query.with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it
    learners = session.exec(query).all()
    ids = [learner.id for learner in learners if learner.id is not None]
    courses = _courses(session, ids)
    due = _due_reviews(session, ids, now)
    decisions = []
    for learner in learners:
        assert learner.id is not None
        facts = facts_of_row(learner, courses.get(learner.id, ""), due.get(learner.id, 0))
        decisions.append((learner, decide(facts, now)))
    queued = set() if dry_run else _settle(session, decisions, now)
    return [
        Outcome(learner.id, learner.channel, decision, learner.id in queued)  # type: ignore[arg-type]
        for learner, decision in decisions
    ]


def facts_of_row(learner: Learner, course_slug: str, due_reviews: int) -> Facts:
    return Facts(
        profile=profile_of(learner, course_slug),
        nudging=NudgeState.from_dict(learner.nudge_state or {}),
        motivation=MotivationState.from_dict(learner.motivation or {}),
        last_seen=from_db(learner.last_inbound_at) if learner.last_inbound_at else None,
        due_reviews=due_reviews,
        reachable=not learner.unreachable,
    )


def _settle(session: Session, decisions: list[tuple[Learner, Decision]], now: datetime) -> set[int]:
    """Move each claimed learner's next look on and queue the nudges decided, in two statements
    for the whole batch (the rows are held by this transaction: SKIP LOCKED kept other sweeps off
    them on PostgreSQL, the write lock on SQLite); the ids whose nudge this sweep queued."""
    moves = []
    for learner, decision in decisions:
        next_at = now + RECHECK if decision.nudge is not None else decision.next_at
        moves.append({"learner": learner.id, "next_at": to_db(next_at) if next_at else None})
    if moves:
        session.connection().execute(
            sa.update(LEARNER_TABLE)
            .where(LEARNER_TABLE.c.id == sa.bindparam("learner"))
            .values(next_nudge_at=sa.bindparam("next_at")),
            moves,
        )
    events = [
        _nudge_row(learner.id, decision.nudge, now)  # type: ignore[arg-type]
        for learner, decision in decisions
        if decision.nudge is not None
    ]
    if not events:
        return set()
    queued = session.execute(_queue_once(session, events).returning(INBOUND_TABLE.c.learner_id))
    return {int(row[0]) for row in queued}


def _queue_once(session: Session, events: list[dict[str, Any]]) -> Any:
    """INSERT the nudge events; one whose key exists already is left alone while it waits (a
    second sweep, another worker), and queued again only if it was processed without being sent
    (the learner wrote in between, say: the step said "not now", and the slot is still open, or
    the policy would not have decided it again). So one row per learner, kind and slot, ever."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement: Any = dialect.insert(INBOUND_TABLE).values(events)
    again = {name: statement.excluded[name] for name in ("payload", "received_at", "available_at")}
    return statement.on_conflict_do_update(
        index_elements=[INBOUND_TABLE.c.channel, INBOUND_TABLE.c.platform_message_id],
        set_={**again, "processed_at": None, "attempts": 0, "error": None},
        where=INBOUND_TABLE.c.processed_at.is_not(None),
    )


def _nudge_row(learner_id: int, nudge: Nudge, now: datetime) -> dict[str, Any]:
    """The nudge as an internal event of the learner's, keyed once per learner, kind and slot."""
    event = InboundEvent.result(EventKind.NUDGE, "", nudge=str(nudge.kind), slot=nudge.slot)
    return InboundMessage(
        channel=INTERNAL,
        platform_message_id=nudge.key(learner_id),
        learner_id=learner_id,
        payload=event.to_dict(),
        received_at=to_db(now),
        available_at=to_db(now),
    ).model_dump(exclude={"id"})


def _courses(session: Session, ids: Iterable[int]) -> dict[int, str]:
    rows = session.exec(
        select(Enrollment.learner_id, Enrollment.course_slug).where(
            col(Enrollment.learner_id).in_(list(ids)), col(Enrollment.active)
        )
    ).all()
    return {learner_id: slug for learner_id, slug in rows}


def _due_reviews(session: Session, ids: Iterable[int], now: datetime) -> dict[int, int]:
    rows = session.exec(
        select(ReviewCardRecord.learner_id, sa.func.count())
        .where(col(ReviewCardRecord.learner_id).in_(list(ids)),
               col(ReviewCardRecord.due) <= to_db(now))
        .group_by(col(ReviewCardRecord.learner_id))
    ).all()  # fmt: skip
    return {learner_id: int(count) for learner_id, count in rows}
