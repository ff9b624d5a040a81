"""The month of nudges (tests/simulation, printed in full by bench/nudge_simulation.py) as a
test: every nudge rule holds for simulated learners on the real engine, and the checks
themselves catch a broken rule (each is fed one).

The run here is smaller than the bench's (100 learners in 15-minute steps take minutes): 12
learners, one of each habit, in 12 time zones, the same 30 days from 7 March 2026 (the US,
European and Australian DST changes; silences long enough to go dormant and come back), in
30-minute clock steps (so "within one clock step" means 30 minutes here). One run serves every
rule's test. `-s` prints the per-learner table, the summary and the verdicts.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.replies import Text
from tests.simulation import simulate
from tests.simulation.learners import Delivered, Preferences, SeenNudge, SimLearner
from tests.simulation.people import Habit, persona
from tests.simulation.record import Run
from tests.simulation.report import clock_changes, full_report
from tests.simulation.rules import RULES, Verdict, check_all
from tests.simulation.world import START

SIZE = 12
DAYS = 30
STEP_MINUTES = 30


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, list[Verdict]]:
    directory = tmp_path_factory.mktemp("nudge-simulation")
    run, verdicts = asyncio.run(
        simulate(SIZE, DAYS, step_minutes=STEP_MINUTES, directory=directory)
    )
    print("\n" + full_report(run, verdicts))
    return run, verdicts


def test_the_month_was_lived(month: tuple[Run, list[Verdict]]) -> None:
    """Every habit, the clock changes, nudges of each everyday kind, silence to dormancy, a
    comeback, an offer to move, every setting changed: the rules below were put to the test."""
    run, verdicts = month
    kinds = Counter(n.kind for learner in run.learners for n in learner.nudges)
    assert {learner.persona.habit for learner in run.learners} == set(Habit)
    assert len(clock_changes(run)) >= 3
    assert all(kinds[kind] for kind in ("daily", "inactivity", "streak_at_risk", "weekly_recap"))
    assert any(n.slot.endswith("+14") for learner in run.learners for n in learner.nudges)
    assert any(learner.offers for learner in run.learners)
    labels = {label for learner in run.learners for _, label, _ in learner.prefs_log}
    assert {"fewer", "mute", "pause", "stop", "quiet hours", "deleted"} <= labels
    assert all(verdict.checked for verdict in verdicts)


@pytest.mark.parametrize("rule_name", list(RULES))
def test_no_rule_is_broken(month: tuple[Run, list[Verdict]], rule_name: str) -> None:
    verdict = next(v for v in month[1] if v.rule == rule_name)
    assert [str(broken) for broken in verdict.violations] == []


# --- the checks catch what they check -----------------------------------------------------

BERLIN_DAY = datetime(2026, 3, 10, tzinfo=UTC)  # a Tuesday; Berlin is UTC+1 until 29 March
FIRST_WORDS = BERLIN_DAY - timedelta(hours=12)
BERLINER = replace(persona(1, Habit.CASUAL, 7), city="Berlin", zone="Europe/Berlin",
                   daily_time="09:30")  # fmt: skip


def learner_with(nudges: list[tuple[str, str, datetime]], *, wrote: Sequence[datetime] | None = None,
                 prefs: Preferences | None = None, wording: str = "") -> SimLearner:  # fmt: skip
    """A Berlin learner (daily time 09:30) who received these (kind, slot, at) and wrote back a
    quarter of an hour after each (or at the moments `wrote` gives)."""
    learner = SimLearner(BERLINER, START)
    learner.learner_id = 1
    answers = [at + timedelta(minutes=15) for _, _, at in nudges] if wrote is None else wrote
    learner.wrote = [FIRST_WORDS, *answers]
    asked = prefs or Preferences(daily_time="09:30")
    learner.prefs_log = [(FIRST_WORDS, "set-up", asked)]
    learner.nudges = [
        SeenNudge(at, kind, slot, f"nudge:1:{kind}:{slot}", f"text {number}",
                  wording or f"nudge_{kind}_{number % 3 + 1}", asked, "test")
        for number, (kind, slot, at) in enumerate(nudges)
    ]  # fmt: skip
    learner.received = [Delivered(n.at, Text(n.text)) for n in learner.nudges]
    return learner


def broken_rules(learner: SimLearner, end: datetime | None = None) -> set[str]:
    run = Run([learner], START, end or BERLIN_DAY + timedelta(days=2), timedelta(minutes=15))
    run.keys_in_db = [n.key for n in learner.nudges]
    return {verdict.rule for verdict in check_all(run) if verdict.violations}


def rule(words: str) -> str:
    return next(name for name in RULES if words in name)


def test_a_learner_who_got_everything_right_breaks_nothing() -> None:
    learner = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=8, minute=30)),
                            ("daily", "2026-03-11", BERLIN_DAY.replace(day=11, hour=8, minute=30))])  # fmt: skip
    assert broken_rules(learner) == set()


def test_the_checks_catch_quiet_hours_the_cap_and_a_paused_learner() -> None:
    late = learner_with([("streak_at_risk", "2026-03-10", BERLIN_DAY.replace(hour=21))])
    assert rule("quiet hours") in broken_rules(late)  # 22:00 in Berlin
    three = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=8, minute=30)),
                          ("milestone", "streak_7", BERLIN_DAY.replace(hour=12)),
                          ("streak_at_risk", "2026-03-10", BERLIN_DAY.replace(hour=18))])  # fmt: skip
    assert rule("at most 2") in broken_rules(three)
    paused = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=8, minute=30))],
                          prefs=Preferences(daily_time="09:30", paused=True))  # fmt: skip
    assert rule("paused") in broken_rules(paused)


def test_the_checks_catch_a_duplicate_and_the_same_wording_twice() -> None:
    twice = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=8, minute=30)),
                          ("daily", "2026-03-10", BERLIN_DAY.replace(hour=11, minute=30))])  # fmt: skip
    assert rule("duplicated") in broken_rules(twice)
    same = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=8, minute=30)),
                         ("daily", "2026-03-11", BERLIN_DAY.replace(day=11, hour=8, minute=30))],
                        wording="nudge_daily_2")  # fmt: skip
    assert rule("wording") in broken_rules(same)


def test_the_checks_catch_a_reminder_at_the_wrong_time_dst_included() -> None:
    early = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=8))])
    assert rule("reminder time") in broken_rules(early)  # 09:00 local, asked for 09:30
    late = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=10))])
    assert rule("reminder time") in broken_rules(late)  # 11:00 local, nothing held it up
    chatting = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=8, minute=45))],
                            wrote=[BERLIN_DAY.replace(hour=8, minute=20)])  # fmt: skip
    assert rule("reminder time") not in broken_rules(chatting)  # they were writing at 09:20
    summer = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # 09:30 in Berlin, now UTC+2
    assert rule("reminder time") not in broken_rules(
        learner_with([("daily", "2026-03-30", summer)]), end=summer + timedelta(days=1)
    )
    winter_hour = learner_with([("daily", "2026-03-30", summer + timedelta(hours=1))])
    assert rule("reminder time") in broken_rules(winter_hour, end=summer + timedelta(days=1))


def test_the_checks_catch_a_missing_silence_nudge_and_one_while_dormant() -> None:
    silent_since = BERLIN_DAY.replace(hour=9)  # then nothing for three weeks
    end = silent_since + timedelta(days=21)
    reminder = BERLIN_DAY.replace(hour=8, minute=30)
    steps = [("inactivity", f"2026-03-10+{days}", reminder + timedelta(days=days))
             for days in (2, 4, 7, 14)]  # fmt: skip
    all_four = learner_with(steps, wrote=[silent_since])
    assert broken_rules(all_four, end) == set()
    assert rule("silence") not in broken_rules(all_four, end)
    assert rule("silence") in broken_rules(learner_with(steps[:3], wrote=[silent_since]), end)
    dormant = [*steps, ("daily", "2026-03-27", reminder + timedelta(days=17))]
    assert rule("silence") in broken_rules(learner_with(dormant, wrote=[silent_since]), end)


def test_the_checks_catch_fewer_reminders_not_being_fewer() -> None:
    every_other = Preferences(daily_time="09:30", every_days=2)
    daily = learner_with([("daily", "2026-03-10", BERLIN_DAY.replace(hour=8, minute=30)),
                          ("daily", "2026-03-11", BERLIN_DAY.replace(day=11, hour=8, minute=30))],
                         prefs=every_other)  # fmt: skip
    assert rule("Fewer") in broken_rules(daily)
