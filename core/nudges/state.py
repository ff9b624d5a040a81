"""What PAU remembers about a learner's nudges: their settings (quiet hours, how often), what went
out (the slot of each kind, the day's count, the last wording) and what their habits say (when
they start sessions themselves). Kept on the learner row as JSON; changed only by dialogue steps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

DEFAULT_QUIET = ("21:00", "08:00")
MAX_EVERY_DAYS = 4  # "fewer reminders": every day, every 2 days, every 4 days
KEPT_STARTS = 6  # session start times remembered, for the offer to move the reminder


class NudgeKind(StrEnum):
    DAILY = "daily"  # the daily session reminder (mentions due reviews: the two are folded)
    REVIEWS = "reviews"  # reviews due after today's session was done already
    INACTIVITY = "inactivity"  # silent for days
    STREAK = "streak_at_risk"  # evening, nothing done today
    MILESTONE = "milestone"  # a badge earned but not celebrated yet
    RECAP = "weekly_recap"  # what the week brought


REMINDERS = frozenset({NudgeKind.DAILY, NudgeKind.REVIEWS, NudgeKind.RECAP})  # one a day


@dataclass(frozen=True)
class NudgeState:
    quiet_from: str = DEFAULT_QUIET[0]  # local "HH:MM"; equal ends: no quiet hours
    quiet_until: str = DEFAULT_QUIET[1]
    every_days: int = 1  # the session reminder every N days
    day: str = ""  # the local day `sent_today` counts
    sent_today: int = 0  # business-initiated messages on that day
    last_sent_at: str = ""  # ISO, UTC
    last_reminder_day: str = ""  # local day of the last session or review reminder, or recap
    slots: Mapping[str, str] = field(default_factory=dict)  # kind -> the last slot sent
    wording: Mapping[str, int] = field(default_factory=dict)  # kind -> the last variant used
    told: tuple[str, ...] = ()  # milestones already celebrated
    starts: tuple[str, ...] = ()  # local "HH:MM" of sessions they started themselves
    move_offered: bool = False
    recap_mastery: Mapping[str, float] = field(default_factory=dict)  # at the last recap

    @property
    def last_sent(self) -> datetime | None:
        return datetime.fromisoformat(self.last_sent_at) if self.last_sent_at else None

    def sent_on(self, day: str) -> int:
        return self.sent_today if self.day == day else 0

    def after_sending(
        self, kind: str, slot: str, variant: int, now: datetime, day: str
    ) -> NudgeState:
        return replace(
            self,
            day=day,
            sent_today=self.sent_on(day) + 1,
            last_sent_at=now.isoformat(),
            last_reminder_day=day if kind in REMINDERS else self.last_reminder_day,
            slots={**self.slots, kind: slot},
            wording={**self.wording, kind: variant},
            told=(*self.told, slot) if kind == NudgeKind.MILESTONE else self.told,
        )

    def with_start(self, local_time: str) -> NudgeState:
        return replace(self, starts=(*self.starts, local_time)[-KEPT_STARTS:])

    def to_dict(self) -> dict[str, Any]:
        return {
            "quiet_from": self.quiet_from,
            "quiet_until": self.quiet_until,
            "every_days": self.every_days,
            "day": self.day,
            "sent_today": self.sent_today,
            "last_sent_at": self.last_sent_at,
            "last_reminder_day": self.last_reminder_day,
            "slots": dict(self.slots),
            "wording": dict(self.wording),
            "told": list(self.told),
            "starts": list(self.starts),
            "move_offered": self.move_offered,
            "recap_mastery": dict(self.recap_mastery),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> NudgeState:
        return NudgeState(
            quiet_from=str(data.get("quiet_from") or DEFAULT_QUIET[0]),
            quiet_until=str(data.get("quiet_until") or DEFAULT_QUIET[1]),
            every_days=max(1, min(MAX_EVERY_DAYS, int(data.get("every_days") or 1))),
            day=str(data.get("day") or ""),
            sent_today=int(data.get("sent_today") or 0),
            last_sent_at=str(data.get("last_sent_at") or ""),
            last_reminder_day=str(data.get("last_reminder_day") or ""),
            slots={str(k): str(v) for k, v in (data.get("slots") or {}).items()},
            wording={str(k): int(v) for k, v in (data.get("wording") or {}).items()},
            told=tuple(str(b) for b in data.get("told") or ()),
            starts=tuple(str(s) for s in data.get("starts") or ()),
            move_offered=bool(data.get("move_offered")),
            recap_mastery={str(k): float(v) for k, v in (data.get("recap_mastery") or {}).items()},
        )
