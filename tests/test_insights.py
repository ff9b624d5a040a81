"""core/insights.py as tables: at-risk reasons, the activity calendar, the retention curve and
mastery over time (replayed through the engine's own mastery update)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.insights import (
    ActivityPoint,
    QuizOutcome,
    RiskFacts,
    activity_calendar,
    at_risk_reasons,
    completed,
    mastery_over_time,
    mean_mastery,
    retention_curve,
    spaced_lapses,
    wrong_in_a_row,
)
from core.learner import ActivityRecord
from core.progress import apply_activity

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def quizzes(*answers: tuple[str, bool, float]) -> tuple[QuizOutcome, ...]:
    """(item, correct, days before NOW) -> outcomes, oldest first."""
    outcomes = [QuizOutcome(item, ok, NOW - timedelta(days=ago)) for item, ok, ago in answers]
    return tuple(sorted(outcomes, key=lambda q: q.at))


def facts(**changes: object) -> RiskFacts:
    base: dict[str, object] = {
        "consented_at": NOW - timedelta(days=30),
        "onboarding": False,
        "last_active_at": NOW - timedelta(hours=2),
    }
    return RiskFacts(**{**base, **changes})  # type: ignore[arg-type]


RIGHT_THEN_WRONG = quizzes(
    ("a", True, 6), ("b", True, 6), ("c", True, 6), ("a", False, 1), ("b", False, 1), ("c", True, 1)
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"last_active_at": NOW - timedelta(days=2, hours=23)}, []),
        ({"last_active_at": NOW - timedelta(days=3)}, ["inactive 3 days"]),
        ({"last_active_at": NOW - timedelta(days=5, hours=7)}, ["inactive 5 days"]),
        ({"recent_quizzes": quizzes(("a", True, 1), ("b", False, 0.3), ("c", False, 0.2))}, []),
        (
            {"recent_quizzes": quizzes(("a", True, 1), *((f"w{i}", False, 0.1) for i in range(4)))},
            ["4 wrong answers in a row"],
        ),
        (
            {"recent_quizzes": quizzes(*((f"w{i}", False, 0.1) for i in range(3)))},
            ["3 wrong answers in a row"],
        ),
        ({"recent_quizzes": RIGHT_THEN_WRONG}, ["mastery falling on spacing"]),
        # a same-day repeat that goes wrong is still learning, not forgetting over a gap
        (
            {
                "recent_quizzes": quizzes(
                    ("a", True, 1),
                    ("a", False, 0.9),
                    ("b", True, 1),
                    ("b", False, 0.9),
                    ("c", True, 0),
                )
            },
            [],
        ),
        ({"unreachable": True}, ["unreachable"]),
        ({"nudges": False}, ["nudges off"]),
        ({"paused": True}, ["paused"]),
        ({"onboarding": True, "consented_at": NOW - timedelta(hours=20), "nudges": False}, []),
        (
            {"onboarding": True, "consented_at": NOW - timedelta(days=2), "nudges": False},
            ["onboarding not finished after 2 days"],
        ),
        (
            {
                "last_active_at": NOW - timedelta(days=9),
                "recent_quizzes": quizzes(*((f"w{i}", False, 9.5) for i in range(5))),
                "unreachable": True,
            },
            ["inactive 9 days", "5 wrong answers in a row", "unreachable"],
        ),
    ],
)
def test_at_risk_reasons(changes: dict[str, object], expected: list[str]) -> None:
    assert at_risk_reasons(facts(**changes), NOW) == expected


def test_wrong_in_a_row_and_spaced_lapses_count_what_they_say() -> None:
    assert wrong_in_a_row(quizzes(("a", False, 3), ("b", True, 2), ("c", False, 1))) == 1
    assert wrong_in_a_row(()) == 0
    assert spaced_lapses(RIGHT_THEN_WRONG) == (2, 3)
    assert spaced_lapses(quizzes(("a", False, 5), ("a", False, 1))) == (0, 1)  # never known


def test_calendar_is_26_weeks_of_local_days_ending_this_week() -> None:
    late_evening_utc = datetime(2026, 3, 19, 23, 30, tzinfo=UTC)  # 20 March in Berlin
    moments = [late_evening_utc, NOW, NOW - timedelta(days=1), NOW - timedelta(weeks=30)]
    grid = activity_calendar(moments, NOW, "Europe/Berlin")
    assert len(grid) == 26 and all(len(week) == 7 for week in grid)
    assert grid[0][0].day == date(2025, 9, 22) and grid[0][0].day.weekday() == 0
    counts = {day.day: day.count for week in grid for day in week}
    assert counts[date(2026, 3, 20)] == 2 and counts[date(2026, 3, 19)] == 1
    assert sum(counts.values()) == 3  # the one 30 weeks ago is off the grid
    future = [day.day for week in grid for day in week if day.future]
    assert future == [date(2026, 3, 21), date(2026, 3, 22)]


def test_calendar_in_utc_puts_the_late_evening_on_its_own_day() -> None:
    grid = activity_calendar([datetime(2026, 3, 19, 23, 30, tzinfo=UTC)], NOW)
    counts = {day.day: day.count for week in grid for day in week if day.count}
    assert counts == {date(2026, 3, 19): 1}


def test_retention_curve_counts_each_week_from_each_learners_start() -> None:
    monday = date(2026, 3, 2)
    members = {
        1: (monday, [monday, monday + timedelta(days=8), monday + timedelta(days=15)]),
        2: (monday + timedelta(days=2), [monday + timedelta(days=2)]),  # only week 0
        3: (monday, []),  # never did anything
        4: (monday + timedelta(days=1), [monday + timedelta(days=9)]),  # week 1 only
    }
    curve = retention_curve(members, today=date(2026, 3, 20))
    # the latest start (4 March) is 16 days ago: weeks 0, 1 and 2 have begun for everyone
    assert curve == [0.5, 0.5, 0.25]
    assert retention_curve({}, today=monday) == []
    assert retention_curve({1: (monday, [monday])}, today=monday) == [1.0]


def history() -> list[ActivityPoint]:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    return [
        ActivityPoint("lesson", start, "c1"),
        ActivityPoint("quiz", start + timedelta(minutes=1), "c1", "q1", True),
        ActivityPoint("quiz", start + timedelta(minutes=2), "c1", "q2", True),
        ActivityPoint("quiz", start + timedelta(days=2), "c1", "q1", False),
        ActivityPoint("explain_back", start + timedelta(days=2, minutes=5), "c2", score=0.9),
        ActivityPoint("quiz", start + timedelta(days=3), "c2", "q3", None),  # skipped: no evidence
        ActivityPoint("lesson", start + timedelta(days=4), "c3"),  # read, never graded
        ActivityPoint("question", start + timedelta(days=4)),
    ]


def test_mastery_over_time_is_the_engines_mastery_one_point_a_day_and_today() -> None:
    series = mastery_over_time(history(), NOW)
    assert set(series) == {"c1", "c2"}  # c3 has no graded evidence
    days = [day for day, _ in series["c1"]]
    assert days == [date(2026, 3, 1), date(2026, 3, 3), NOW.date()]
    progress = {}
    for index, point in enumerate(history()):  # the engine's own bookkeeping, step by step
        record = ActivityRecord(point.kind, point.concept_id, point.item_id, point.correct,
                                point.score)  # fmt: skip
        progress = apply_activity(progress, record, point.at)
        if index == 2:
            assert series["c1"][0][1] == pytest.approx(progress["c1"].mastery.mastery(point.at))
    for concept in ("c1", "c2"):
        assert series[concept][-1][1] == pytest.approx(progress[concept].mastery.mastery(NOW))
    assert series["c1"][1][1] < series["c1"][0][1]  # the wrong answer two days later
    assert 0 < series["c1"][-1][1] < series["c1"][1][1]  # decayed since
    assert len(series["c2"]) == 2


def test_completion_and_mean_mastery_over_the_whole_course() -> None:
    progress = {}
    at = NOW - timedelta(hours=1)
    for item in range(6):
        progress = apply_activity(progress, ActivityRecord("quiz", "c1", f"q{item}", True), at)
    assert completed(progress, ["c1"], NOW)
    assert not completed(progress, ["c1", "c2"], NOW)
    assert not completed({}, [], NOW)
    one = progress["c1"].mastery.mastery(NOW)
    assert mean_mastery(progress, ["c1", "c2"], NOW) == pytest.approx(one / 2)
