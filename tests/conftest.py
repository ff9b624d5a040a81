"""Shared fixtures: the demo course, a PAU wired on a real database, and a learner to chat as.

PostgreSQL and Redis are real: TEST_DATABASE_URL and TEST_REDIS_URL (defaults: the services on
127.0.0.1). Each run creates a PostgreSQL database of its own and drops it at the end, so two runs
on one machine never collide. Elsewhere, tests that need them skip with the reason; under CI=true
they must run.

Tests never read a developer's `.env` or real tokens from the environment (cleared below, before
anything reads them), and cannot reach the network: only loopback connections are allowed.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from tests.harness import MemoryLearner
from webhooks.config import Settings
from webhooks.container import Pau

# Before any Settings is made: no developer's .env, no real tokens from the environment.
Settings.model_config["env_file"] = None
CONFIG_PREFIXES = ("PAU_", "TELEGRAM_", "WHATSAPP_", "ANTHROPIC_", "OPENAI_", "PROMETHEUS_")
for _name in list(os.environ):
    if _name == "PAU_UPDATE_SNAPSHOTS":  # a test switch (tests/test_prompts.py), not a setting
        continue
    if _name.startswith(CONFIG_PREFIXES) or _name in ("DATABASE_URL", "REDIS_URL"):
        del os.environ[_name]


ROOT = Path(__file__).resolve().parent.parent
DEMO_COURSE = ROOT / "content" / "science-of-learning"
ADMIN_POSTGRES_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
RUN_DATABASE = f"pau_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
POSTGRES_URL = (
    sa.make_url(ADMIN_POSTGRES_URL).set(database=RUN_DATABASE).render_as_string(hide_password=False)
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"
LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0", ""}


class NetworkAccessBlocked(RuntimeError):
    """A test tried to reach a host other than this machine."""


def _host_of(address: Any) -> str | None:
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        return address[0]
    return None  # a Unix socket path


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: connections and name lookups beyond loopback fail loudly (like
    python-telegram-bot's OfflineRequest, but for httpx, psycopg, redis and raw sockets alike)."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: Any) -> None:
        host = _host_of(address)
        if host is not None and host not in LOOPBACK and not host.startswith("127."):
            raise NetworkAccessBlocked(f"tests may not reach {host}")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None:
            check((str(name), 0))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


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


_run_database_created = False


def _create_run_database() -> None:
    """This run's own PostgreSQL database, created on first use (dropped at session end)."""
    global _run_database_created
    if _run_database_created:
        return
    admin = make_engine(ADMIN_POSTGRES_URL)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{RUN_DATABASE}"'))
    except sa.exc.OperationalError as error:
        _unavailable("PostgreSQL", error)
    finally:
        admin.dispose()
    _run_database_created = True


@pytest.fixture(scope="session", autouse=True)
def drop_run_database() -> Iterator[None]:
    yield
    if not _run_database_created:
        return
    admin = make_engine(ADMIN_POSTGRES_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)'))
    admin.dispose()


def empty_postgres() -> str:
    """This run's own database with no tables (for `pau db upgrade` to create); its URL."""
    _create_run_database()
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    SQLModel.metadata.drop_all(engine)
    engine.dispose()
    return POSTGRES_URL


def fresh_postgres() -> Engine:
    """Empty tables in this run's own database."""
    engine = make_engine(empty_postgres())
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
        settings=Settings(database_url=str(engine.url), pau_secret_key=TEST_SECRET_KEY),
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


@pytest.fixture
def memo(demo_course: Course, clock: FixedClock) -> MemoryLearner:
    """A learner in the pure in-memory harness (no database): fast dialogue tests."""
    return MemoryLearner([demo_course], clock)


@pytest.fixture
def memo_onboarded(memo: MemoryLearner) -> MemoryLearner:
    """An in-memory learner who has just finished onboarding and sees the first lesson."""
    memo.onboard()
    return memo
