"""What a rule check is made of: a break (who, when in UTC and in their local time, what, and
the sweep's reasons then), a verdict, and the few facts about local time the rules share. The
rules read the learners' side of the story, never PAU's own records, and keep their own copy of
the numbers they check (the cap, the gap, the silence steps) so that a change in the engine shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from tests.simulation.learners import Preferences, SeenNudge, SimLearner
from tests.simulation.record import Run

CAP = 2  # nudges a local day
SILENCE_STEPS = (2, 4, 7, 14)
CHATTING = timedelta(minutes=30)  # they wrote this recently: the reminder waits
GAP = timedelta(hours=3)  # between two nudges
AT_REMINDER_TIME = ("daily", "inactivity", "weekly_recap")
REMINDERS = ("daily", "reviews")
OFFER_AFTER = 5  # own sessions at another hour than the chosen one (PAU asks after 4)


@dataclass(frozen=True)
class Violation:
    user: str
    at: datetime | None
    local: str  # the learner's local time then
    detail: str
    reason: str = ""  # the sweep's reason (core.nudges.decide) at that moment

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M}Z" if self.at else "-"
        why = f" — decision: {self.reason}" if self.reason else ""
        return f"{self.user} at {when} (local {self.local}): {self.detail}{why}"


@dataclass(frozen=True)
class Verdict:
    rule: str
    checked: int
    violations: list[Violation]


Check = Callable[[Run], tuple[int, list[Violation]]]


def clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_now(moment: time, quiet: tuple[str, str]) -> bool:
    start, end = clock(quiet[0]), clock(quiet[1])
    if start == end:
        return False
    return start <= moment < end if start < end else moment >= start or moment < end


def reminder_time(prefs: Preferences) -> time:
    chosen = clock(prefs.daily_time)
    return clock(prefs.quiet[1]) if quiet_now(chosen, prefs.quiet) else chosen


def violation(run: Run, learner: SimLearner, at: datetime, detail: str,
              since: datetime | None = None) -> Violation:  # fmt: skip
    """A break at `at`, with the sweep's reasons then (from `since`, when it was due)."""
    local = f"{learner.local(at):%a %m-%d %H:%M %Z}"
    user = learner.persona.user_id
    why = (run.reasons_between(user, since, at) if since is not None
           else run.reason_before(user, at))  # fmt: skip
    return Violation(learner.persona.user_id, at.astimezone(UTC), local, detail, why)


def nudges_of(run: Run) -> list[tuple[SimLearner, SeenNudge]]:
    return [(learner, nudge) for learner in run.learners for nudge in learner.nudges]


# --- per nudge ----------------------------------------------------------------------------
