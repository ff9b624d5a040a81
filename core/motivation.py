"""Streaks in the learner's local days, streak freezes, XP, badges and milestones.

A day is the learner's local calendar day (zoneinfo, so DST changes nothing). Doing anything
graded on a day keeps the streak; a missed day is covered by a streak freeze if one is left
(freezes are earned, one per 7-day run, at most MAX_FREEZES). Badges are awarded once each, and
the step shows at most one celebration per activity, so it never floods the chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.mastery import MASTERED

MAX_FREEZES = 2
FREEZE_EVERY_DAYS = 7
XP = {"lesson": 10, "quiz_right": 10, "quiz_wrong": 3, "reflection": 5, "explain_back": 5}
EXPLAIN_BONUS = 10  # times the explain-back score
STREAK_BADGES = {7: "streak_7", 30: "streak_30"}
MASTERY_BADGES = {0.5: "mastery_50", 0.8: "mastery_80", 1.0: "mastery_100"}


@dataclass(frozen=True)
class MotivationState:
    xp: int = 0
    streak: int = 0
    best_streak: int = 0
    last_active_day: date | None = None
    freezes: int = 0
    freezes_used: int = 0
    badges: tuple[str, ...] = ()
    days_since_freeze: int = 0  # streak days counted towards the next freeze

    def to_dict(self) -> dict[str, Any]:
        return {
            "xp": self.xp,
            "streak": self.streak,
            "best_streak": self.best_streak,
            "last_active_day": self.last_active_day.isoformat() if self.last_active_day else None,
            "freezes": self.freezes,
            "freezes_used": self.freezes_used,
            "badges": list(self.badges),
            "days_since_freeze": self.days_since_freeze,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> MotivationState:
        day = data.get("last_active_day")
        return MotivationState(
            xp=int(data.get("xp", 0)),
            streak=int(data.get("streak", 0)),
            best_streak=int(data.get("best_streak", 0)),
            last_active_day=date.fromisoformat(day) if day else None,
            freezes=int(data.get("freezes", 0)),
            freezes_used=int(data.get("freezes_used", 0)),
            badges=tuple(data.get("badges", ())),
            days_since_freeze=int(data.get("days_since_freeze", 0)),
        )


@dataclass(frozen=True)
class Celebration:
    """Something worth telling the learner; `key` names a catalog text."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone or "UTC")).date()


def current_streak(state: MotivationState, today: date) -> int:
    """The streak as it stands today: still alive if the last active day was today or yesterday
    (or the gap can be covered by the freezes left)."""
    if state.last_active_day is None:
        return 0
    missed = (today - state.last_active_day).days - 1
    return state.streak if missed <= state.freezes else 0


def _advance_streak(
    state: MotivationState, today: date
) -> tuple[MotivationState, list[Celebration]]:
    if state.last_active_day == today:
        return state, []
    celebrations: list[Celebration] = []
    missed = (today - state.last_active_day).days - 1 if state.last_active_day else 0
    if state.last_active_day is None or missed < 0:
        streak, freezes, used = 1, state.freezes, 0
    elif missed == 0:
        streak, freezes, used = state.streak + 1, state.freezes, 0
    elif missed <= state.freezes:
        streak, freezes, used = state.streak + 1, state.freezes - missed, missed
        celebrations.append(Celebration("freeze_used", {"count": missed, "streak": streak}))
    else:
        streak, freezes, used = 1, state.freezes, 0
    toward = state.days_since_freeze + 1 if streak > 1 else 1
    if toward >= FREEZE_EVERY_DAYS and freezes < MAX_FREEZES:
        freezes, toward = freezes + 1, 0
        celebrations.append(Celebration("freeze_earned", {"freezes": freezes}))
    state = replace(
        state,
        streak=streak,
        best_streak=max(state.best_streak, streak),
        last_active_day=today,
        freezes=freezes,
        freezes_used=state.freezes_used + used,
        days_since_freeze=toward,
    )
    return state, celebrations


def _award(state: MotivationState, badge: str) -> tuple[MotivationState, list[Celebration]]:
    if badge in state.badges:
        return state, []
    return replace(state, badges=(*state.badges, badge)), [Celebration(f"badge_{badge}")]


def xp_for(kind: str, correct: bool | None, score: float | None) -> int:
    if kind == "quiz":
        return XP["quiz_right"] if correct else XP["quiz_wrong"]
    if kind == "explain_back":
        return XP["explain_back"] + round(EXPLAIN_BONUS * (score or 0.0))
    return XP.get(kind, 0)


def on_activity(
    state: MotivationState,
    *,
    kind: str,
    now: datetime,
    timezone: str,
    correct: bool | None = None,
    score: float | None = None,
    mastered_share: float = 0.0,
) -> tuple[MotivationState, list[Celebration]]:
    """Count one completed activity: XP, the day's streak, badges. Returns what to celebrate."""
    if kind == "question":
        return state, []
    state = replace(state, xp=state.xp + xp_for(kind, correct, score))
    state, celebrations = _advance_streak(state, local_day(now, timezone))
    if kind == "lesson":
        state, more = _award(state, "first_lesson")
        celebrations += more
    for days, badge in STREAK_BADGES.items():
        if state.streak >= days:
            state, more = _award(state, badge)
            celebrations += more
    for share, badge in MASTERY_BADGES.items():
        if mastered_share >= share - 1e-9:
            state, more = _award(state, badge)
            celebrations += more
    return state, celebrations


def mastered_share(masteries: list[float]) -> float:
    return sum(1 for m in masteries if m >= MASTERED) / len(masteries) if masteries else 0.0
