"""The nudge rule book (DESIGN.md §7). Pure: the sweep, the dialogue step (which checks again when
a nudge is about to go out), `pau nudge --dry-run` and the tests all ask the same function.

Hard rules first, in this order: consent, stopped, reminders off, paused, unreachable, dormant,
quiet hours (default 21:00-08:00 local), the learner is chatting right now, at least three hours
between two nudges, at most DAILY_CAP a local day. Then what is due, most important first:
  1. at the reminder time (or up to three hours later, when something held it up), after 2, 4, 7
     and 14 days of silence, an inactivity nudge (and no daily reminder meanwhile); after the
     last one the learner is dormant until they write;
  2. at the reminder time on Sundays, the weekly recap (for those active in the last 7 days): it
     is that day's reminder;
  3. at the reminder time, the session reminder (every `every_days` days; it names the due
     reviews), or a review reminder when today's session is done but reviews are due;
  4. a milestone earned but not celebrated yet (mastery 50/80/100 %, 7- and 30-day streaks);
  5. two hours before quiet hours, streak at risk: a streak of 2+ days, nothing done today (not
     before a later reminder time that day: the reminder goes instead).
The reminder time is the learner's daily time, or the end of quiet hours when they chose a time
inside them. All times are the learner's local time through zoneinfo, so DST changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.learner import Profile
from core.motivation import MotivationState, current_streak
from core.nudges.state import NudgeKind, NudgeState

DAILY_CAP = 2  # business-initiated messages a local day
INACTIVE_STEPS = (2, 4, 7, 14)  # days of silence; after the last nudge, dormant
RECAP_WEEKDAY = 6  # Sunday
EVENING_BEFORE_QUIET = timedelta(hours=2)  # streak at risk: 19:00 with the default quiet hours
EVENING_WITHOUT_QUIET = time(19, 0)
REMINDER_WINDOW = timedelta(hours=3)  # a reminder held up (chatting, a sweep outage) may go later
CHATTING = timedelta(minutes=30)  # they wrote this recently: they are here, no nudge
MIN_GAP = timedelta(hours=3)
MIN_STREAK_AT_RISK = 2
MILESTONES = ("mastery_100", "streak_30", "mastery_80", "streak_7", "mastery_50")


@dataclass(frozen=True)
class Facts:
    """What the rules look at, for one learner."""

    profile: Profile
    nudging: NudgeState
    motivation: MotivationState
    last_seen: datetime | None = None  # their last message
    due_reviews: int = 0
    reachable: bool = True


@dataclass(frozen=True)
class Nudge:
    kind: NudgeKind
    slot: str  # which one: the local day, the ISO week, the milestone, the silence step

    def key(self, learner_id: int) -> str:
        """One nudge per learner, kind and slot, ever: the dedupe key of its internal event."""
        return f"nudge:{learner_id}:{self.kind}:{self.slot}"


@dataclass(frozen=True)
class Decision:
    nudge: Nudge | None
    reason: str  # why (or why nothing), in words, for `pau nudge --dry-run` and the logs
    next_at: datetime | None  # when to ask again (UTC); None: not before the learner does something


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def clock_time(text: str, default: time = time(8, 0)) -> time:
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return default


def in_quiet(moment: time, nudging: NudgeState) -> bool:
    start, end = clock_time(nudging.quiet_from), clock_time(nudging.quiet_until)
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def reminder_time(profile: Profile, nudging: NudgeState) -> time:
    chosen = clock_time(profile.daily_time)
    return clock_time(nudging.quiet_until) if in_quiet(chosen, nudging) else chosen


def evening_time(nudging: NudgeState) -> time:
    start = clock_time(nudging.quiet_from)
    if start == clock_time(nudging.quiet_until):
        return EVENING_WITHOUT_QUIET
    return (datetime.combine(date(2000, 1, 2), start) - EVENING_BEFORE_QUIET).time()


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone)


def _next_local(local: datetime, moment: time) -> datetime:
    """The next time the wall clock shows `moment`, strictly after `local`."""
    zone = local.tzinfo
    assert isinstance(zone, ZoneInfo)
    candidate = _at(local.date(), moment, zone)
    while candidate.astimezone(UTC) <= local.astimezone(UTC):
        candidate = _at(candidate.date() + timedelta(days=1), moment, zone)
    return candidate


def blocked(facts: Facts) -> str:
    """Why this learner gets no nudge at all, or ""."""
    profile = facts.profile
    if not profile.consented:
        return "no consent"
    if profile.stopped:
        return "stopped (unsubscribed)"
    if not profile.nudges:
        return "reminders are off"
    if profile.paused:
        return "paused"
    if not facts.reachable:
        return "unreachable (blocked the bot)"
    if not profile.daily_time or not profile.course_slug:
        return "set-up not finished"
    return ""


def seen_day(facts: Facts, zone: ZoneInfo) -> date | None:
    return facts.last_seen.astimezone(zone).date() if facts.last_seen else None


def silence_days(facts: Facts, local: datetime) -> int:
    seen = seen_day(facts, local.tzinfo)  # type: ignore[arg-type]
    return (local.date() - seen).days if seen else 0


def _inactivity_slot(facts: Facts, local: datetime, step: int) -> str:
    seen = seen_day(facts, local.tzinfo)  # type: ignore[arg-type]
    return f"{seen.isoformat() if seen else ''}+{step}"


def _inactivity_step_sent(facts: Facts, local: datetime) -> int:
    """The last silence step already nudged for the current silence (0: none)."""
    slot = facts.nudging.slots.get(NudgeKind.INACTIVITY, "")
    seen, _, step = slot.partition("+")
    current_seen = _inactivity_slot(facts, local, 0).partition("+")[0]
    return int(step) if seen == current_seen and step.isdigit() else 0


def is_dormant(facts: Facts, local: datetime) -> bool:
    return _inactivity_step_sent(facts, local) >= INACTIVE_STEPS[-1]


def untold_milestone(facts: Facts) -> str:
    earned = set(facts.motivation.badges) - set(facts.nudging.told)
    return next((badge for badge in MILESTONES if badge in earned), "")


def decide(facts: Facts, now: datetime) -> Decision:
    """What this learner should get now, if anything, why, and when to ask again."""
    reason = blocked(facts)
    if reason:
        return Decision(None, reason, None)
    nudging = facts.nudging
    local = now.astimezone(zone_of(facts.profile.timezone))
    if is_dormant(facts, local):
        since = seen_day(facts, local.tzinfo)  # type: ignore[arg-type]
        return Decision(None, f"dormant: silent since {since} after {len(INACTIVE_STEPS)} "
                              "inactivity nudges (any message revives)", None)  # fmt: skip
    if in_quiet(local.time(), nudging):  # the next look: when something can be due after them
        reason = f"quiet hours until {nudging.quiet_until} local"
        return Decision(None, reason, _next_moment(facts, local))
    if facts.last_seen is not None and timedelta(0) <= now - facts.last_seen < CHATTING:
        return Decision(None, "chatting right now", facts.last_seen + CHATTING)
    last = nudging.last_sent
    if last is not None and now - last < MIN_GAP:
        shown = last.astimezone(local.tzinfo).strftime("%H:%M")
        gap_over = _out_of_quiet((last + MIN_GAP).astimezone(local.tzinfo), nudging)
        return Decision(None, f"a nudge went out at {shown} local", _utc(gap_over))
    today = local.date()
    if nudging.sent_on(today.isoformat()) >= DAILY_CAP:
        tomorrow = _at(today + timedelta(days=1), time(0, 0), local.tzinfo)  # type: ignore[arg-type]
        return Decision(None, f"daily cap: {DAILY_CAP} nudges today already",
                        _next_moment(facts, tomorrow - timedelta(seconds=1)))  # fmt: skip
    nudge, why = _due(facts, local)
    if nudge is not None:
        return Decision(nudge, why, now)
    return Decision(None, why, _next_moment(facts, local))


def next_check(facts: Facts, now: datetime) -> datetime | None:
    """When the sweep should look at this learner next (now, if something is due)."""
    return decide(facts, now).next_at


def _due(facts: Facts, local: datetime) -> tuple[Nudge | None, str]:
    nudging, motivation = facts.nudging, facts.motivation
    today = local.date()
    reminder, reason = _at_reminder_time(facts, local)
    if reminder is not None:
        return reminder, reason
    milestone = untold_milestone(facts)
    if milestone:
        return Nudge(NudgeKind.MILESTONE, milestone), f"milestone {milestone} not celebrated yet"
    if _streak_time(facts, local) and nudging.slots.get(NudgeKind.STREAK) != str(today):
        streak = current_streak(motivation, today)
        active_yesterday = motivation.last_active_day == today - timedelta(days=1)
        if active_yesterday and streak >= MIN_STREAK_AT_RISK:
            return Nudge(NudgeKind.STREAK, str(today)), f"{streak}-day streak, nothing done today"
    return None, reason


def _streak_time(facts: Facts, local: datetime) -> bool:
    """The evening, but not before a later reminder still to come today (it goes instead)."""
    if local.time() < evening_time(facts.nudging):
        return False
    reminder_at = reminder_time(facts.profile, facts.nudging)
    reminded = facts.nudging.last_reminder_day == local.date().isoformat()
    return reminded or local.time() >= reminder_at or reminder_at < evening_time(facts.nudging)


def _at_reminder_time(facts: Facts, local: datetime) -> tuple[Nudge | None, str]:
    """The day's one message at the reminder time: a silence step, the Sunday recap, or the
    session (or review) reminder."""
    reminder_at = reminder_time(facts.profile, facts.nudging)
    reason = f"nothing due (reminder at {reminder_at:%H:%M} local)"
    since_reminder = local - _at(local.date(), reminder_at, local.tzinfo)  # type: ignore[arg-type]
    if not timedelta(0) <= since_reminder < REMINDER_WINDOW:
        return None, reason
    silent = silence_days(facts, local)
    step = max((s for s in INACTIVE_STEPS if s <= silent), default=0)
    if step and _inactivity_step_sent(facts, local) < step:
        slot = _inactivity_slot(facts, local, step)
        return Nudge(NudgeKind.INACTIVITY, slot), f"silent for {silent} days"
    recap = _recap(facts, local)
    if recap is not None:
        return recap, "Sunday: the weekly recap (today's reminder)"
    if step:
        later = [s for s in INACTIVE_STEPS if s > silent]
        return None, f"silent for {silent} days: the next nudge after {later[0]} days"
    return _reminder(facts, local.date())


def _recap(facts: Facts, local: datetime) -> Nudge | None:
    if local.weekday() != RECAP_WEEKDAY:
        return None
    year, week, _ = local.isocalendar()
    slot = f"{year}-W{week:02d}"
    last_active = facts.motivation.last_active_day
    active = last_active is not None and (local.date() - last_active).days < 7
    if not active or facts.nudging.slots.get(NudgeKind.RECAP) == slot:
        return None
    return Nudge(NudgeKind.RECAP, slot)


def _reminder(facts: Facts, today: date) -> tuple[Nudge | None, str]:
    nudging = facts.nudging
    if nudging.last_reminder_day == str(today):  # a session or review reminder, or the recap
        return None, "reminded today already"
    if nudging.last_reminder_day and nudging.every_days > 1:
        since = (today - date.fromisoformat(nudging.last_reminder_day)).days
        if since < nudging.every_days:
            return None, f"reminders every {nudging.every_days} days (fewer reminders)"
    if facts.motivation.last_active_day != today:
        due = f", {facts.due_reviews} reviews due" if facts.due_reviews else ""
        return Nudge(NudgeKind.DAILY, str(today)), f"reminder time{due}"
    if facts.due_reviews:
        return Nudge(NudgeKind.REVIEWS, str(today)), f"{facts.due_reviews} reviews due"
    return None, "today's session done, no reviews due"


def _next_moment(facts: Facts, local: datetime) -> datetime:
    """The next moment, after `local`, at which something could become due (out of quiet hours)."""
    nudging = facts.nudging
    moments = [_next_local(local, reminder_time(facts.profile, nudging))]
    if facts.motivation.streak >= MIN_STREAK_AT_RISK:
        moments.append(_next_local(local, evening_time(nudging)))
    if untold_milestone(facts):
        moments.append(local + timedelta(minutes=1))
    return min(_utc(_out_of_quiet(moment, nudging)) for moment in moments)


def _out_of_quiet(local: datetime, nudging: NudgeState) -> datetime:
    if not in_quiet(local.time(), nudging):
        return local
    return _next_local(local, clock_time(nudging.quiet_until))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
