"""Shared fixtures: the demo course, a PAU wired on a real database, and a learner to chat as.

PostgreSQL and Redis are real: TEST_DATABASE_URL and TEST_REDIS_URL (defaults: the services on
127.0.0.1). Elsewhere, tests that need them skip with the reason; under CI=true they must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from core.content import Course
from core.content_loader import load_course
from storage.content_repo import import_course
from storage.db import make_engine, transaction
from storage.locks import LocalLocks
from tests.chat import ChatLearner, RecordingSender
from webhooks.config import Settings
from webhooks.container import Pau

ROOT = Path(__file__).resolve().parent.parent
DEMO_COURSE = ROOT / "content" / "science-of-learning"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({type(error).__name__}: {error})"
    if IN_CI:
        pytest.fail(message + " — CI must run these tests against the real service")
    pytest.skip(message)


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="session")
def demo_course() -> Course:
    return load_course(DEMO_COURSE)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def fresh_sqlite(path: Path | None = None) -> Engine:
    engine = make_engine(f"sqlite:///{path}" if path else "sqlite://")
    SQLModel.metadata.create_all(engine)
    return engine


def fresh_postgres() -> Engine:
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        _unavailable("PostgreSQL", error)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    return engine


def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        _unavailable("Redis", error)
    client.flushdb()
    return client


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The same tests on every database backend."""
    created = fresh_sqlite(tmp_path / "pau.db") if request.param == "sqlite" else fresh_postgres()
    yield created
    created.dispose()


def make_pau(engine: Engine, course: Course, clock: FixedClock) -> Pau:
    with transaction(engine) as session:
        import_course(session, course=course, now=clock())
    pau = Pau(
        settings=Settings(database_url=str(engine.url)),
        engine=engine,
        locks=LocalLocks(),
        clock=clock,
    )
    pau.senders["test"] = RecordingSender()
    return pau


@pytest.fixture
def pau(demo_course: Course, clock: FixedClock, tmp_path: Path) -> Iterator[Pau]:
    created = make_pau(fresh_sqlite(tmp_path / "pau.db"), demo_course, clock)
    yield created
    created.close()


@pytest.fixture
def learner(pau: Pau, clock: FixedClock) -> ChatLearner:
    return ChatLearner(pau, "learner-1", clock)


@pytest.fixture
def onboarded(learner: ChatLearner) -> ChatLearner:
    """A learner who has just finished onboarding and sees the first lesson."""
    learner.onboard()
    return learner
