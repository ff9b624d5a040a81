"""FSRS cards in the database: one row per learner and quiz item, due reviews by index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from core.learner import ActivityRecord, DueReview
from core.review import ReviewCard, ReviewLogEntry, ReviewScheduler
from storage.db import to_db
from storage.models import Activity, Learner, ReviewCardRecord

DUE_LIMIT = 50  # a session uses a handful; the rest wait for the next one


def due_reviews(
    session: Session, *, learner_id: int, now: datetime, scheduler: ReviewScheduler
) -> tuple[DueReview, ...]:
    """The learner's due cards, lowest retrievability first (the oldest DUE_LIMIT by due date)."""
    rows = session.exec(
        select(ReviewCardRecord)
        .where(ReviewCardRecord.learner_id == learner_id, col(ReviewCardRecord.due) <= to_db(now))
        .order_by(col(ReviewCardRecord.due))
        .limit(DUE_LIMIT)
    ).all()
    cards = {row.item_id: row for row in rows}
    ordered = scheduler.due([ReviewCard(row.item_id, dict(row.fsrs_state)) for row in rows], now)
    return tuple(
        DueReview(card.item_id, cards[card.item_id].concept_id, scheduler.retrievability(card, now))
        for card in ordered
    )


def record_review(
    session: Session,
    *,
    learner_id: int,
    activity: ActivityRecord,
    now: datetime,
    course_slug: str,
    scheduler: ReviewScheduler,
) -> ReviewCard:
    row = session.get(ReviewCardRecord, (learner_id, activity.item_id))
    card = (
        ReviewCard(row.item_id, dict(row.fsrs_state))
        if row is not None
        else scheduler.new_card(activity.item_id, now)
    )
    card, _ = scheduler.review(
        card, correct=bool(activity.correct), now=now, duration_ms=activity.duration_ms
    )
    if row is None:
        row = ReviewCardRecord(
            learner_id=learner_id, item_id=activity.item_id, course_slug=course_slug,
            concept_id=activity.concept_id, fsrs_state={}, due=to_db(now), updated_at=to_db(now),
        )  # fmt: skip
    row.fsrs_state = dict(card.fsrs_state)
    row.due = to_db(card.due)
    row.reviews += 1
    row.updated_at = to_db(now)
    session.add(row)
    return card


REFIT_EVERY_REVIEWS = 100  # fit again once this many new reviews have come in


def is_review(kind: str, item_id: str, correct: bool | None) -> bool:
    """An activity that counts as a review of a card (what the FSRS fit learns from)."""
    return kind == "quiz" and item_id != "" and correct is not None


def learners_due_for_refit(session: Session, *, min_reviews: int, limit: int = 50) -> list[int]:
    """Learners with enough review history, and enough new reviews since their last fit (from
    the learner rows' counters: the cost does not grow with the history)."""
    reviews = col(Learner.reviews_logged)
    rows = session.exec(
        select(Learner.id)
        .where(
            reviews >= min_reviews, reviews - col(Learner.fsrs_fit_reviews) >= REFIT_EVERY_REVIEWS
        )
        .order_by(col(Learner.id))
        .limit(limit)
    ).all()
    return [int(learner_id) for learner_id in rows if learner_id is not None]


def review_history(session: Session, *, learner_id: int) -> list[ReviewLogEntry]:
    rows = session.exec(
        select(Activity)
        .where(
            Activity.learner_id == learner_id,
            Activity.kind == "quiz",
            col(Activity.item_id) != "",
            col(Activity.correct).is_not(None),
        )
        .order_by(col(Activity.at), col(Activity.id))
    ).all()
    return [ReviewLogEntry(r.item_id, bool(r.correct), to_db(r.at), r.duration_ms) for r in rows]


def save_parameters(
    session: Session, *, learner_id: int, parameters: Sequence[float] | None, reviews: int
) -> None:
    learner = session.get(Learner, learner_id)
    if learner is None:
        return
    learner.fsrs_parameters = list(parameters) if parameters is not None else None
    learner.fsrs_fit_reviews = reviews
    session.add(learner)
