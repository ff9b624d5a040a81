"""The nudge rules about time and habits: the reminder time (DST included), fewer reminders,
silence and dormancy, coming back, the offer to move the reminder, keen learners' every day,
conversations that end, settings kept."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from tests.simulation.checks import (
    AT_REMINDER_TIME,
    CHATTING,
    GAP,
    OFFER_AFTER,
    REMINDERS,
    SILENCE_STEPS,
    Violation,
    reminder_time,
    violation,
)
from tests.simulation.learners import SeenNudge, SimLearner
from tests.simulation.people import Habit
from tests.simulation.record import Run


def slot_day(n: SeenNudge) -> date:
    if n.kind == "inactivity":
        seen, _, days = n.slot.partition("+")
        return date.fromisoformat(seen) + timedelta(days=int(days))
    if n.kind == "weekly_recap":
        year, week = n.slot.split("-W")
        return date.fromisocalendar(int(year), int(week), 7)
    return date.fromisoformat(n.slot)


def due_moment(learner: SimLearner, n: SeenNudge) -> datetime:
    return datetime.combine(slot_day(n), reminder_time(n.prefs), tzinfo=learner.zone)


def held_until(learner: SimLearner, n: SeenNudge, due: datetime) -> datetime:
    """The latest moment the rules could hold a reminder due at `due`: the learner chatting
    (30 minutes after their last message) or another nudge shortly before (3 hours' gap)."""
    latest = due
    for wrote in learner.wrote:
        if due - CHATTING < wrote <= n.at:
            latest = max(latest, wrote + CHATTING)
    for other in learner.nudges:
        if other.at < n.at and other.at + GAP > due:
            latest = max(latest, other.at + GAP)
    return latest


def at_the_reminder_time(run: Run) -> tuple[int, list[Violation]]:
    """Daily reminders, inactivity nudges and recaps come at the learner's reminder time, in
    their local time, within one clock step (later only while the chatting or gap rule holds)."""
    broken, checked = [], 0
    for learner in run.learners:
        for n in learner.nudges:
            if n.kind not in AT_REMINDER_TIME:
                continue
            checked += 1
            due = due_moment(learner, n)
            latest = held_until(learner, n, due) + run.step
            if not due <= n.at < latest:
                expected = f"{due.astimezone(learner.zone):%m-%d %H:%M}"
                broken.append(
                    violation(run, learner, n.at, f"{n.kind} {n.slot} due at {expected} local", due)
                )
    return checked, broken


def fewer_means_fewer(run: Run) -> tuple[int, list[Violation]]:
    """After "Fewer reminders", session reminders come every 2 (then 4) days, no more often."""
    broken, checked = [], 0
    for learner in run.learners:
        reminders = [n for n in learner.nudges if n.kind in REMINDERS]
        for before, after in itertools.pairwise(reminders):
            every = after.prefs.every_days
            if every == 1:
                continue
            checked += 1
            days = (learner.local(after.at).date() - learner.local(before.at).date()).days
            if days < every:
                broken.append(
                    violation(
                        run,
                        learner,
                        after.at,
                        f"a reminder {days} days after the last, every {every} asked",
                    )
                )
    return checked, broken


def silences(learner: SimLearner, end: datetime) -> list[tuple[datetime, datetime]]:
    """(their last message, their next one or the end of the run), for gaps of a day or more."""
    times = [*sorted(set(learner.wrote)), end]
    return [(a, b) for a, b in itertools.pairwise(times) if b - a >= timedelta(days=1)]


def silence_is_answered_then_left_alone(run: Run) -> tuple[int, list[Violation]]:
    """Silent learners: an inactivity nudge after 2, 4, 7 and 14 days of silence, on those days,
    no daily reminder meanwhile, nothing after the last until they write (dormant)."""
    broken, checked = [], 0
    for learner in run.learners:
        for began, ended in silences(learner, run.end):
            prefs = learner.prefs_at(began)
            if prefs.why_none():
                continue
            checked += 1
            seen_day = learner.local(began).date()
            within = [n for n in learner.nudges if began < n.at < ended]
            slots = {n.slot: n for n in within if n.kind == "inactivity"}
            for step in SILENCE_STEPS:
                day = seen_day + timedelta(days=step)
                due = datetime.combine(day, reminder_time(prefs), tzinfo=learner.zone)
                slot = f"{seen_day}+{step}"
                nudge = slots.pop(slot, None)
                if nudge is None and due + GAP + run.step < ended:
                    broken.append(
                        violation(run, learner, due + GAP, f"no inactivity nudge {slot}", due)
                    )
                elif nudge is not None and learner.local(nudge.at).date() != day:
                    broken.append(
                        violation(run, learner, nudge.at, f"inactivity {slot} not on {day}", due)
                    )
            broken += [violation(run, learner, n.at, f"inactivity {n.slot} unexpected")
                       for n in slots.values()]  # fmt: skip
            last = next((n for n in within if n.slot == f"{seen_day}+{SILENCE_STEPS[-1]}"), None)
            after = [n for n in within if last is not None and n.at > last.at]
            broken += [violation(run, learner, n.at, f"{n.kind} while dormant") for n in after]
            daily = [n for n in within if n.kind == "daily"
                     and (learner.local(n.at).date() - seen_day).days >= SILENCE_STEPS[0]]  # fmt: skip
            broken += [violation(run, learner, n.at, "daily reminder while silent") for n in daily]
    return checked, broken


def revived_learners_hear_again(run: Run) -> tuple[int, list[Violation]]:
    """A learner nudged for silence (dormant or not) who writes again hears from PAU again
    (the recap, the reminders, a new round of silence nudges) within two days, unless they
    turn nudges off first."""
    broken, checked = [], 0
    for learner in run.learners:
        for began, ended in silences(learner, run.end):
            nudged = any(n.kind == "inactivity" and began < n.at < ended for n in learner.nudges)
            blocked = [at for at, _, prefs in learner.prefs_log if at >= ended and prefs.why_none()]
            until = min([run.end, *blocked])
            if not nudged or until - ended < timedelta(days=2):
                continue
            checked += 1
            if not any(ended < n.at < until for n in learner.nudges):
                broken.append(violation(run, learner, ended, "wrote again, no nudge since"))
    return checked, broken


def one_offer_to_move(run: Run) -> tuple[int, list[Violation]]:
    """Self-starters get the offer to move their reminder to their own hour, once (after
    four sessions or so at that hour); nobody gets it twice."""
    broken, checked = [], 0
    for learner in run.learners:
        own = learner.did["own session"]
        wanted = learner.persona.habit is Habit.SELF_STARTER and own > OFFER_AFTER
        checked += wanted or learner.offers > 0
        if learner.offers > 1 or (wanted and learner.offers != 1):
            broken.append(
                Violation(learner.persona.user_id, None, "-", f"{learner.offers} offers to move")
            )
    return checked, broken


def keen_learners_hear_every_day(run: Run) -> tuple[int, list[Violation]]:
    """Keen learners (who only study when reminded) hear from PAU every local day, but for the
    days of a silence that are not 2, 4, 7 or 14 days long."""
    broken, checked = [], 0
    for learner in run.learners:
        if learner.persona.habit is not Habit.KEEN:
            continue
        last = learner.local(run.end).date() - timedelta(days=1)
        heard = {learner.local(n.at).date() for n in learner.nudges} | learner.studied
        wrote_on = sorted({learner.local(at).date() for at in learner.wrote})
        day = learner.day0 + timedelta(days=1)
        while day <= last:
            silent = (day - max(d for d in wrote_on if d < day)).days
            checked += silent in (1, *SILENCE_STEPS)
            if silent in (1, *SILENCE_STEPS) and day not in heard:
                day_end = datetime.combine(day, time(23, 59), tzinfo=learner.zone)
                broken.append(violation(run, learner, day_end, f"nothing on {day}"))
            day += timedelta(days=1)
    return checked, broken


STUCK = ("conversation cut", "waited for a grade")


def nobody_stuck(run: Run) -> tuple[int, list[Violation]]:
    """Every conversation comes to an end: no loop, no grade that never comes."""
    broken = [
        Violation(learner.persona.user_id, None, "-", note)
        for learner in run.learners
        for note in learner.notes
        if note.startswith(STUCK)
    ]
    return sum(sum(learner.did.values()) for learner in run.learners), broken


def settings_kept(run: Run) -> tuple[int, list[Violation]]:
    """What each learner asked for (time, zone, quiet hours, fewer, off, pause, stop, delete)
    is what PAU keeps, and no message went to an address nobody has."""
    broken = [Violation(user, at, "-", what) for at, user, what in run.mismatches]
    broken += [Violation(address, at, "-", "a message to nobody") for at, address in run.strays]
    asked = sum(len(learner.prefs_log) for learner in run.learners)
    return asked + len(run.learners), broken
