"""Events per second through the real runner path, on SQLite and PostgreSQL, against a minimal
SQLAlchemy Core loop doing the same durable writes, measured in the same run.

Each learner has a conversation of their own: a seeded random policy plays it first in the pure
in-memory harness (onboarding with different answers and time zones, lessons, right and wrong quiz
answers, skips, reflections, explain-backs, questions, progress, help, another round), and the
recorded messages are then sent through PAU for real: stored (one transaction, as the webhook
does), processed by the runner (one transaction: state, activities, FSRS cards, outbox, commands),
and the commands performed by the command worker (grading, charts) with their results processed as
events. Figures:
  - engine ev/s: learner messages per second, commands and their result events included;
  - the SQLAlchemy Core baseline: per event, INSERT the inbound row, SELECT and UPDATE a state row,
    INSERT two outbox rows, UPDATE the inbound row as processed, COMMIT; once with a COMMIT after
    the INSERT too (two commits, as PAU stores a message before its 200), once with one;
  - the pure step alone, for scale.

    python bench/engine.py [--learners 40] [--events 30] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import storage.models  # noqa: E402, F401
from core.content_loader import load_course  # noqa: E402
from core.dialogue import State  # noqa: E402
from core.events import EventKind, InboundEvent  # noqa: E402
from core.replies import Choices, Quiz, Reply  # noqa: E402
from storage.content_repo import import_course  # noqa: E402
from storage.db import make_engine, transaction  # noqa: E402
from storage.locks import LocalLocks  # noqa: E402
from tests.harness import MemoryLearner  # noqa: E402
from webhooks.config import Settings  # noqa: E402
from webhooks.container import Pau  # noqa: E402

COURSE = load_course(ROOT / "content" / "science-of-learning")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CITIES = ["Berlin", "New York", "Tokyo", "Lisbon", "UTC+2", "Sydney", "Nairobi"]
REFLECTIONS = [
    "I reread my notes the night before and forget most of it by the weekend.",
    "At work I learn new tools by doing, but I never go back to what I learned.",
    "I could test myself on the train instead of scrolling.",
]
EXPLANATIONS = [
    "Forgetting is fastest right after learning, then it slows down; each review makes it slower.",
    "You forget quickly at first but reviewing at the right time flattens the curve.",
    "Spacing reviews out works better than cramming because memories fade between sessions.",
    "No idea really, something about memory.",
]
QUESTIONS = ["why do we forget so quickly?", "how often should I review?", "what is interleaving?"]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class NullSender:
    async def send(self, address: str, reply: Reply) -> None:
        return None


def next_message(learner: MemoryLearner, rng: random.Random) -> InboundEvent:
    """What this learner says next, given what PAU just showed them."""
    state = learner.state
    choices = next((r for r in learner.last_replies if isinstance(r, Choices)), None)
    if state is State.CONSENT:
        return (
            InboundEvent(EventKind.CHOICE, choice_id="yes")
            if learner.last_replies
            else (InboundEvent.text_message(rng.choice(["hi", "/start", "hello"])))
        )
    if state is State.NAME:
        return InboundEvent.text_message(rng.choice(["Ada", "Sam", "Priya", "Jo", "Kwame"]))
    if state is State.TIMEZONE:
        return InboundEvent.text_message(rng.choice(CITIES))
    if state in (State.COURSE, State.LEVEL, State.DAILY_TIME, State.NUDGES) and choices:
        return InboundEvent(EventKind.CHOICE, choice_id=rng.choice(choices.options).id)
    roll = rng.random()
    if roll < 0.08:
        return InboundEvent.text_message(rng.choice(QUESTIONS))
    if roll < 0.12:
        return InboundEvent.text_message(rng.choice(["progress", "help"]))
    if state is State.LESSON:
        return InboundEvent(EventKind.CHOICE, choice_id="continue")
    if state is State.QUIZ:
        quiz = next((r for r in learner.last_replies if isinstance(r, Quiz)), None)
        if quiz is None or rng.random() < 0.1:
            return InboundEvent.text_message("skip")
        if not quiz.options:
            return InboundEvent.text_message(rng.choice(["forgetting", "spacing", "sleep"]))
        right = rng.random() < 0.7
        pick = quiz.correct_index if right else (quiz.correct_index + 1) % len(quiz.options)
        return InboundEvent.text_message(str(pick + 1))
    if state is State.REFLECTION:
        return InboundEvent.text_message(rng.choice([*REFLECTIONS, "skip"]))
    if state is State.EXPLAIN:
        return InboundEvent.text_message(rng.choice(EXPLANATIONS))
    if choices and any(o.id == "cmd:more" for o in choices.options):
        return InboundEvent(EventKind.CHOICE, choice_id="cmd:more")
    return InboundEvent.text_message(rng.choice(["today", "quiz"]))


def conversations(learners: int, events: int) -> list[list[InboundEvent]]:
    """One conversation per learner, played in the pure harness to know what makes sense."""
    scripts = []
    for number in range(learners):
        rng = random.Random(number)
        clock = Clock()
        learner = MemoryLearner([COURSE], clock)
        script = []
        for _ in range(events):
            event = next_message(learner, rng)
            learner.send(event)
            script.append(event)
            clock.now += timedelta(seconds=rng.randint(5, 90))
        scripts.append(script)
    return scripts


def engine_rate(engine: sa.Engine, scripts: list[list[InboundEvent]]) -> tuple[float, int, float]:
    """(learner messages per second, internal events, median ms per message)."""
    clock = Clock()
    with transaction(engine) as session:
        import_course(session, course=COURSE, now=clock())
    settings = Settings(database_url=str(engine.url), pau_secret_key="bench-secret-key-0123456789")
    pau = Pau(settings=settings, engine=engine, locks=LocalLocks(), clock=clock)
    pau.senders["bench"] = NullSender()
    latencies = []

    async def play() -> None:
        for round_number in range(max(len(s) for s in scripts)):
            clock.now += timedelta(seconds=30)
            for learner, script in enumerate(scripts):
                if round_number >= len(script):
                    continue
                began = time.perf_counter()
                ingested = pau.ingest(channel="bench", sender_id=f"learner-{learner}",
                                      platform_message_id=f"{learner}-{round_number}",
                                      event=script[round_number])  # fmt: skip
                pau.runner.process_learner(ingested.learner_id)
                latencies.append(time.perf_counter() - began)
            # the round's commands (grading, charts), and their results through the runner
            await pau.commands.run_until_idle()
            pau.process_pending()
        await pau.commands.close()

    started = time.perf_counter()
    asyncio.run(play())
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        errors = connection.execute(
            sa.text("SELECT count(*) FROM inbound_message WHERE error IS NOT NULL")
        ).scalar_one()
        internal = connection.execute(
            sa.text("SELECT count(*) FROM inbound_message WHERE channel = 'internal'"
                    " AND processed_at IS NOT NULL")
        ).scalar_one()  # fmt: skip
    assert errors == 0, f"{errors} events failed"
    return len(latencies) / elapsed, int(internal), statistics.median(latencies) * 1000


def baseline_rate(engine: sa.Engine, count: int, commits: int = 2) -> float:
    """The same durable writes per event as the runner, in plain SQLAlchemy Core: with
    `commits=2` the inbound row is committed on its own first (as PAU does before its 200),
    with `commits=1` everything is one transaction."""
    metadata = sa.MetaData()
    inbound = sa.Table("bench_inbound", metadata, sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("body", sa.JSON), sa.Column("processed", sa.Boolean))  # fmt: skip
    state = sa.Table("bench_state", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("state", sa.String(64)), sa.Column("data", sa.JSON))  # fmt: skip
    outbox = sa.Table("bench_outbox", metadata, sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("state_id", sa.Integer), sa.Column("body", sa.JSON))  # fmt: skip
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            state.insert(), [{"id": n, "state": "idle", "data": {}} for n in range(40)]
        )
    started = time.perf_counter()
    for number in range(count):
        learner = number % 40
        connection = engine.connect()
        unit = connection.begin()
        inbound_id = connection.execute(
            inbound.insert().values(body={"text": f"event {number}"}, processed=False)
        ).inserted_primary_key[0]
        if commits == 2:  # stored before the 200
            unit.commit()
            unit = connection.begin()
        with connection:  # processed
            row = connection.execute(sa.select(state).where(state.c.id == learner)).one()
            connection.execute(state.update().where(state.c.id == learner)
                               .values(state=row.state, data={"n": number}))  # fmt: skip
            connection.execute(outbox.insert(), [{"state_id": learner, "body": {"text": "a"}},
                                                 {"state_id": learner, "body": {"text": "b"}}])  # fmt: skip
            connection.execute(
                inbound.update().where(inbound.c.id == inbound_id).values(processed=True)
            )
            unit.commit()
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:  # and it was all really written
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 2 * count
        )
    metadata.drop_all(engine)
    return count / elapsed


def pure_step_rate(scripts: list[list[InboundEvent]]) -> float:
    started = time.perf_counter()
    events = 0
    for script in scripts:
        clock = Clock()
        learner = MemoryLearner([COURSE], clock)
        for event in script:
            learner.send(event)
            events += 1
    return events / (time.perf_counter() - started)


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
    parser.add_argument("--events", type=int, default=30, help="messages per learner")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/test", help="'' to skip"
    )
    args = parser.parse_args()
    scripts = conversations(args.learners, args.events)
    total = sum(len(s) for s in scripts)
    kinds = {e.kind.value for s in scripts for e in s}
    print(f"{args.learners} learners, {total} messages ({', '.join(sorted(kinds))}), "
          f"{len({tuple(map(repr, s)) for s in scripts})} different conversations")  # fmt: skip
    step_rate = pure_step_rate(scripts)
    print(f"{'backend':<10} {'engine ev/s':>12} {'internal ev':>12} {'median ms':>10} "
          f"{'Core 2 commits':>15} {'engine/it':>10} {'Core 1 commit':>14} {'engine/it':>10}")  # fmt: skip
    backends = [("sqlite", f"sqlite:///{tempfile.mkdtemp()}/bench.db")]
    if args.postgres:
        backends.append(("postgres", args.postgres))
    for name, url in backends:
        engine = fresh(url)
        two_commits = baseline_rate(engine, total, commits=2)
        one_commit = baseline_rate(engine, total, commits=1)
        events, internal, median_ms = engine_rate(engine, scripts)
        print(f"{name:<10} {events:>12.0f} {internal:>12} {median_ms:>10.2f} {two_commits:>15.0f} "
              f"{events / two_commits:>10.3f} {one_commit:>14.0f} {events / one_commit:>10.3f}")  # fmt: skip
        engine.dispose()
    print(f"{'pure step':<10} {step_rate:>12.0f}   (in-memory harness with the real performers: "
          "no database)")  # fmt: skip


if __name__ == "__main__":
    main()
