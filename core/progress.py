"""Progress bookkeeping and the `progress` text (mastery with decay comes with issue 3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from core.content import Course
from core.dialogue.model import ConceptProgress, RecordActivity
from core.texts import Catalog

BAR_WIDTH = 10


def apply_activity(
    progress: Mapping[str, ConceptProgress], activity: RecordActivity, now: datetime
) -> dict[str, ConceptProgress]:
    """The learner's per-concept progress after one graded or completed activity."""
    updated = dict(progress)
    if not activity.concept_id:
        return updated
    current = updated.get(activity.concept_id, ConceptProgress())
    current = replace(current, last_studied=now.isoformat())
    if activity.kind == "lesson":
        current = replace(current, lessons=current.lessons + 1)
    elif activity.kind == "quiz":
        seen = current.items_seen
        if activity.item_id and activity.item_id not in seen:
            seen = (*seen, activity.item_id)
        current = replace(
            current,
            answered=current.answered + 1,
            correct=current.correct + (1 if activity.correct else 0),
            items_seen=seen,
        )
    updated[activity.concept_id] = current
    return updated


def concept_score(progress: ConceptProgress | None) -> float:
    """A rough 0..1 progress figure: reading the lesson, then quiz accuracy (smoothed)."""
    if progress is None or (progress.lessons == 0 and progress.answered == 0):
        return 0.0
    accuracy = (progress.correct + 1) / (progress.answered + 2)
    return min(1.0, 0.3 + 0.7 * accuracy * min(progress.answered, 3) / 3)


def bar(value: float) -> str:
    filled = round(value * BAR_WIDTH)
    return "▓" * filled + "░" * (BAR_WIDTH - filled)


def render_progress(course: Course, progress: Mapping[str, ConceptProgress], t: Catalog) -> str:
    rows = []
    for concept in course.concepts:
        entry = progress.get(concept.id)
        if entry is None:
            continue
        score = concept_score(entry)
        rows.append({"title": concept.title, "bar": bar(score), "percent": round(score * 100)})
    answered = sum(p.answered for p in progress.values())
    correct = sum(p.correct for p in progress.values())
    return t(
        "progress",
        course=course.title,
        rows=rows,
        studied=len(rows),
        total=len(course.concepts),
        answered=answered,
        correct=correct,
    )
