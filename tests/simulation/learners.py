"""A simulated learner: what they asked PAU for (as they believe it), what they received, what
they do next. They talk to the real engine one message at a time, reading its replies like a
person would (tap Continue, answer the quiz, write a reflection, say yes to the move offer)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.dialogue.states import ACTIVITIES, State
from core.events import InboundEvent
from core.nudges.state import DEFAULT_QUIET
from core.replies import Reply
from tests.simulation.answers import WAIT, answer, say, tap
from tests.simulation.people import QUIET_SETTINGS, Habit, Persona

ACT_EVERY = timedelta(hours=1)  # learners act on the hour: those acting at one moment talk in
# lockstep, one drain for all of them per round (most of the engine's cost is per drain)
ANSWERS = {Habit.KEEN: 0.9, Habit.CASUAL: 0.5}  # the chance a reminder is answered; others 0.7
WITHIN = {Habit.CASUAL: timedelta(hours=3)}  # how late at most; others within the hour
STOP_ANSWERING = ("paused", "stopped", "reminders", "deleted")  # changes after which old
# nudges are not answered any more (tapping an old "Start today's three" would start again)
MAX_TURNS = 25  # messages in one conversation; more means the simulation misread PAU
MAX_WAITS = 48  # looks back for a grade (an hour apart); more means it never comes


@dataclass(frozen=True)
class Preferences:
    """What the learner has asked for so far; the rules are checked against this."""

    daily_time: str
    quiet: tuple[str, str] = DEFAULT_QUIET
    every_days: int = 1
    reminders: bool = True
    paused: bool = False
    stopped: bool = False
    deleted: bool = False

    def why_none(self) -> str:
        """Why no nudge may reach them now, or ""."""
        for flag, reason in ((self.deleted, "deleted"), (self.stopped, "stopped"),
                             (not self.reminders, "reminders off"), (self.paused, "paused")):  # fmt: skip
            if flag:
                return reason
        return ""


@dataclass(frozen=True)
class Delivered:
    at: datetime
    reply: Reply


@dataclass(frozen=True)
class SeenNudge:
    """A nudge as it reached the learner, with the event that made it and their settings then."""

    at: datetime
    kind: str
    slot: str
    key: str
    text: str
    wording: str  # the catalog text it was written from, e.g. nudge_daily_2
    prefs: Preferences
    reason: str  # the sweep's reason for queueing it


@dataclass(frozen=True)
class Intent:
    """Something the learner starts at a given moment: a first message and what it changes."""

    at: datetime
    label: str
    event: InboundEvent
    changes: dict[str, Any] = field(default_factory=dict)


class SimLearner:
    def __init__(self, persona: Persona, start: datetime) -> None:
        self.persona = persona
        self.zone = ZoneInfo(persona.zone)
        self.rng = random.Random(persona.seed)
        self.start = start
        self.learner_id: int | None = None
        self.prefs = Preferences(daily_time=persona.daily_time)
        self.prefs_log: list[tuple[datetime, str, Preferences]] = []
        self.received: list[Delivered] = []  # everything, in order (the channel appends)
        self.read = 0  # of `received`, what they have looked at
        self.nudges: list[SeenNudge] = []
        self.wrote: list[datetime] = []
        self.studied: set[date] = set()
        self.offers = 0
        self.did: Counter[str] = Counter()  # what they started, by label
        self.notes: list[str] = []
        self.day0 = self._onboarding_moment(start).astimezone(self.zone).date()
        self.plans: list[Intent] = [self._onboarding(start)]
        self.turns = 0
        self.waits = 0  # looks in a row that found their explanation still being graded
        self.talking: Intent | None = None
        self._planned_days: set[tuple[str, date]] = set()

    # --- time -----------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def day(self, moment: datetime) -> int:
        """Days since set-up, in their local days."""
        return (self.local(moment).date() - self.day0).days

    def at_local(self, day: int, hour: int) -> datetime:
        """That hour of their local day `day` (days since set-up)."""
        return datetime.combine(self.day0 + timedelta(days=day), time(hour), tzinfo=self.zone)

    def _onboarding_moment(self, start: datetime) -> datetime:
        moment = start
        while self.local(moment).hour != self.persona.onboard_hour:
            moment += timedelta(hours=1)
        return moment

    def _onboarding(self, start: datetime) -> Intent:
        off = {"reminders": False} if self.persona.habit is Habit.NO_REMINDERS else {}
        return Intent(self.on_grid(self._onboarding_moment(start)), "set-up", say("hi"), off)

    # --- what they do next ----------------------------------------------------------------

    def intent_at(self, now: datetime) -> Intent | None:
        """What they start now, if anything (one thing a step; the rest waits)."""
        if self.prefs.deleted:
            return None
        if self.learner_id is not None:
            self._plan_habits(now)
        self.plans.sort(key=lambda plan: plan.at)
        if self.plans and self.plans[0].at <= now:
            return self.plans.pop(0)
        return None

    def on_grid(self, moment: datetime) -> datetime:
        """The first moment learners act at, at or after `moment`."""
        late = (moment - self.start) % ACT_EVERY
        return moment + (ACT_EVERY - late) % ACT_EVERY

    def _plan(self, label: str, at: datetime, event: InboundEvent, **changes: Any) -> None:
        key = (label, self.local(at).date())
        if key not in self._planned_days:
            self._planned_days.add(key)
            self.plans.append(Intent(self.on_grid(at), label, event, changes))

    def _planned(self, label: str, today: int) -> bool:
        return (label, self.day0 + timedelta(days=today)) in self._planned_days

    def _plan_habits(self, now: datetime) -> None:
        """The moves that come from their habit, not from a nudge, planned a day ahead."""
        person, habit, today = self.persona, self.persona.habit, self.day(now)
        if today < 0:
            return
        if today == person.setting_day:
            self._plan_setting(today)
        if person.again_day and today == person.again_day:
            self._plan_undo(today)
        if habit is Habit.REVIVED and today == person.back_day:
            self._plan("comes back", self.at_local(today, person.onboard_hour), say("today"))
        if today >= 1 and not self._planned("own session", today) and self._studies_alone(today):
            hour = (person.usual_hour or int(self.prefs.daily_time[:2])) + self.rng.randint(0, 1)
            self._plan("own session", self.at_local(today, hour), say("today"))

    def _studies_alone(self, today: int) -> bool:
        habit, prefs = self.persona.habit, self.prefs
        if prefs.paused or prefs.stopped or self.silent_on(today):
            return False
        if habit is Habit.SELF_STARTER:
            return True
        if habit is Habit.NO_REMINDERS:
            return today % 2 == 0
        return not prefs.reminders and today % 2 == 0  # muted: they remember by themselves

    def _plan_setting(self, today: int) -> None:
        person, habit = self.persona, self.persona.habit
        moment = self.at_local(today, person.onboard_hour + 1)  # after set-up, on day 0
        if habit is Habit.QUIET and today == person.setting_day:
            quiet = QUIET_SETTINGS[person.quiet]
            self._plan("quiet hours", moment, say(person.quiet), quiet=quiet)
        elif habit is Habit.PAUSER:
            self._plan("pause", moment, say("pause"), paused=True)
        elif habit is Habit.STOPPER:
            self._plan("stop", moment, say("stop"), stopped=True)
        elif habit is Habit.DELETER:
            self._plan("delete", moment, say("delete"))

    def _plan_undo(self, today: int) -> None:
        habit = self.persona.habit
        moment = self.at_local(today, self.persona.onboard_hour)
        if habit is Habit.PAUSER:
            self._plan("resume", moment, say("resume"), paused=False)
        elif habit is Habit.STOPPER:
            self._plan("start again", moment, say("start"), stopped=False, paused=False)
        elif habit is Habit.MUTE:
            self._plan("reminders on", moment, say("reminders on"), reminders=True, every_days=1)

    def prefs_at(self, moment: datetime) -> Preferences:
        """Their settings as they stood at `moment` (changes made then included)."""
        before = [prefs for at, _, prefs in self.prefs_log if at <= moment]
        return before[-1] if before else Preferences(daily_time=self.persona.daily_time)

    def silent_on(self, today: int) -> bool:
        person = self.persona
        if person.habit is Habit.SILENT:
            return today > person.last_day
        if person.habit is Habit.REVIVED:
            return person.last_day < today < person.back_day
        return False

    def on_nudge(self, nudge: SeenNudge) -> None:
        """How their habit answers a nudge: start today's three (soon, or hours later, or not),
        or tap one of its ways out."""
        person, habit, today = self.persona, self.persona.habit, self.day(nudge.at)
        if self.silent_on(today) or habit in (Habit.SELF_STARTER, Habit.NO_REMINDERS):
            return
        if habit is Habit.FEWER and self._wants_fewer(today):
            every = min(4, self.prefs.every_days * 2)
            when = self.on_grid(nudge.at)
            self.plans.append(Intent(when, "fewer", tap("cmd:fewer"), {"every_days": every}))
            return
        if habit is Habit.MUTE and today >= person.setting_day and not self._muted_once():
            when = self.on_grid(nudge.at)
            self.plans.append(Intent(when, "mute", tap("cmd:mute"), {"reminders": False}))
            return
        chance = {"milestone": 0.0, "weekly_recap": 0.5}.get(nudge.kind, 1.0)
        if self.rng.random() < chance * ANSWERS.get(habit, 0.7):
            latest = nudge.at + WITHIN.get(habit, timedelta(hours=1))
            moments = [self.on_grid(nudge.at)]
            while moments[-1] + ACT_EVERY <= latest:
                moments.append(moments[-1] + ACT_EVERY)
            when = self.rng.choice(moments)
            self.plans.append(Intent(when, "answers a nudge", tap("cmd:today")))

    def _wants_fewer(self, today: int) -> bool:
        """Once on their setting day, and for some once more on their second day."""
        person = self.persona
        if self.prefs.every_days == 1:
            return today >= person.setting_day
        return bool(person.again_day) and today >= person.again_day and self.prefs.every_days == 2

    def _muted_once(self) -> bool:
        return any(label == "mute" for _, label, _ in self.prefs_log)

    # --- a conversation -------------------------------------------------------------------

    def begin(self, intent: Intent, now: datetime) -> InboundEvent:
        self.talking, self.turns = intent, 0
        self.did[intent.label] += 1
        if intent.changes:
            self.change(now, intent.label, **intent.changes)
            if any(key in STOP_ANSWERING for key in intent.changes):
                self.plans = [plan for plan in self.plans if plan.label != "answers a nudge"]
        return intent.event

    def change(self, now: datetime, label: str, **changes: Any) -> None:
        self.prefs = replace(self.prefs, **changes)
        self.prefs_log.append((now, label, self.prefs))

    def new_replies(self) -> list[Reply]:
        replies = [d.reply for d in self.received[self.read :]]
        self.read = len(self.received)
        return replies

    def next_event(
        self, state: str | None, data: dict[str, Any], replies: list[Reply], now: datetime
    ) -> InboundEvent | None:
        """What they answer to what PAU just said (None: the conversation is over)."""
        self.turns += 1
        if state is None or self.turns > MAX_TURNS:
            if self.turns > MAX_TURNS:
                self.notes.append(f"conversation cut after {MAX_TURNS} turns in {state}")
            return None
        current = State(state)
        if current in ACTIVITIES:
            self.studied.add(self.local(now).date())
        if current is State.EXPLAIN_GRADING:  # the grade comes later: put the phone down
            return self._wait_for_grading(now)
        self.waits = 0
        pending = data.get("pending")
        if pending == "delete":
            return tap("yes")
        if pending == "move_reminder":
            return self._answer_move(str(data.get("move_to") or ""), now)
        return answer(current, self.persona, replies, self.rng)

    def _wait_for_grading(self, now: datetime) -> None:
        self.waits += 1
        if self.waits == MAX_WAITS:
            self.notes.append(f"waited for a grade {MAX_WAITS} times")
        if self.waits <= MAX_WAITS:
            self.plans.append(Intent(now + ACT_EVERY, "carries on", WAIT))
        return None

    def _answer_move(self, hour: str, now: datetime) -> InboundEvent:
        self.offers += 1
        if self.persona.accepts_move and hour:
            self.change(now, f"moved to {hour}", daily_time=hour)
            return tap("yes")
        return tap("no")
