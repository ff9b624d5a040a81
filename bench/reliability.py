"""Replies lost and duplicated per 10,000, and other learners' reply delay, on a flaky platform.

A real `pau serve` (SQLite by default, `--database-url` for PostgreSQL) and the loopback fake Bot
API in this process. LEARNERS Telegram learners onboard at once, one update at a time like people
(the next once a reply to the last has arrived), through tests/load.py. Four runs, each on a fresh
database, in this order:

    healthy   nothing goes wrong (the baseline for the delays)
    kill -9   the server is killed with SIGKILL three times during the load and started again
    slow API  one send in ten is carried out at once but answered after the client's read
              timeout (TELEGRAM_READ_TIMEOUT=1 here, answered 0.5 s after it)
    hung chat one learner's chat never answers; the delay is the other learners'

For each: updates, replies sent, lost and duplicated per 10,000 replies, and the p50/p99 time
from an update's 200 to its first reply (the hung learner excluded). Chat pacing is lifted
(TELEGRAM_PER_CHAT_RATE=1000) so that the figures are about delivery, not Telegram's pacing.

    python bench/reliability.py [--learners 50] [--database-url postgresql://...]

`--code PATH` runs the server from another source tree, e.g. the release before this delivery
(its client's read timeout was python-telegram-bot's 5 s default, hence `--read-timeout 5`, for
both trees, to compare like with like):

    git worktree add /tmp/pau-before 7ba3fef
    python bench/reliability.py --code /tmp/pau-before --read-timeout 5
    python bench/reliability.py --read-timeout 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import SQLModel  # noqa: E402

import storage.models  # noqa: E402, F401
from storage.db import make_engine  # noqa: E402
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402
from tests.load import FIRST_LEARNER, Load, LoadResult, Server, count_replies, settle  # noqa: E402

RUNS = ("healthy", "kill -9", "slow API", "hung chat")


def fresh_database(url: str | None, workdir: Path, name: str) -> str:
    if url is None:
        return f"sqlite:///{workdir}/{name}.db"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    SQLModel.metadata.drop_all(engine)
    engine.dispose()
    return url


async def scenario(
    name: str, learners: int, url: str | None, workdir: Path, code: Path, read_timeout: float
) -> LoadResult:
    database = fresh_database(url, workdir, name.replace(" ", "_") + f"-{time.monotonic_ns()}")
    hung = FIRST_LEARNER  # the first learner, in the hung-chat run
    with FakeBotApi() as fake:
        server = Server(database, fake, workdir, code=code, TELEGRAM_READ_TIMEOUT=str(read_timeout))
        if name == "slow API":
            for method in ("sendMessage", "sendPoll"):
                fake.answer_late(method, read_timeout + 0.5, every=10)
        if name == "hung chat":
            fake.hang(hung)
        server.start()
        try:
            load = Load(server, fake, learners, patience=60)
            quiet = frozenset({hung}) if name == "hung chat" else frozenset()
            result = await load.run(
                kills=3 if name == "kill -9" else 0, kill_every=4.0, quiet=quiet
            )
            counted = [u for u in load.learners if u not in quiet]
            result.unsettled = settle(database, seconds=180, excluding=[str(u) for u in quiet])
            count_replies(database, fake, counted, result)
        finally:
            server.stop()
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--code", type=Path, default=ROOT, help="the source tree to serve from")
    parser.add_argument("--read-timeout", type=float, default=1.0)
    parser.add_argument("--runs", default=",".join(RUNS), help="which runs, comma-separated")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.learners} learners onboarding at once, {backend}, server from {args.code}, "
          f"read timeout {args.read_timeout:g} s")  # fmt: skip
    print(f"{'run':<10} {'updates':>7} {'replies':>7} {'lost/10k':>9} {'dup/10k':>8} "
          f"{'p50 ms':>7} {'p99 ms':>7} {'p99 vs healthy':>14} {'unsettled':>9}")  # fmt: skip
    baseline_p99 = None
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.runs.split(","):
            result = asyncio.run(scenario(name, args.learners, args.database_url, Path(workdir),
                                          args.code, args.read_timeout))  # fmt: skip
            per_10k = 10_000 / max(1, result.replies)
            p50 = percentile(result.reply_delays, 0.5) * 1000
            p99 = percentile(result.reply_delays, 0.99) * 1000
            baseline_p99 = baseline_p99 or p99
            print(f"{name:<10} {result.updates:>7} {result.replies:>7} {result.lost * per_10k:>9.1f} "
                  f"{result.duplicated * per_10k:>8.1f} {p50:>7.0f} {p99:>7.0f} "
                  f"{p99 / baseline_p99:>13.2f}x {result.unsettled:>9}")  # fmt: skip


if __name__ == "__main__":
    main()
