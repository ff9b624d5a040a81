"""The prerequisite graph: which concepts are open to a learner, and the path to a chosen topic.

A concept opens when the learner has studied each prerequisite and shown it at least "in
progress" (graded evidence ≥ 0.4). The evidence is taken before decay: forgetting calls for a
review, which the planner schedules, not for closing the rest of the course.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from core.content import Concept, Course
from core.learner import ConceptProgress
from core.mastery import IN_PROGRESS


def studied(progress: Mapping[str, ConceptProgress], concept_id: str) -> bool:
    entry = progress.get(concept_id)
    return entry is not None and entry.lessons > 0


def is_open(concept: Concept, progress: Mapping[str, ConceptProgress], now: datetime) -> bool:
    return all(
        studied(progress, p) and progress[p].mastery.mastery(now) >= IN_PROGRESS
        for p in concept.prerequisites
    )


def ancestors(course: Course, concept_id: str) -> list[str]:
    """Every transitive prerequisite of a concept, in course order."""
    wanted: set[str] = set()
    stack = [concept_id]
    while stack:
        concept = course.concept(stack.pop())
        for prerequisite in concept.prerequisites if concept else ():
            if prerequisite not in wanted:
                wanted.add(prerequisite)
                stack.append(prerequisite)
    return [c.id for c in course.concepts if c.id in wanted]


def path_to(
    course: Course, target: str, progress: Mapping[str, ConceptProgress], now: datetime
) -> list[str]:
    """What is left to study or strengthen on the way to `target`, target last."""
    steps = [
        cid
        for cid in ancestors(course, target)
        if not studied(progress, cid) or progress[cid].mastery.evidence() < IN_PROGRESS
    ]
    return [*steps, target]


def next_lesson(
    course: Course, progress: Mapping[str, ConceptProgress], now: datetime, goal: str | None = None
) -> Concept | None:
    """The next unstudied, open concept: on the path to the goal if there is one, else in order."""
    candidates = course.concepts
    if goal and course.concept(goal) is not None:
        order = path_to(course, goal, progress, now)
        on_path = [c for cid in order if (c := course.concept(cid)) is not None]
        candidates = tuple(on_path) + tuple(c for c in course.concepts if c.id not in order)
    for concept in candidates:
        if not studied(progress, concept.id) and is_open(concept, progress, now):
            return concept
    return None
