"""Engines and transactions. SQLite (WAL, immediate transactions) by default; PostgreSQL by URL."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session


def make_engine(url: str) -> Engine:
    """An engine whose errors never carry bound parameters (learner text, names, chat ids)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        options: dict[str, Any] = {
            "connect_args": {"check_same_thread": False, "timeout": 30},
            "hide_parameters": True,
        }
        if url in ("sqlite://", "sqlite:///:memory:"):
            # one shared connection, or every connection would see its own empty database
            options["poolclass"] = sa.pool.StaticPool
        engine = sa.create_engine(url, **options)
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True
    )


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is turned off so that every transaction starts with
    # BEGIN IMMEDIATE: two writers then queue up instead of failing on a stale snapshot.
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        # a read-only look (see `reading`) takes no write lock: WAL lets it read beside a writer
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


# SQLite has one writer at a time, and a writer that finds the database locked sleeps and retries
# (1, 2, 5 ... 100 ms): under a steady stream of short transactions it can wait for seconds while
# others slip in between its naps. The threads of one process therefore queue for the write lock
# here instead, and are woken the moment it is free; urgent writers (a webhook's insert, which
# the platform waits for; a sent reply's outcome, to be recorded before a crash can make it go
# twice) go first, within limits. (Several processes on one SQLite
# file still fall back on SQLite's own waiting; scale-out is PostgreSQL's job.)
class WriterTurn:
    """One process's queue for SQLite's write lock: reentrant, urgent writers first, but never
    more than URGENT_IN_A_ROW of them while an ordinary writer waits (a rush of webhooks must
    not stop the processing that answers them)."""

    URGENT_IN_A_ROW = 3

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._waiting = {True: 0, False: 0}  # urgent -> how many wait
        self._urgent_streak = 0  # urgent turns given while an ordinary writer waited

    def _may_go(self, urgent: bool) -> bool:
        if self._owner is not None:
            return False
        ordinary_due = self._urgent_streak >= self.URGENT_IN_A_ROW
        if urgent:
            return not (ordinary_due and self._waiting[False])
        return ordinary_due or not self._waiting[True]

    @contextmanager
    def turn(self, *, urgent: bool = False) -> Iterator[None]:
        me = threading.get_ident()
        with self._changed:
            if self._owner != me:
                self._waiting[urgent] += 1
                try:
                    self._changed.wait_for(lambda: self._may_go(urgent))
                finally:
                    self._waiting[urgent] -= 1
                if not urgent:
                    self._urgent_streak = 0
                elif self._waiting[False]:
                    self._urgent_streak += 1
                self._owner = me
            self._depth += 1
        try:
            yield
        finally:
            with self._changed:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._changed.notify_all()


_sqlite_writers: weakref.WeakKeyDictionary[Engine, WriterTurn] = weakref.WeakKeyDictionary()
_sqlite_writers_guard = threading.Lock()


def _writer_turn(engine: Engine, urgent: bool) -> AbstractContextManager[Any]:
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _sqlite_writers_guard:
        writers = _sqlite_writers.get(engine)
        if writers is None:
            writers = _sqlite_writers[engine] = WriterTurn()
    return writers.turn(urgent=urgent)


@contextmanager
def transaction(engine: Engine, *, urgent: bool = False) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error. `urgent`: short and
    latency-critical (delivery), first in line for SQLite's write lock."""
    with _writer_turn(engine, urgent), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


READ_ONLY = "pau_read_only"


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A look at the data that writes nothing: it neither queues for nor takes SQLite's write
    lock, so a check made while sending (WhatsApp's window) never waits behind the writers."""
    with (
        engine.connect().execution_options(**{READ_ONLY: True}) as connection,
        Session(bind=connection) as session,
    ):
        yield session


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_db(moment: datetime) -> datetime:
    """Aware UTC, the form SQLModel's UTCDateTime columns take (naive input is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def from_db(moment: datetime) -> datetime:
    return to_db(moment)
