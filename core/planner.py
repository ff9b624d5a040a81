"""Today's three: pick three activities for a session (DESIGN.md §4). Pure: same inputs, same plan.

Candidates: due reviews (lowest retrievability first), the next open lesson, a check on a concept
(right after its lesson, or one that is in progress), a reflection, an explain-back challenge.
Rules: never the same kind twice in a row (the previous session's last activity counts), a
cool-down per kind, at most one lesson a session, and the difficulty of quiz items follows recent
accuracy: above 85 % harder items, below 70 % easier ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.content import Concept, Course, QuizItem
from core.curriculum import next_lesson, studied
from core.learner import ConceptProgress, DueReview
from core.mastery import MASTERED

SESSION_LENGTH = 3
COOLDOWN = {
    "reflection": timedelta(hours=20),
    "explain": timedelta(hours=20),
    "check": timedelta(hours=4),
    "review": timedelta(0),
    "lesson": timedelta(0),
}
HARDER_ABOVE = 0.85
EASIER_BELOW = 0.70
RECENT_RESULTS = 20


@dataclass(frozen=True)
class PlannerInput:
    now: datetime
    course: Course
    progress: Mapping[str, ConceptProgress]
    due_reviews: Sequence[DueReview] = ()  # lowest retrievability first
    recent_results: Sequence[bool] = ()  # quiz outcomes, oldest first
    last_kind: str = ""
    last_done_at: Mapping[str, datetime] = field(default_factory=dict)  # kind -> when
    goal: str | None = None


def recent_accuracy(results: Sequence[bool]) -> float | None:
    window = list(results)[-RECENT_RESULTS:]
    return sum(window) / len(window) if len(window) >= 5 else None


def target_difficulty(results: Sequence[bool]) -> str:
    """'harder', 'easier' or 'normal' from the learner's recent quiz accuracy."""
    accuracy = recent_accuracy(results)
    if accuracy is None:
        return "normal"
    if accuracy > HARDER_ABOVE:
        return "harder"
    if accuracy < EASIER_BELOW:
        return "easier"
    return "normal"


def pick_item(concept: Concept, progress: ConceptProgress | None, difficulty: str) -> QuizItem:
    """An item of the concept: unseen ones first, then by the wanted difficulty."""
    seen = set(progress.items_seen) if progress else set()
    pool = [i for i in concept.quiz if i.id not in seen] or list(concept.quiz)
    if difficulty == "harder":
        return max(pool, key=lambda i: (i.difficulty, -concept.quiz.index(i)))
    if difficulty == "easier":
        return min(pool, key=lambda i: (i.difficulty, concept.quiz.index(i)))
    return pool[0]


def _cooled_down(kind: str, plan_input: PlannerInput) -> bool:
    last = plan_input.last_done_at.get(kind)
    return last is None or plan_input.now - last >= COOLDOWN[kind]


def _candidates(
    plan_input: PlannerInput, plan: list[dict[str, str]]
) -> list[tuple[int, dict[str, str]]]:
    """(priority, activity) for everything that could come next."""
    course, progress, now = plan_input.course, plan_input.progress, plan_input.now
    difficulty = target_difficulty(plan_input.recent_results)
    planned_items = {a.get("item") for a in plan}
    lesson_planned = next((a["concept"] for a in plan if a["kind"] == "lesson"), None)
    options: list[tuple[int, dict[str, str]]] = []
    for rank, review in enumerate(plan_input.due_reviews):
        if review.item_id not in planned_items:
            options.append(
                (
                    100 - min(rank, 20),
                    {"kind": "review", "concept": review.concept_id, "item": review.item_id},
                )
            )
            break
    if lesson_planned is None:
        concept = next_lesson(course, progress, now, plan_input.goal)
        if concept is not None:
            options.append((80, {"kind": "lesson", "concept": concept.id}))
    if lesson_planned is not None and not any(a["kind"] == "check" for a in plan):
        concept = course.concept(lesson_planned)
        if concept and concept.quiz:
            item = pick_item(concept, progress.get(concept.id), difficulty)
            options.append((95, {"kind": "check", "concept": concept.id, "item": item.id}))
    learned = [c for c in course.concepts if studied(progress, c.id)]
    by_mastery = sorted(learned, key=lambda c: progress[c.id].mastery.mastery(now))
    not_mastered = [
        c for c in by_mastery if c.quiz and progress[c.id].mastery.mastery(now) < MASTERED
    ]
    if not_mastered:
        concept = not_mastered[0]
        item = pick_item(concept, progress.get(concept.id), difficulty)
        if item.id not in planned_items:
            options.append((40, {"kind": "check", "concept": concept.id, "item": item.id}))
    if by_mastery:
        options.append((60, {"kind": "explain", "concept": by_mastery[0].id}))
    reflect_on = lesson_planned or (
        max(learned, key=lambda c: progress[c.id].last_studied).id if learned else None
    )
    if reflect_on is not None:
        options.append((50, {"kind": "reflection", "concept": reflect_on}))
    return options


def plan_session(plan_input: PlannerInput) -> list[dict[str, str]]:
    """Up to three activities; fewer only when there is nothing left to offer."""
    plan: list[dict[str, str]] = []
    previous = plan_input.last_kind
    used_kinds: set[str] = set()
    while len(plan) < SESSION_LENGTH:
        lesson = next((a["concept"] for a in plan if a["kind"] == "lesson"), None)
        options = [
            (priority, activity)
            for priority, activity in _candidates(plan_input, plan)
            if activity["kind"] != previous
            and (activity["kind"] in ("review", "check") or activity["kind"] not in used_kinds)
            # the check right after a lesson belongs to that lesson: no cool-down for it
            and (
                _cooled_down(activity["kind"], plan_input)
                or (activity["kind"] == "check" and activity["concept"] == lesson)
            )
        ]
        if not options:
            break
        _, chosen = max(options, key=lambda option: option[0])
        plan.append(chosen)
        used_kinds.add(chosen["kind"])
        previous = chosen["kind"]
    return plan


def quick_quiz(plan_input: PlannerInput) -> list[dict[str, str]]:
    """One question: the most urgent review, else a check on the weakest studied concept."""
    if plan_input.due_reviews:
        review = plan_input.due_reviews[0]
        return [{"kind": "review", "concept": review.concept_id, "item": review.item_id}]
    course, progress, now = plan_input.course, plan_input.progress, plan_input.now
    learned = [c for c in course.concepts if studied(progress, c.id) and c.quiz]
    pool = sorted(learned, key=lambda c: progress[c.id].mastery.mastery(now)) or [
        c for c in course.concepts if c.quiz
    ]
    if not pool:
        return []
    concept = pool[0]
    item = pick_item(
        concept, progress.get(concept.id), target_difficulty(plan_input.recent_results)
    )
    return [{"kind": "check", "concept": concept.id, "item": item.id}]
