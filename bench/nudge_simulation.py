"""A month of nudges on the real engine: 100 learners with habits and time zones, 30 days, every
nudge rule checked (issue 10).

A real PAU (runner, SQLite file, sweep, command worker, outbox, delivery to a recording channel)
on a clock moved in 15-minute steps from Saturday 7 March 2026, which takes the learners through
three DST changes: the US (8 March), Europe (29 March), Australia and New Zealand (5 April).
Learners onboard through real messages (their daily time typed, 06:30 to 22:30, some inside the
default quiet hours; their city typed: Sydney, New York, Berlin, Kolkata, Honolulu, Sao Paulo,
Tokyo, London, UTC, Los Angeles, Auckland, Adelaide, Kathmandu), then live by a habit: keen,
casual, self-starters at another hour (the offer to move the reminder), going silent (inactivity
nudges, dormant), coming back, "Fewer reminders", "Stop reminders", pause and resume, STOP,
their own quiet hours, delete. At each step the sweep runs as of the clock (twice on the hour,
as two workers would), the engine drains, every nudge is matched with its event key
`nudge:{learner}:{kind}:{slot}`, and learners act.

Printed: a line per learner (nudges by kind), a summary (messages, nudges per habit, the DST
changes met, wall time), then each rule with how much it checked and every break, with the
sweep's reason (core.nudges.decide) at that moment. The exit status is 1 if a rule broke.

    python bench/nudge_simulation.py [--learners 100] [--days 30] [--step 15] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.simulation import simulate  # noqa: E402
from tests.simulation.report import full_report  # noqa: E402
from tests.simulation.world import START  # noqa: E402


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--step", type=int, default=15, help="clock step, minutes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default=START.strftime("%Y-%m-%d"), help="a UTC day")
    parser.add_argument(
        "--processes", type=int, default=2, help="shares of learners, each its own PAU and core"
    )
    args = parser.parse_args()
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    began = time.perf_counter()
    month = simulate(args.learners, args.days, step_minutes=args.step, start=start,
                     seed=args.seed, progress=progress, processes=args.processes)  # fmt: skip
    run, verdicts = asyncio.run(month)
    print(full_report(run, verdicts))
    broken = [verdict for verdict in verdicts if verdict.violations]
    print(f"\nwall time {time.perf_counter() - began:.1f} s in all")
    if broken:
        print(f"{len(broken)} of {len(verdicts)} rules BROKEN", file=sys.stderr)
        return 1
    print(f"all {len(verdicts)} rules held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
