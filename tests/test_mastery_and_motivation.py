"""Mastery from evidence with decay, the prerequisite gate and goal paths, streaks, XP and badges.
Every rule runs on a fixed clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from core.content import Course
from core.curriculum import is_open, next_lesson, path_to
from core.learner import ConceptProgress
from core.mastery import IN_PROGRESS, MASTERED, MasteryLevel, MasteryState, level
from core.motivation import MotivationState, current_streak, local_day, on_activity

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def evidence(
    *values: float, start: datetime = NOW, every: timedelta = timedelta(hours=1)
) -> MasteryState:
    state = MasteryState()
    for number, value in enumerate(values):
        state = state.with_evidence(value, 1.0, start + number * every)
    return state


# --- mastery -----------------------------------------------------------------------------------


def test_thresholds_follow_the_design() -> None:
    assert (MASTERED, IN_PROGRESS) == (0.8, 0.4)
    assert level(0.8) is MasteryLevel.MASTERED
    assert level(0.79) is MasteryLevel.IN_PROGRESS and level(0.4) is MasteryLevel.IN_PROGRESS
    assert level(0.39) is MasteryLevel.NOT_STARTED


def test_one_right_answer_is_progress_not_mastery() -> None:
    state = evidence(1.0)
    assert IN_PROGRESS <= state.mastery(NOW) < MASTERED


def test_consistent_right_answers_reach_mastery_and_wrong_ones_pull_it_down() -> None:
    good = evidence(1, 1, 1, 1, 1, 1)
    assert good.mastery(NOW + timedelta(hours=6)) >= MASTERED
    slipped = good.with_evidence(0.0, 1.0, NOW + timedelta(hours=7))
    assert slipped.mastery(NOW + timedelta(hours=7)) < good.mastery(NOW + timedelta(hours=6))


def test_recent_evidence_counts_more_than_old() -> None:
    recovering = evidence(0, 0, 0, 1, 1, 1)
    slipping = evidence(1, 1, 1, 0, 0, 0)
    moment = NOW + timedelta(hours=6)
    assert recovering.mastery(moment) > slipping.mastery(moment)


def test_mastery_decays_without_review_and_slower_after_more_successes() -> None:
    once = evidence(1.0)
    often = evidence(1, 1, 1, 1, 1, 1, every=timedelta(days=2))
    last = often.last_evidence_at
    assert last is not None
    for state, start in ((once, NOW), (often, last)):
        assert state.mastery(start + timedelta(days=30)) < state.mastery(start + timedelta(days=1))
    ratio_once = once.mastery(NOW + timedelta(days=14)) / once.mastery(NOW)
    ratio_often = often.mastery(last + timedelta(days=14)) / often.mastery(last)
    assert ratio_often > ratio_once


def test_explain_back_scores_are_evidence_too() -> None:
    strong = MasteryState().with_evidence(0.9, 2.0, NOW)
    weak = MasteryState().with_evidence(0.2, 2.0, NOW)
    assert strong.mastery(NOW) > IN_PROGRESS > weak.mastery(NOW)


def test_round_trip() -> None:
    state = evidence(1, 0, 1)
    assert MasteryState.from_dict(state.to_dict()).mastery(NOW) == state.mastery(NOW)


# --- prerequisites and goals ------------------------------------------------------------------


def studied(mastery: MasteryState) -> ConceptProgress:
    return ConceptProgress(lessons=1, mastery=mastery)


def test_prerequisites_gate_new_concepts(demo_course: Course) -> None:
    spacing = demo_course.concept("spacing")
    assert spacing is not None and spacing.prerequisites == ("forgetting-curve",)
    assert not is_open(spacing, {}, NOW)
    assert not is_open(spacing, {"forgetting-curve": studied(evidence(0.0))}, NOW)
    assert is_open(spacing, {"forgetting-curve": studied(evidence(1.0))}, NOW)


def test_next_lesson_follows_course_order_and_the_gate(demo_course: Course) -> None:
    first = next_lesson(demo_course, {}, NOW)
    assert first is not None and first.id == "forgetting-curve"
    assert next_lesson(demo_course, {"forgetting-curve": studied(evidence(0.0))}, NOW) is None
    second = next_lesson(demo_course, {"forgetting-curve": studied(evidence(1.0))}, NOW)
    assert second is not None and second.id == "retrieval-practice"


def test_a_chosen_topic_gets_a_path_through_its_prerequisites(demo_course: Course) -> None:
    path = path_to(demo_course, "desirable-difficulties", {}, NOW)
    assert path[-1] == "desirable-difficulties"
    position = {concept: index for index, concept in enumerate(path)}
    for concept in path[:-1]:
        prerequisites = demo_course.concept(concept).prerequisites  # type: ignore[union-attr]
        assert all(position[p] < position[concept] for p in prerequisites)
    assert "cognitive-load" not in path  # not on the way
    done = {"forgetting-curve": studied(evidence(1, 1, 1))}
    assert "forgetting-curve" not in path_to(demo_course, "desirable-difficulties", done, NOW)
    with_goal = next_lesson(demo_course, done, NOW, goal="sleep-and-consolidation")
    assert with_goal is not None and with_goal.id == "spacing"  # the way to sleep goes via spacing


# --- streaks, freezes, XP, badges -------------------------------------------------------------


def day_at(day: date, hour: int, zone: str = "Europe/Berlin") -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def study(state: MotivationState, moment: datetime, zone: str = "Europe/Berlin") -> MotivationState:
    return on_activity(state, kind="quiz", now=moment, timezone=zone, correct=True)[0]


def test_streak_counts_local_days_not_utc_days() -> None:
    # 23:30 in Tokyo on Monday is 14:30 UTC Monday; 00:30 Tuesday in Tokyo is still Monday in UTC.
    monday_late = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    tuesday_early = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    state = study(MotivationState(), monday_late, "Asia/Tokyo")
    state = study(state, tuesday_early, "Asia/Tokyo")
    assert state.streak == 2
    utc_state = study(study(MotivationState(), monday_late, "UTC"), tuesday_early, "UTC")
    assert utc_state.streak == 1


def test_streak_survives_the_dst_change() -> None:
    # Europe/Berlin springs forward on 2026-03-29: that local day has 23 hours.
    state = MotivationState()
    for day in (date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)):
        state = study(state, day_at(day, 8))
    assert state.streak == 3
    assert local_day(day_at(date(2026, 3, 29), 23), "Europe/Berlin") == date(2026, 3, 29)


def test_a_missed_day_breaks_the_streak_without_a_freeze() -> None:
    state = study(
        study(MotivationState(), day_at(date(2026, 3, 2), 8)), day_at(date(2026, 3, 3), 8)
    )
    state = study(state, day_at(date(2026, 3, 5), 8))
    assert state.streak == 1 and state.best_streak == 2


def test_freezes_are_earned_by_a_week_and_spent_automatically() -> None:
    state = MotivationState()
    start = date(2026, 3, 2)
    for offset in range(7):
        state = study(state, day_at(start + timedelta(days=offset), 8))
    assert (state.streak, state.freezes) == (7, 1)
    state, celebrations = on_activity(state, kind="lesson", now=day_at(start + timedelta(days=8), 8),
                                      timezone="Europe/Berlin")  # fmt: skip
    assert (state.streak, state.freezes, state.freezes_used) == (8, 0, 1)
    assert "freeze_used" in [c.key for c in celebrations]


def test_current_streak_is_zero_once_it_is_broken() -> None:
    state = study(MotivationState(), day_at(date(2026, 3, 2), 8))
    assert current_streak(state, date(2026, 3, 3)) == 1
    assert current_streak(state, date(2026, 3, 5)) == 0


def test_xp_and_badges_are_awarded_once() -> None:
    state, celebrations = on_activity(MotivationState(), kind="lesson", now=NOW, timezone="UTC")
    assert state.xp == 10 and [c.key for c in celebrations] == ["badge_first_lesson"]
    state, celebrations = on_activity(state, kind="lesson", now=NOW, timezone="UTC")
    assert state.xp == 20 and celebrations == []
    state, _ = on_activity(state, kind="explain_back", now=NOW, timezone="UTC", score=0.5)
    assert state.xp == 30
    state, _ = on_activity(state, kind="quiz", now=NOW, timezone="UTC", correct=False)
    assert state.xp == 33


def test_milestones_for_mastery_and_long_streaks() -> None:
    state, celebrations = on_activity(MotivationState(), kind="quiz", now=NOW, timezone="UTC", correct=True,
                                      mastered_share=0.8)  # fmt: skip
    assert {"badge_mastery_50", "badge_mastery_80"} <= {c.key for c in celebrations}
    state = replace(state, streak=29, last_active_day=date(2026, 3, 1), days_since_freeze=0)
    state, celebrations = on_activity(state, kind="quiz", now=NOW, timezone="UTC", correct=True)
    assert {"badge_streak_7", "badge_streak_30"} <= {c.key for c in celebrations}
