"""Turning one completed activity into the learner's new learning record (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from core.content import Course
from core.learner import ActivityRecord, Learning
from core.motivation import Celebration, mastered_share, on_activity
from core.planner import RECENT_RESULTS
from core.progress import apply_activity

# Which celebration to show when one activity earns several (at most one per activity).
CELEBRATION_ORDER = (
    "badge_mastery_100", "badge_streak_30", "badge_mastery_80", "badge_streak_7",
    "badge_mastery_50", "freeze_used", "freeze_earned", "badge_first_lesson",
)  # fmt: skip


def learn(
    before: Learning,
    activity: ActivityRecord,
    plan_kind: str,
    now: datetime,
    course: Course | None,
    timezone: str,
) -> tuple[Learning, Celebration | None]:
    """The learning record after one finished activity, and the celebration it earned if any."""
    progress = apply_activity(before.progress, activity, now)
    stats = before.stats
    if activity.kind == "quiz" and activity.correct is not None:
        results = (*stats.recent_results, activity.correct)[-RECENT_RESULTS:]
        stats = replace(stats, recent_results=results)
    stats = replace(
        stats, last_kind=plan_kind, last_done_at={**stats.last_done_at, plan_kind: now.isoformat()}
    )
    concepts = course.concepts if course else ()
    share = mastered_share(
        [progress[c.id].mastery.mastery(now) if c.id in progress else 0.0 for c in concepts]
    )
    skipped = activity.kind in ("quiz", "reflection", "explain_back") and not activity.response
    if skipped:  # a skip moves the session on but earns no XP and keeps no streak
        return Learning(progress, stats, before.motivation), None
    motivation, celebrations = on_activity(
        before.motivation,
        kind=activity.kind,
        now=now,
        timezone=timezone,
        correct=activity.correct,
        score=activity.score,
        mastered_share=share,
    )
    shown = min(
        celebrations,
        key=lambda c: (
            CELEBRATION_ORDER.index(c.key) if c.key in CELEBRATION_ORDER else len(CELEBRATION_ORDER)
        ),
        default=None,
    )
    return Learning(progress, stats, motivation), shown
