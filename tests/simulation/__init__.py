"""A month of nudges on the real engine: simulated learners with habits and time zones onboard
through real messages, live 30 days on a clock moved in steps, and the nudge rules are checked
against what reached them (issue 10). `bench/nudge_simulation.py` prints it;
`tests/test_nudge_simulation.py` asserts it.

    people.py            who: habits, cities, daily times (deterministic)
    learners.py          a learner: what they asked for, what they received, what they do next
    answers.py           how they answer PAU's questions (set-up, lesson, quiz, reflection)
    world.py             PAU on a SQLite file, the clock, the sweep, the learners' conversations
    record.py            what a run keeps: figures, the sweep's reasons, nudges and their keys
    checks.py            what a rule check is made of (a break, a verdict, local time)
    rules.py             the rules about each nudge, and the list of every rule
    rules_over_time.py   the rules about when and how often
    report.py            the per-learner table, the summary, the verdicts
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from tests.simulation.people import Persona, population
from tests.simulation.record import Run
from tests.simulation.rules import Verdict, check_all
from tests.simulation.world import START, World


async def simulate(
    size: int = 100, days: int = 30, *, step_minutes: int = 15, start: datetime = START,
    seed: int = 7, directory: Path | None = None, progress: Callable[[str], None] | None = None,
    processes: int = 1,
) -> tuple[Run, list[Verdict]]:  # fmt: skip
    """Run the simulation on a fresh SQLite file (in `directory`, or a temporary one) and check
    every rule; `progress` hears how far it got, day by day.

    With `processes` > 1 the learners are dealt into that many shares, each living the same
    days on a PAU and a database of its own, one process each (the engine's work is mostly
    Python: one core does one share). Learners never meet, so every rule reads the same.
    """
    people = population(size, seed)
    step = timedelta(minutes=step_minutes)
    if processes <= 1:
        with tempfile.TemporaryDirectory(prefix="pau-nudge-sim-") as scratch:
            world = World(people, start=start, days=days, step=step,
                          directory=directory or Path(scratch))  # fmt: skip
            run = await world.simulate(progress)
        return run, check_all(run)
    shares = [people[number::processes] for number in range(processes)]
    loop = asyncio.get_running_loop()
    spawn = multiprocessing.get_context("spawn")  # nothing of this process's engine goes along
    with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
        runs = await asyncio.gather(*(
            loop.run_in_executor(pool, live_share, share, start, days, step, number,
                                 progress is not None)
            for number, share in enumerate(shares, 1)
        ))  # fmt: skip
    run = Run.merged(runs)
    return run, check_all(run)


def live_share(
    people: list[Persona], start: datetime, days: int, step: timedelta, number: int, talk: bool
) -> Run:
    """One share of the learners, in a process of its own."""

    def progress(line: str) -> None:
        print(f"share {number}: {line}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix=f"pau-nudge-sim-{number}-") as scratch:
        world = World(people, start=start, days=days, step=step, directory=Path(scratch))
        return asyncio.run(world.simulate(progress if talk else None))
