"""What the simulation prints: a line per learner (nudges received by kind), a summary, the
clock changes it lived through, and each rule with what it checked and what broke."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from tests.simulation.checks import AT_REMINDER_TIME, Verdict, Violation, reminder_time
from tests.simulation.learners import SimLearner
from tests.simulation.record import Run

KINDS = ("daily", "reviews", "inactivity", "streak_at_risk", "milestone", "weekly_recap")
SHORT = ("daily", "review", "inact", "streak", "milest", "recap")
SHOWN_VIOLATIONS = 12


LONG_SILENCE = timedelta(days=4)


def notes(learner: SimLearner) -> str:
    """What they did and what came of it, by day since set-up: settings, long silences,
    dormancy, offers to move the reminder."""
    said = [
        f"d{learner.day(at)} {label}" for at, label, _ in learner.prefs_log if label != "set-up"
    ]
    wrote = sorted(set(learner.wrote))
    gaps = [(a, b) for a, b in itertools.pairwise(wrote) if b - a >= LONG_SILENCE]
    said += [f"silent d{learner.day(a)}-d{learner.day(b)}" for a, b in gaps]
    if wrote and learner.persona.habit.value in ("goes silent", "comes back"):
        said.append(f"last wrote d{learner.day(wrote[-1])}")
    last = [n for n in learner.nudges if n.kind == "inactivity" and n.slot.endswith("+14")]
    said += [f"dormant d{learner.day(n.at)}" for n in last]
    if learner.offers:
        said.append(f"{learner.offers} move offer")
    said += learner.notes
    return ", ".join(said)


def learner_table(run: Run) -> str:
    header = f"{'id':8} {'time zone':20} {'daily':5} {'habit':13} " + " ".join(
        f"{name:>6}" for name in SHORT
    ) + f" {'total':>5}  notes"  # fmt: skip
    lines = [header, "-" * len(header)]
    for learner in run.learners:
        counts = Counter(n.kind for n in learner.nudges)
        person = learner.persona
        cells = " ".join(f"{counts.get(kind, 0):>6}" for kind in KINDS)
        lines.append(f"{person.user_id:8} {person.zone:20} {person.daily_time:5} "
                     f"{person.habit.value:13} {cells} {len(learner.nudges):>5}  {notes(learner)}")  # fmt: skip
    return "\n".join(lines)


def clock_changes(run: Run) -> list[tuple[str, date, str]]:
    """(zone, local day, "+11:00 -> +10:00") for every DST change inside the run."""
    changes = []
    for name in sorted({learner.persona.zone for learner in run.learners}):
        zone = ZoneInfo(name)
        moment, before = run.start, run.start.astimezone(zone).utcoffset()
        while moment < run.end:
            moment += timedelta(minutes=30)
            after = moment.astimezone(zone).utcoffset()
            if after != before:
                shown = f"{_offset(before)} -> {_offset(after)}"
                changes.append((name, moment.astimezone(zone).date(), shown))
                before = after
    return changes


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def on_change_days(run: Run) -> list[str]:
    """Nudges due at the reminder time on a DST change day or the day after, per zone."""
    lines = []
    for name, day, shown in clock_changes(run):
        learners = [lr for lr in run.learners if lr.persona.zone == name]
        count = sum(
            1 for learner in learners for n in learner.nudges
            if n.kind in AT_REMINDER_TIME and learner.local(n.at).date() in (day, day + timedelta(days=1))
        )  # fmt: skip
        lines.append(f"  {name:20} {day} {shown}: {count} reminders due at the reminder time "
                     f"on that day and the next, among {len(learners)} learners")  # fmt: skip
    return lines


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def weekdays(run: Run) -> list[tuple[str, int]]:
    """Daily reminders by the learner's local weekday (Sunday's is the recap's)."""
    days = Counter(
        learner.local(n.at).weekday()
        for learner in run.learners
        for n in learner.nudges
        if n.kind == "daily"
    )
    return [(name, days.get(number, 0)) for number, name in enumerate(WEEKDAYS)]


def streak_before_reminder(run: Run) -> str:
    """Streak-at-risk nudges sent before the learner's own reminder time that day (an evening
    reminder time after the streak hour): the 3-hour gap then keeps that day's reminder away."""
    early = {
        learner.persona.user_id: sum(
            1 for n in learner.nudges
            if n.kind == "streak_at_risk" and learner.local(n.at).time() < reminder_time(n.prefs)
        )
        for learner in run.learners
    }  # fmt: skip
    hit = {user: count for user, count in early.items() if count}
    daily = sum(
        1 for learner in run.learners if learner.persona.user_id in hit
        for n in learner.nudges if n.kind == "daily"
    )  # fmt: skip
    return (f"streak-at-risk nudges before the learner's own reminder time: {sum(hit.values())}, "
            f"to {len(hit)} learners (who got {daily} daily reminders in all)")  # fmt: skip


def summary(run: Run) -> str:
    kinds = Counter(n.kind for learner in run.learners for n in learner.nudges)
    total = sum(kinds.values())
    by_habit: dict[str, list[int]] = {}
    for learner in run.learners:
        by_habit.setdefault(learner.persona.habit.value, []).append(len(learner.nudges))
    days = (run.end - run.start) / timedelta(days=1)
    lines = [
        f"{len(run.learners)} learners, {days:g} days from {run.start:%Y-%m-%d %H:%M}Z, "
        f"{run.steps} clock steps of {run.step / timedelta(minutes=1):g} min, {run.sweeps} sweeps",
        f"learner messages {run.messages_in}, PAU messages {run.messages_out}, nudges {total}: "
        + ", ".join(f"{kind} {kinds.get(kind, 0)}" for kind in KINDS),
        "nudges per learner by habit: " + ", ".join(
            f"{habit} {sum(c) / len(c):.1f}" for habit, c in sorted(by_habit.items())
        ),
        "daily reminders by local weekday: " + ", ".join(
            f"{name} {count}" for name, count in weekdays(run)
        ),
        streak_before_reminder(run),
        f"nudge events the step did not send (rules changed after the sweep): {len(run.withheld)}",
        *(f"  {at:%m-%d %H:%M}Z {key}: {why}" for at, key, why in run.withheld[:SHOWN_VIOLATIONS]),
        "clock changes inside the run:",
        *on_change_days(run),
        f"wall time {run.seconds:.1f} s ({run.seconds / max(run.steps, 1) * 1000:.1f} ms a step"
        + (f", the slowest of {run.shares} processes)" if run.shares > 1 else ")"),
    ]  # fmt: skip
    return "\n".join(lines)


def common_reasons(violations: list[Violation]) -> str:
    """The sweep's first words when the breaks began, the most frequent first: one cause
    behind many breaks shows up here."""
    said = Counter(
        re.sub(r"\d+", "#", broken.reason.split(" (sweep")[0])
        for broken in violations
        if broken.reason
    )
    return "; ".join(f"{count}x {reason!r}" for reason, count in said.most_common(3))


def verdicts(results: list[Verdict]) -> str:
    lines = []
    for verdict in results:
        mark = "ok    " if not verdict.violations else "BROKEN"
        lines.append(f"{mark} {verdict.rule} ({verdict.checked} checked, "
                     f"{len(verdict.violations)} broken)")  # fmt: skip
        if verdict.violations:
            lines.append(f"         the sweep said first: {common_reasons(verdict.violations)}")
        for broken in verdict.violations[:SHOWN_VIOLATIONS]:
            lines.append(f"         {broken}")
        if len(verdict.violations) > SHOWN_VIOLATIONS:
            lines.append(f"         ... and {len(verdict.violations) - SHOWN_VIOLATIONS} more")
    return "\n".join(lines)


def full_report(run: Run, results: list[Verdict]) -> str:
    return "\n\n".join((learner_table(run), summary(run), verdicts(results)))
