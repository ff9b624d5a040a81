"""Events per second through the dialogue engine, with real commits, on SQLite and PostgreSQL.

Each learner plays a scripted conversation (onboarding, two sessions, a question, progress, help).
Every event is stored (one transaction) and processed by the runner (one transaction: state,
activities, outbox). Baselines measured in the same run:
  - the pure step function alone (no database): the engine's upper bound;
  - a bare loop of "INSERT one row + COMMIT" on the same database: what one commit costs there.

    python bench/engine.py [--learners 40] [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import SQLModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import storage.models  # noqa: F401
from core.content_loader import load_course
from core.dialogue import Snapshot, State, World, step
from core.events import EventKind, InboundEvent
from core.replies import Reply
from storage.content_repo import import_course
from storage.db import make_engine, transaction, utcnow
from storage.locks import LocalLocks
from webhooks.config import Settings
from webhooks.container import Pau

COURSE = load_course(Path(__file__).resolve().parent.parent / "content" / "science-of-learning")
SCRIPT: list[InboundEvent] = [
    InboundEvent.text_message("hi"),
    InboundEvent(EventKind.CHOICE, choice_id="yes"),
    InboundEvent.text_message("Ada"),
    InboundEvent(EventKind.CHOICE, choice_id="course:science-of-learning"),
    InboundEvent(EventKind.CHOICE, choice_id="level:some"),
    InboundEvent(EventKind.CHOICE, choice_id="time:morning"),
    InboundEvent.text_message("Berlin"),
    InboundEvent(EventKind.CHOICE, choice_id="yes"),
    InboundEvent(EventKind.CHOICE, choice_id="continue"),
    InboundEvent.text_message("1"),
    InboundEvent.text_message("I will quiz myself on the train instead of rereading."),
    InboundEvent(EventKind.CHOICE, choice_id="cmd:more"),
    InboundEvent.text_message("why do we forget so quickly?"),
    InboundEvent(EventKind.CHOICE, choice_id="continue"),
    InboundEvent.text_message("2"),
    InboundEvent.text_message("Recalling from memory strengthens it more than rereading does."),
    InboundEvent.text_message("progress"),
    InboundEvent.text_message("help"),
]


class NullSender:
    async def send(self, address: str, reply: Reply) -> None:
        return None


def pure_step_rate(repeats: int) -> float:
    """The step function alone, effects applied in memory like the runner does."""
    world = World({COURSE.slug: COURSE})
    now = utcnow()
    started = time.perf_counter()
    events = 0
    for _ in range(repeats):
        snapshot = Snapshot(State.CONSENT)
        for event in SCRIPT:
            snapshot = step(snapshot, event, now, world).applied_to(snapshot)
            events += 1
    return events / (time.perf_counter() - started)


def bare_commit_rate(engine: sa.Engine, count: int) -> float:
    table = sa.Table(
        "bench_bare",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text),
    )
    table.drop(engine, checkfirst=True)
    table.create(engine)
    started = time.perf_counter()
    for number in range(count):
        with engine.begin() as connection:
            connection.execute(table.insert().values(body=f"event {number}"))
    elapsed = time.perf_counter() - started
    table.drop(engine)
    return count / elapsed


def engine_rate(engine: sa.Engine, learners: int) -> tuple[float, float, float]:
    """(events/s stored+processed, replies/s delivered, median ms per event)."""
    with transaction(engine) as session:
        import_course(session, course=COURSE, now=utcnow())
    pau = Pau(settings=Settings(database_url=str(engine.url)), engine=engine, locks=LocalLocks())
    pau.senders["bench"] = NullSender()
    latencies = []
    started = time.perf_counter()
    for round_number, event in enumerate(SCRIPT):
        for learner in range(learners):
            began = time.perf_counter()
            ingested = pau.ingest(channel="bench", sender_id=f"learner-{learner}",
                                  platform_message_id=f"{learner}-{round_number}", event=event)  # fmt: skip
            pau.runner.process_learner(ingested.learner_id)
            latencies.append(time.perf_counter() - began)
    processing = time.perf_counter() - started
    with engine.connect() as connection:
        replies = connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one()
        errors = connection.execute(
            sa.text("SELECT count(*) FROM inbound_message WHERE error IS NOT NULL")
        ).scalar_one()
    assert errors == 0, f"{errors} events failed"
    started = time.perf_counter()
    asyncio.run(pau.dispatcher.deliver_due())
    delivering = time.perf_counter() - started
    return len(latencies) / processing, replies / delivering, statistics.median(latencies) * 1000


def fresh(url: str) -> sa.Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/test", help="'' to skip"
    )
    args = parser.parse_args()

    step_rate = pure_step_rate(repeats=200)
    print(
        f"events per conversation: {len(SCRIPT)}, learners: {args.learners}, events: {len(SCRIPT) * args.learners}"
    )
    print(
        f"{'backend':<10} {'engine ev/s':>12} {'median ms':>10} {'bare commits/s':>15} {'engine/bare':>12} {'delivery/s':>11}"
    )
    backends = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.db")]
    if args.postgres:
        backends.append(("postgres", args.postgres))
    for name, url in backends:
        engine = fresh(url)
        bare = bare_commit_rate(engine, 2000)
        events, delivered, median_ms = engine_rate(engine, args.learners)
        print(
            f"{name:<10} {events:>12.0f} {median_ms:>10.2f} {bare:>15.0f} {events / bare:>12.3f} {delivered:>11.0f}"
        )
        engine.dispose()
    print(
        f"{'pure step':<10} {step_rate:>12.0f}   (no database; engine/pure-step ratios above show the storage cost)"
    )


if __name__ == "__main__":
    main()
