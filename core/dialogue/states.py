"""Named dialogue states, drawn in `flow.mmd` beside this file (a test keeps them equal)."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    CONSENT = "onboarding:consent"
    NAME = "onboarding:name"
    COURSE = "onboarding:course"
    LEVEL = "onboarding:level"
    DAILY_TIME = "onboarding:daily_time"
    TIMEZONE = "onboarding:timezone"
    NUDGES = "onboarding:nudges"
    LESSON = "lesson:reading"
    QUIZ = "quiz:awaiting_answer"
    REFLECTION = "reflection:awaiting_answer"
    EXPLAIN = "explain:awaiting_answer"
    EXPLAIN_GRADING = "explain:grading"  # the explanation is being graded (a command)
    IDLE = "idle"
    STOPPED = "stopped"


ONBOARDING = frozenset(
    {
        State.CONSENT,
        State.NAME,
        State.COURSE,
        State.LEVEL,
        State.DAILY_TIME,
        State.TIMEZONE,
        State.NUDGES,
    }
)
ACTIVITIES = frozenset(
    {State.LESSON, State.QUIZ, State.REFLECTION, State.EXPLAIN, State.EXPLAIN_GRADING}
)
