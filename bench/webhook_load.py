"""A morning rush: how many webhooks one `pau serve` accepts, and whether it processes them
during the load or only after it.

Debian's `wrk` posts a new learner's /start per request (new user, new update id) for DURATION
seconds on CONNECTIONS connections, against:

    bare     a FastAPI endpoint that only parses the JSON (uvicorn, access log on, as pau serve)
    SQLite   `pau serve` on a fresh SQLite file
    Postgres `pau serve` on a fresh PostgreSQL database (--database-url)

with the fake Bot API in this process and Telegram's rate limits lifted. Each is run RUNS times
and the medians are printed: accepted/s, wrk's p50/p99, the ratio to the bare endpoint measured
in the same run, the share of accepted updates fully processed when the load ended, and how long
the rest took to drain.

    python bench/webhook_load.py [--duration 20] [--runs 3] [--connections 16]
        [--database-url postgresql://postgres@127.0.0.1:5432/pau_bench]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.reliability import fresh_database  # noqa: E402
from bench.telegram_webhook import start_bare  # noqa: E402
from bench.webhook_under_grading import SECRET, newcomers, wrk_script  # noqa: E402
from storage.db import make_engine  # noqa: E402
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402
from tests.load import Server, free_port  # noqa: E402


async def wrk(port: int, script: Path, base: int, seconds: int, connections: int) -> dict[str, Any]:
    figures = await newcomers(port, script, base, seconds, connections)
    figures["rate"] = figures["requests"] / seconds
    return figures


def counts(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            total, done = connection.execute(sa.text(
                "SELECT count(*), count(processed_at) FROM inbound_message"
                " WHERE channel = 'telegram'")).one()  # fmt: skip
        return int(total), int(done)
    finally:
        engine.dispose()


def pau_run(
    database_url: str, script: Path, workdir: Path, args: argparse.Namespace, base: int
) -> dict[str, Any]:
    with FakeBotApi() as fake:
        server = Server(database_url, fake, workdir, PAU_LOG_LEVEL="INFO",
                        TELEGRAM_WEBHOOK_SECRET=SECRET)  # fmt: skip
        server.start()
        try:
            figures = asyncio.run(wrk(server.port, script, base, args.duration, args.connections))
            total, done = counts(database_url)
            figures["processed_during"] = done / max(1, total)
            started = time.monotonic()
            while done < total and time.monotonic() - started < 600:
                time.sleep(0.5)
                total, done = counts(database_url)
            figures["drain_seconds"] = time.monotonic() - started
        finally:
            server.stop()
    return figures


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default=None, help="PostgreSQL too (emptied first)")
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {"bare": [], "SQLite": [], "PostgreSQL": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        script = wrk_script(workdir)
        for run in range(args.runs):
            port = free_port()
            bare = start_bare(port, workdir, log_level="info")  # access log on, as pau serve
            try:
                results["bare"].append(
                    asyncio.run(wrk(port, script, 1, args.duration, args.connections))
                )
            finally:
                bare.terminate()
                bare.wait()
            base = (run + 1) * 10_000_000
            results["SQLite"].append(
                pau_run(fresh_database(None, workdir, f"rush-{run}"), script, workdir, args, base)
            )
            if args.database_url:
                results["PostgreSQL"].append(
                    pau_run(
                        fresh_database(args.database_url, workdir, ""), script, workdir, args, base
                    )
                )
    bare_rate = median(results["bare"], "rate")
    print(f"wrk: a new learner's /start per request, {args.connections} connections, {args.duration} s, "
          f"median of {args.runs} runs")  # fmt: skip
    print(
        f"{'':<12} {'accepted/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>7} {'processed during':>17} {'drain s':>8}"
    )
    for name, runs in results.items():
        if not runs:
            continue
        rate = median(runs, "rate")
        during = f"{median(runs, 'processed_during'):>16.0%}" if name != "bare" else f"{'':>16}"
        drain = f"{median(runs, 'drain_seconds'):>8.1f}" if name != "bare" else f"{'':>8}"
        print(f"{name:<12} {rate:>10.0f} {median(runs, 'p50'):>7.1f} {median(runs, 'p99'):>7.1f} "
              f"{rate / bare_rate:>7.3f} {during} {drain}")  # fmt: skip


if __name__ == "__main__":
    main()
