"""Progress bookkeeping per concept, and the `progress` text with mastery bars."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from core.content import Course
from core.learner import ActivityRecord, ConceptProgress
from core.mastery import EXPLAIN_WEIGHT, MASTERED, QUIZ_WEIGHT
from core.motivation import MotivationState, current_streak, local_day
from core.texts import Catalog

BAR_WIDTH = 10


def apply_activity(
    progress: Mapping[str, ConceptProgress], activity: ActivityRecord, now: datetime
) -> dict[str, ConceptProgress]:
    """The learner's per-concept progress after one graded or completed activity."""
    updated = dict(progress)
    if not activity.concept_id:
        return updated
    current = updated.get(activity.concept_id, ConceptProgress())
    current = replace(current, last_studied=now.isoformat())
    if activity.kind == "lesson":
        current = replace(current, lessons=current.lessons + 1)
    elif activity.kind == "quiz" and activity.correct is not None:  # None: skipped, not graded
        seen = current.items_seen
        if activity.item_id and activity.item_id not in seen:
            seen = (*seen, activity.item_id)
        current = replace(
            current,
            answered=current.answered + 1,
            correct=current.correct + (1 if activity.correct else 0),
            items_seen=seen,
            mastery=current.mastery.with_evidence(
                1.0 if activity.correct else 0.0, QUIZ_WEIGHT, now
            ),
        )
    elif activity.kind == "explain_back" and activity.score is not None:
        current = replace(
            current, mastery=current.mastery.with_evidence(activity.score, EXPLAIN_WEIGHT, now)
        )
    updated[activity.concept_id] = current
    return updated


def bar(value: float) -> str:
    filled = round(value * BAR_WIDTH)
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def mastery_by_concept(
    course: Course, progress: Mapping[str, ConceptProgress], now: datetime
) -> list[tuple[str, float]]:
    """(title, mastery now) for every concept of the course, in course order."""
    return [
        (c.title, progress[c.id].mastery.mastery(now) if c.id in progress else 0.0)
        for c in course.concepts
    ]


def render_progress(
    course: Course,
    progress: Mapping[str, ConceptProgress],
    motivation: MotivationState,
    due: int,
    t: Catalog,
    now: datetime,
    timezone: str,
) -> str:
    """Per-concept mastery as text bars (studied concepts only), streak, XP and what is due."""
    rows = [
        {"title": c.title, "bar": bar(m), "percent": round(m * 100), "mastered": m >= MASTERED}
        for c in course.concepts
        if c.id in progress
        for m in [progress[c.id].mastery.mastery(now)]
    ]
    return t(
        "progress",
        course=course.title,
        rows=rows,
        total=len(course.concepts),
        mastered=sum(1 for r in rows if r["mastered"]),
        not_started=len(course.concepts) - len(rows),
        streak=current_streak(motivation, local_day(now, timezone)),
        freezes=motivation.freezes,
        xp=motivation.xp,
        badges=len(motivation.badges),
        due=due,
    )
