"""The nudge rules, checked against what the simulated learners received and asked for: here the
rules about each nudge (quiet hours, the cap, settings, exactly once, wording); in
rules_over_time.py those about when and how often (the reminder time, silence, fewer, habits).
Each check returns how many things it looked at and what broke.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from tests.simulation.checks import (
    CAP,
    Check,
    Verdict,
    Violation,
    nudges_of,
    quiet_now,
    violation,
)
from tests.simulation.learners import SeenNudge
from tests.simulation.record import Run
from tests.simulation.rules_over_time import (
    at_the_reminder_time,
    fewer_means_fewer,
    keen_learners_hear_every_day,
    nobody_stuck,
    one_offer_to_move,
    revived_learners_hear_again,
    settings_kept,
    silence_is_answered_then_left_alone,
)

__all__ = ["RULES", "Verdict", "Violation", "check_all"]


def no_nudge_in_quiet_hours(run: Run) -> tuple[int, list[Violation]]:
    seen = nudges_of(run)
    broken = [
        violation(run, learner, n.at, f"{n.kind} in quiet hours {'-'.join(n.prefs.quiet)}")
        for learner, n in seen
        if quiet_now(learner.local(n.at).time(), n.prefs.quiet)
    ]
    return len(seen), broken


def at_most_two_a_day(run: Run) -> tuple[int, list[Violation]]:
    broken, days = [], 0
    for learner in run.learners:
        per_day: dict[date, list[SeenNudge]] = defaultdict(list)
        for n in learner.nudges:
            per_day[learner.local(n.at).date()].append(n)
        days += len(per_day)
        for day, sent in sorted(per_day.items()):
            if len(sent) > CAP:
                kinds = ", ".join(f"{n.kind} {learner.local(n.at):%H:%M}" for n in sent)
                broken.append(
                    violation(run, learner, sent[-1].at, f"{len(sent)} on {day}: {kinds}")
                )
    return days, broken


def nothing_when_they_said_no(run: Run) -> tuple[int, list[Violation]]:
    """No nudge while paused, stopped or with reminders off; nothing at all after deletion."""
    seen = nudges_of(run)
    broken = [
        violation(run, learner, n.at, f"{n.kind} while {n.prefs.why_none()}")
        for learner, n in seen
        if n.prefs.why_none()
    ]
    checked = len(seen)
    for learner in run.learners:
        deleted = [at for at, label, _ in learner.prefs_log if label == "deleted"]
        if deleted:
            after = [d for d in learner.received if d.at > deleted[0]]
            checked += 1
            broken += [violation(run, learner, d.at, "a message after deletion") for d in after]
    return checked, broken


def exactly_once(run: Run) -> tuple[int, list[Violation]]:
    """Every nudge came from its own event, and no learner, kind and slot came twice."""
    seen = nudges_of(run)
    broken = []
    for learner in run.learners:
        for key, times in Counter(n.key for n in learner.nudges).items():
            if times > 1:
                first = next(n for n in learner.nudges if n.key == key)
                broken.append(violation(run, learner, first.at, f"{key} received {times} times"))
    stored = Counter(run.keys_in_db)
    broken += [Violation(key, None, "-", f"key stored {count} times")
               for key, count in stored.items() if count > 1]  # fmt: skip
    broken += [Violation(user, at, "-", f"a nudge with no nudge event: {text[:60]!r}")
               for at, user, text in run.orphans]  # fmt: skip
    missing = [(learner, n) for learner, n in seen if n.key not in stored]
    broken += [violation(run, learner, n.at, f"{n.key} not stored") for learner, n in missing]
    return len(seen), broken


def never_the_same_wording_twice(run: Run) -> tuple[int, list[Violation]]:
    """Two nudges in a row never read the same; two of one kind in a row never come from the
    same catalog text (kinds with a single text: milestones, the recap, the last inactivity)."""
    broken, checked = [], 0
    for learner in run.learners:
        last_of_kind: dict[str, SeenNudge] = {}
        previous: SeenNudge | None = None
        for n in learner.nudges:
            checked += 1
            if n.wording == "?":
                broken.append(violation(run, learner, n.at, f"{n.kind}: text of no catalog key"))
            before = last_of_kind.get(n.kind)
            varied = n.wording.rsplit("_", 1)[-1].isdigit()
            if before is not None and varied and before.wording == n.wording:
                broken.append(
                    violation(run, learner, n.at, f"{n.kind} worded as {n.wording} twice running")
                )
            if previous is not None and previous.text == n.text:
                broken.append(
                    violation(run, learner, n.at, f"the same text twice running: {n.text[:50]!r}")
                )
            last_of_kind[n.kind], previous = n, n
    return checked, broken


# --- timing -------------------------------------------------------------------------------


RULES: dict[str, Check] = {
    "no nudge in the learner's quiet hours (local, as set then)": no_nudge_in_quiet_hours,
    "at most 2 nudges per learner per local day": at_most_two_a_day,
    "none while paused, stopped, reminders off; nothing after deletion": nothing_when_they_said_no,
    "no nudge duplicated (learner, kind, slot), each from its own event": exactly_once,
    "never the same wording twice in a row": never_the_same_wording_twice,
    "daily, inactivity and recap at the reminder time (local, DST too)": at_the_reminder_time,
    "'Fewer reminders': every 2, then 4 days": fewer_means_fewer,
    "silence: inactivity at 2/4/7/14 days, then dormant": silence_is_answered_then_left_alone,
    "revived learners get reminders again": revived_learners_hear_again,
    "self-starters get the offer to move the reminder, once": one_offer_to_move,
    "keen learners hear from PAU every day": keen_learners_hear_every_day,
    "PAU keeps the settings each learner asked for": settings_kept,
    "every conversation ends (no loop, no grade that never comes)": nobody_stuck,
}


def check_all(run: Run) -> list[Verdict]:
    verdicts = []
    for name, check in RULES.items():
        checked, broken = check(run)
        verdicts.append(Verdict(name, checked, broken))
    return verdicts
