"""Exactly-once nudges across real `pau worker` processes on one PostgreSQL database (DESIGN.md §7,
issue 10): learners due for their daily reminder on the real clock, the sweep at second 0 of every
minute, the fake Bot API in the test process counting the nudges each chat received.

- Two workers at once: both sweep the same minute (and the next one); every learner gets
  exactly one nudge.
- kill -9 between claim and send, two ways: (a) the nudges are queued and their sends hang at
  the Bot API when the worker dies; (b) the sweep is stuck inside its transaction, the learners
  claimed but no nudge queued yet (the test holds a table lock). A worker started afterwards
  sends each nudge exactly once.

The sweep runs once a minute and nothing shortens that, so each test takes one to two minutes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.db import make_engine
from tests.conftest import empty_postgres
from tests.load import settle
from tests.workers import (
    CountingBotApi,
    Worker,
    make_due,
    nudge_events,
    nudges_by_chat,
    prepare_database,
    reasons_now,
    run_sql,
    seed_learners,
    wait_until,
)
from webhooks.container import NUDGE_BATCH

pytestmark = pytest.mark.postgres

SWEEP_WAIT = 75.0  # seconds: until the next minute's sweep has run
PER_NUDGE = 0.3  # seconds of one worker's time to process and send a nudge, with room to spare


def learners_due_soon(learners: int) -> tuple[str, list[int]]:
    """A fresh database with `learners` whose daily reminder the policy would send now, not
    yet marked due (`make_due`); its URL and their chat ids."""
    url = empty_postgres()
    prepare_database(url)
    chats = seed_learners(url, learners, due=False)
    assert reasons_now(url) == {"reminder time": learners}
    return url, chats


def test_two_workers_sweeping_at_once_send_every_learner_exactly_one_nudge(
    tmp_path: Path,
) -> None:
    # more than one sweep transaction's batch: the other worker's sweep takes the rest
    learners = NUDGE_BATCH + 100
    url, chats = learners_due_soon(learners)
    started = time.monotonic()
    with CountingBotApi() as fake:
        workers = [Worker(name, url, fake, tmp_path, debug_logs=True) for name in ("a", "b")]
        try:
            for worker in [w.launch() for w in workers]:
                worker.wait_started()
            make_due(url)  # both run: their next sweeps are at the same second
            swept = {worker.name: worker.sweeps_finished() for worker in workers}
            wait_until(lambda: len(nudges_by_chat(fake)) == learners, "every learner's nudge",
                       timeout=SWEEP_WAIT + learners * PER_NUDGE / 2)  # fmt: skip
            # the minute that queued the nudges and the next, while some were still on their way
            wait_until(lambda: all(w.sweeps_finished() >= swept[w.name] + 2 for w in workers),
                       "two sweeps in each worker", timeout=SWEEP_WAIT)  # fmt: skip
            left = settle(url, seconds=30)
            received = nudges_by_chat(fake)
        finally:
            for worker in workers:
                worker.stop()
    queued = {worker.name: worker.nudges_queued() for worker in workers}
    minutes = {worker.name: worker.sweep_minutes() for worker in workers}
    print(f"\n{learners} learners, {time.monotonic() - started:.0f} s; nudges queued per sweep "
          f"{queued}; sweeps run {minutes}")  # fmt: skip
    assert left == 0, "events unprocessed or nudges still pending"
    assert sorted(received) == chats, "a learner got no nudge"
    assert not sent_twice(received), f"{len(sent_twice(received))} chats got it more than once"
    events = nudge_events(url)
    assert len(events) == learners and set(events.values()) == {1}
    # each nudge was queued by one sweep, and the two workers' sweeps shared the work
    assert sum(map(sum, queued.values())) == learners
    assert all(queued.values()), f"one worker's sweep took every learner: {queued}"
    # the sweep ran twice for the same minutes, once in each process
    for worker in workers:
        assert len(minutes[worker.name]) >= 2, f"worker {worker.name} swept only once"
        assert not worker.errors(), worker.errors()
    assert len(set(minutes["a"]) & set(minutes["b"])) >= 2


def test_a_worker_killed_while_its_nudges_are_sending_leaves_them_to_the_next_exactly_once(
    tmp_path: Path,
) -> None:
    learners = 100
    url, chats = learners_due_soon(learners)
    with CountingBotApi() as fake:
        for chat in chats:  # the Bot API takes the sends and never answers, nor carries them out
            fake.hang(chat)
        first, second = (Worker(name, url, fake, tmp_path) for name in ("first", "second"))
        try:
            first.start()
            make_due(url)
            wait_until(lambda: len(nudge_events(url)) == learners, "the sweep to queue the nudges",
                       timeout=SWEEP_WAIT)  # fmt: skip
            wait_until(lambda: fake.sends_in_flight >= 10, "nudges sending",
                       timeout=learners * PER_NUDGE)  # fmt: skip
            in_flight, at_kill = fake.sends_in_flight, outbox_by_status(url)
            delivered_before_kill = len(fake.calls_to("sendMessage"))
            first.kill()
            for chat in chats:
                fake.hang(chat, False)  # the dead worker's requests end unanswered, not recorded
            second.start()
            wait_until(lambda: len(nudges_by_chat(fake)) == learners, "every learner's nudge",
                       timeout=learners * PER_NUDGE + 30)  # fmt: skip
            left = settle(url, seconds=30)
            received = nudges_by_chat(fake)
        finally:
            first.stop()
            second.stop()
    print(f"\nat the kill: {in_flight} sends in flight, outbox {at_kill}; after: "
          f"{sum(received.values())} nudges to {len(received)} chats")  # fmt: skip
    assert delivered_before_kill == 0  # every send the first worker made was left unanswered
    assert left == 0, "events unprocessed or nudges still pending"
    assert sorted(received) == chats, "a learner got no nudge"
    assert not sent_twice(received), f"{len(sent_twice(received))} chats got it more than once"
    assert outbox_by_status(url) == {"sent": learners}
    assert first.nudges_queued() == [learners] and second.nudges_queued() == []
    assert not second.errors(), second.errors()


def test_a_worker_killed_inside_the_sweep_after_claiming_leaves_every_nudge_to_the_next(
    tmp_path: Path,
) -> None:
    learners = 100
    url, chats = learners_due_soon(learners)
    with CountingBotApi() as fake:
        first, second = (Worker(name, url, fake, tmp_path) for name in ("first", "second"))
        try:
            with inbound_inserts_blocked(url):
                first.start()
                make_due(url)
                # the sweep has claimed the learners, moved the first one on and waits to queue
                # its nudge: its transaction is open
                stuck = wait_until(lambda: sweep_waiting_to_queue(url),
                                   "the sweep to wait on the lock", timeout=SWEEP_WAIT)  # fmt: skip
                claimed = learners - claimable(url)
                first.kill()
                alive_after_kill = backend_alive(url, stuck)
            # the lock is gone: PostgreSQL finds the client gone and rolls its transaction back
            wait_until(lambda: not backend_alive(url, stuck), "the dead worker's transaction to end",
                       timeout=30)  # fmt: skip
            after_crash = (len(nudge_events(url)), claimable(url))
            second.start()
            wait_until(lambda: len(nudges_by_chat(fake)) == learners, "every learner's nudge",
                       timeout=SWEEP_WAIT + learners * PER_NUDGE)  # fmt: skip
            left = settle(url, seconds=30)
            received = nudges_by_chat(fake)
        finally:
            first.stop()
            second.stop()
    print(f"\nthe stuck sweep held {claimed} of {learners} learners; after the kill: "
          f"{after_crash[0]} nudges queued, {after_crash[1]} due and free")  # fmt: skip
    assert claimed == learners  # the sweep had claimed every due learner when it was killed
    assert alive_after_kill  # its transaction outlived the process, until the lock went
    assert after_crash == (0, learners)  # rolled back: nothing queued, everyone still due
    assert first.nudges_queued() == [] and second.nudges_queued() == [learners]
    assert left == 0, "events unprocessed or nudges still pending"
    assert sorted(received) == chats, "a learner got no nudge"
    assert not sent_twice(received), f"{len(sent_twice(received))} chats got it more than once"
    assert not second.errors(), second.errors()


def sent_twice(received: Counter[int]) -> list[int]:
    return [chat for chat, count in received.items() if count > 1]


# --- PostgreSQL, seen from the test ------------------------------------------------------------


@contextmanager
def inbound_inserts_blocked(url: str) -> Iterator[None]:
    """A transaction holding a lock that lets the sweep read and claim learners (SELECT ... FOR
    UPDATE SKIP LOCKED, UPDATE learner) but not insert its nudge event into inbound_message."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            connection.execute(sa.text("LOCK TABLE inbound_message IN SHARE ROW EXCLUSIVE MODE"))
            yield
            transaction.rollback()
    finally:
        engine.dispose()


def sweep_waiting_to_queue(url: str) -> int:
    """The server process of a sweep waiting for a lock to insert a nudge event (0: none)."""
    rows = run_sql(url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO inbound_message%'")  # fmt: skip
    return int(rows[0][0]) if rows else 0


def backend_alive(url: str, pid: int) -> bool:
    return bool(run_sql(url, f"SELECT 1 FROM pg_stat_activity WHERE pid = {int(pid)}"))


def claimable(url: str) -> int:
    """Due learners another sweep could claim now (those not locked by one); nothing is kept."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection, connection.begin() as transaction:
            free = connection.execute(sa.text(
                "SELECT count(*) FROM (SELECT id FROM learner WHERE next_nudge_at <= now()"
                " FOR UPDATE SKIP LOCKED) AS free"
            )).scalar_one()  # fmt: skip
            transaction.rollback()
            return int(free)
    finally:
        engine.dispose()


def outbox_by_status(url: str) -> dict[str, int]:
    rows = run_sql(url, "SELECT status, count(*) FROM outbox GROUP BY status")
    return {str(status): int(count) for status, count in rows}
