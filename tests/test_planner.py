"""Today's three: the planner's rules on a fixed clock, and 30 simulated days of two learners."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlmodel import select

from core.content import Course
from core.learner import ConceptProgress, DueReview
from core.mastery import MasteryState
from core.planner import PlannerInput, pick_item, plan_session, quick_quiz, target_difficulty
from core.replies import Quiz
from storage.db import transaction
from storage.models import Conversation, Learner
from tests.chat import ChatLearner
from tests.conftest import FixedClock

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def mastered(*values: float) -> ConceptProgress:
    state = MasteryState()
    for number, value in enumerate(values):
        state = state.with_evidence(value, 1.0, NOW - timedelta(hours=len(values) - number))
    return ConceptProgress(lessons=1, answered=len(values), correct=int(sum(values)), mastery=state,
                           last_studied=(NOW - timedelta(hours=1)).isoformat())  # fmt: skip


def test_a_new_learner_gets_lesson_check_reflection(demo_course: Course) -> None:
    plan = plan_session(PlannerInput(now=NOW, course=demo_course, progress={}))
    assert [a["kind"] for a in plan] == ["lesson", "check", "reflection"]
    assert plan[0]["concept"] == plan[1]["concept"] == "forgetting-curve"


def test_due_reviews_come_first_lowest_retrievability_first(demo_course: Course) -> None:
    due = (DueReview("spacing-2", "spacing", 0.41), DueReview("spacing-1", "spacing", 0.77))
    progress = {"forgetting-curve": mastered(1, 1), "spacing": mastered(1, 0)}
    plan = plan_session(
        PlannerInput(now=NOW, course=demo_course, progress=progress, due_reviews=due)
    )
    assert plan[0] == {"kind": "review", "concept": "spacing", "item": "spacing-2"}
    kinds = [a["kind"] for a in plan]
    assert all(a != b for a, b in pairwise(kinds))


def test_never_the_same_kind_twice_in_a_row_even_across_sessions(demo_course: Course) -> None:
    due = tuple(DueReview(f"forgetting-curve-{n}", "forgetting-curve", 0.5) for n in range(1, 4))
    progress = {"forgetting-curve": mastered(1, 1)}
    plan = plan_session(PlannerInput(now=NOW, course=demo_course, progress=progress, due_reviews=due,
                                     last_kind="review"))  # fmt: skip
    kinds = [a["kind"] for a in plan]
    assert kinds[0] != "review"
    assert all(a != b for a, b in pairwise(kinds))


def test_cooldowns_keep_reflection_and_explain_back_from_coming_back_too_soon(
    demo_course: Course,
) -> None:
    progress = {"forgetting-curve": mastered(1, 1), "retrieval-practice": mastered(1, 1)}
    recent = {"reflection": NOW - timedelta(hours=3), "explain": NOW - timedelta(hours=5)}
    plan = plan_session(
        PlannerInput(now=NOW, course=demo_course, progress=progress, last_done_at=recent)
    )
    assert not {"reflection", "explain"} & {a["kind"] for a in plan}
    later = plan_session(PlannerInput(now=NOW + timedelta(days=1), course=demo_course, progress=progress,
                                      last_done_at=recent))  # fmt: skip
    assert {"reflection", "explain"} & {a["kind"] for a in later}


@pytest.mark.parametrize(
    ("results", "expected"),
    [([True] * 18 + [False] * 2, "harder"), ([True] * 6 + [False] * 4, "easier"),
     ([True] * 15 + [False] * 5, "normal"), ([True, True], "normal")],
)  # fmt: skip
def test_difficulty_follows_recent_accuracy(results: list[bool], expected: str) -> None:
    assert target_difficulty(results) == expected


def test_harder_and_easier_items_are_picked(demo_course: Course) -> None:
    concept = next(c for c in demo_course.concepts if len({i.difficulty for i in c.quiz}) > 1)
    hard, easy = pick_item(concept, None, "harder"), pick_item(concept, None, "easier")
    assert hard.difficulty == max(i.difficulty for i in concept.quiz)
    assert easy.difficulty == min(i.difficulty for i in concept.quiz)


def test_the_goal_steers_the_next_lesson(demo_course: Course) -> None:
    progress = {"forgetting-curve": mastered(1, 1, 1)}
    plan = plan_session(
        PlannerInput(now=NOW, course=demo_course, progress=progress, goal="sleep-and-consolidation")
    )
    assert {"kind": "lesson", "concept": "spacing"} in plan


def test_quick_quiz_prefers_a_due_review(demo_course: Course) -> None:
    due = (DueReview("spacing-3", "spacing", 0.3),)
    assert quick_quiz(PlannerInput(now=NOW, course=demo_course, progress={}, due_reviews=due)) == [
        {"kind": "review", "concept": "spacing", "item": "spacing-3"}
    ]


# --- 30 simulated days through the whole engine ------------------------------------------------


def current_plan(learner: ChatLearner) -> list[dict[str, str]]:
    with transaction(learner.pau.engine) as session:
        row = session.exec(select(Learner).where(Learner.external_id == learner.user_id)).one()
        conversation = session.get(Conversation, row.id)
        assert conversation is not None
        return list(conversation.data.get("plan", []))


def live_month(
    learner: ChatLearner, clock: FixedClock, skill: float, seed: int
) -> list[tuple[int, list[dict[str, str]], list[int]]]:
    """A learner who does one session a day for 30 days; right with probability `skill`."""
    rng = random.Random(seed)
    learner.onboard()
    days = []
    for day in range(30):
        if day:
            clock.now = NOW + timedelta(days=day)
            learner.say("today")
        plan = current_plan(learner)
        difficulties = []
        for activity in plan:
            if activity["kind"] == "lesson":
                learner.say("Continue")
            elif activity["kind"] in ("review", "check"):
                quiz = next(r for r in learner.last_replies if isinstance(r, Quiz))
                item = learner.pau.world.courses["science-of-learning"].quiz_item(quiz.item_id)
                assert item is not None
                difficulties.append(item.difficulty)
                right = rng.random() < skill
                if item.has_options:
                    choice = (
                        quiz.correct_index
                        if right
                        else (quiz.correct_index + 1) % len(quiz.options)
                    )
                    learner.say(str(choice + 1))
                else:
                    learner.say(item.answers[0] if right else "no idea really")
            elif activity["kind"] == "explain" and rng.random() < skill:
                concept = learner.pau.world.courses["science-of-learning"].concept(
                    activity["concept"]
                )
                assert concept is not None
                learner.say(". ".join(concept.explain_back.key_points))
            else:
                learner.say("Not sure, I think it is about studying a bit more and taking breaks.")
            clock.advance(minutes=2)
        days.append((day + 1, plan, difficulties))
    return days


def test_thirty_days_of_a_strong_and_a_weak_learner(
    learner: ChatLearner, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    strong = live_month(learner, clock, skill=0.95, seed=1)
    weak_learner = ChatLearner(learner.pau, "learner-2", clock)
    clock.now = NOW
    weak = live_month(weak_learner, clock, skill=0.45, seed=2)

    with capsys.disabled():
        print("\nday  strong learner (kind:concept, item difficulty)            | weak learner")
        for (day, plan_a, diff_a), (_, plan_b, diff_b) in zip(strong, weak, strict=True):
            show = lambda plan: " ".join(a["kind"][:4] for a in plan)  # noqa: E731
            print(f"{day:>3}  {show(plan_a):<22} d={diff_a!s:<12} | {show(plan_b):<22} d={diff_b}")

    for days in (strong, weak):
        flat = [a["kind"] for _, plan, _ in days for a in plan]
        assert all(a != b for a, b in pairwise(flat)), "same kind twice in a row"
        assert all(len(plan) >= 2 for _, plan, _ in days)
        assert set(Counter(flat)) >= {"lesson", "check", "reflection", "explain"}
    strong_kinds = Counter(a["kind"] for _, plan, _ in strong for a in plan)
    assert strong_kinds["lesson"] == 10  # the whole course, within the month
    assert strong_kinds["review"] >= 5  # FSRS brings items back
    weak_kinds = Counter(a["kind"] for _, plan, _ in weak for a in plan)
    assert weak_kinds["lesson"] < strong_kinds["lesson"]  # the gate holds a struggling learner back
    late = lambda days: [d for _, _, ds in days[10:] for d in ds]  # noqa: E731
    assert sum(late(strong)) / len(late(strong)) > sum(late(weak)) / len(late(weak))
