"""One repository test class, every backend: SQLite and PostgreSQL; in-process and Redis locks."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from core.commands import Command, CommandKind, Timer
from core.content import Course
from core.dialogue.model import Snapshot
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord, ConceptProgress, LearningStats, Profile
from core.mastery import MasteryState
from core.motivation import MotivationState
from core.ports import Address
from core.replies import Choices, Option, Text
from storage.commands import SqlCommandQueue
from storage.content_repo import import_course, load_courses
from storage.db import make_engine, reading, transaction
from storage.learner_store import SqlLearnerStore, ingest, learners_with_pending
from storage.locks import LocalLocks, RedisLocks
from storage.migrate import upgrade
from storage.models import Enrollment, InboundMessage, Learner
from storage.outbox import SqlOutbox
from storage.review_cards import REFIT_EVERY_REVIEWS, learners_due_for_refit
from tests.chat import ChatLearner
from tests.conftest import (
    POSTGRES_URL,
    FixedClock,
    empty_postgres,
    fresh_postgres,
    fresh_sqlite,
    redis_client,
)
from webhooks.container import Pau


def _ingest(
    engine: Engine, clock: FixedClock, message_id: str, text: str = "hi", user: str = "u1"
) -> int | None:
    with transaction(engine) as session:
        return ingest(
            session, channel="test", sender_id=user, platform_message_id=message_id,
            event=InboundEvent.text_message(text), received_at=clock(), secret=b"test",
        ).inbound_id  # fmt: skip


class TestRepositories:
    """Runs once per backend (the `engine` fixture is parametrised)."""

    def test_inbound_is_unique_per_channel_and_message_id(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        first = _ingest(engine, clock, "m-1")
        again = _ingest(engine, clock, "m-1", text="a different body")
        other = _ingest(engine, clock, "m-2")
        assert first is not None and again is None and other is not None
        with transaction(engine) as session:
            assert len(session.exec(select(InboundMessage)).all()) == 2

    def test_concurrent_duplicates_store_one_row(self, engine: Engine, clock: FixedClock) -> None:
        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(lambda _: _ingest(engine, clock, "same"), range(10)))
        assert sum(r is not None for r in results) == 1

    def test_pending_events_come_back_oldest_first(self, engine: Engine, clock: FixedClock) -> None:
        for number in range(3):
            _ingest(engine, clock, f"m-{number}", text=f"message {number}")
        with transaction(engine) as session:
            [learner_id] = learners_with_pending(session, now=clock())
            store = SqlLearnerStore(session)
            pending = store.next_pending(learner_id, clock())
            assert pending is not None and pending.event.text == "message 0"
            store.mark_processed(pending.id, clock())
            pending = store.next_pending(learner_id, clock())
            assert pending is not None and pending.event.text == "message 1"

    def test_snapshot_round_trip(self, engine: Engine, clock: FixedClock) -> None:
        _ingest(engine, clock, "m-1")
        with transaction(engine) as session:
            [learner_id] = learners_with_pending(session, now=clock())
            store = SqlLearnerStore(session)
            fresh = store.load(learner_id, clock())
            assert fresh.state is State.CONSENT and not fresh.profile.consented
            profile = Profile(
                consented=True, name="Zoë", course_slug="c1", timezone="Asia/Tokyo", nudges=True
            )
            mastery = MasteryState().with_evidence(1.0, 1.0, clock())
            progress = {
                "a": ConceptProgress(
                    lessons=1, answered=2, correct=1, items_seen=("a-1",), mastery=mastery
                )
            }
            stats = LearningStats(recent_results=(True, False), last_kind="check",
                                  last_done_at={"check": clock().isoformat()}, goal="b")  # fmt: skip
            motivation = MotivationState(
                xp=42,
                streak=3,
                best_streak=5,
                last_active_day=clock().date(),
                badges=("first_lesson",),
            )
            snapshot = Snapshot(
                State.QUIZ,
                {"plan": [{"kind": "check", "item": "a-1"}]},
                profile,
                progress,
                stats,
                motivation,
            )
            store.save(learner_id, snapshot, clock())
            answer = ActivityRecord("quiz", "a", "a-1", correct=True, duration_ms=900)
            store.record_activity(learner_id, answer, clock())
            store.review(learner_id, answer, clock())
        with transaction(engine) as session:
            loaded = SqlLearnerStore(session).load(learner_id, clock())
            later = SqlLearnerStore(session).load(learner_id, clock() + timedelta(days=60))
        assert loaded.state is State.QUIZ
        assert loaded.profile == replace(profile, language="en")
        assert loaded.progress == progress
        assert (loaded.stats, loaded.motivation) == (stats, motivation)
        assert loaded.data["plan"][0]["item"] == "a-1"
        assert loaded.due_reviews == ()  # answered right just now: not due
        [due] = later.due_reviews
        assert (due.item_id, due.concept_id) == ("a-1", "a") and 0 < due.retrievability < 0.9

    def test_outbox_delivers_in_order_per_address_with_leases(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        with transaction(engine) as session:
            store = SqlLearnerStore(session)
            store.enqueue(Address("test", "a"), None, [Text("a1"), Text("a2")], clock())
            store.enqueue(
                Address("test", "b"),
                None,
                [Choices("b1", (Option("x", "X"), Option("y", "Y")))],
                clock(),
            )
        with transaction(engine) as session:
            claimed = SqlOutbox(session).claim_due(clock(), 10, 60, ["test"])
        assert [(m.address.address, m.reply) for m in claimed] == [
            ("a", Text("a1")), ("b", Choices("b1", (Option("x", "X"), Option("y", "Y")))),
        ]  # fmt: skip
        with transaction(engine) as session:
            assert (
                SqlOutbox(session).claim_due(clock(), 10, 60, ["test"]) == []
            )  # leased, and a2 waits for a1
            SqlOutbox(session).mark_retry(claimed[0], clock() + timedelta(seconds=30), "429")
        with transaction(engine) as session:
            assert (
                SqlOutbox(session).claim_due(clock(), 10, 60, ["test"]) == []
            )  # a1 not due yet; a2 still waits
        clock.advance(seconds=31)
        with transaction(engine) as session:
            again = SqlOutbox(session).claim_due(clock(), 10, 60, ["test"])
            assert [m.reply for m in again] == [Text("a1")]
            SqlOutbox(session).mark_sent(again[0], clock())
        with transaction(engine) as session:
            assert [m.reply for m in SqlOutbox(session).claim_due(clock(), 10, 60, ["test"])] == [
                Text("a2")
            ]

    def test_only_the_lease_holder_settles_a_message(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        with transaction(engine) as session:
            SqlLearnerStore(session).enqueue(Address("test", "a"), None, [Text("a1")], clock())
            SqlLearnerStore(session).enqueue(Address("other", "b"), None, [Text("b1")], clock())
        with transaction(engine) as session:
            [slow] = SqlOutbox(session).claim_due(clock(), 10, 60, ["test"])  # "other" is not ours
        clock.advance(seconds=61)  # worker A's send hangs past its lease
        with transaction(engine) as session:
            [fast] = SqlOutbox(session).claim_due(clock(), 10, 60, ["test"])
            assert fast.id == slow.id
            SqlOutbox(session).mark_retry(fast, clock() + timedelta(seconds=5), "502")
        with transaction(engine) as session:
            SqlOutbox(session).mark_failed(slow, "late news from worker A")  # must change nothing
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT channel, status, attempts, last_error FROM outbox ORDER BY id")
            ).all()
        assert [tuple(r) for r in rows] == [
            ("test", "pending", 1, "502"),
            ("other", "pending", 0, None),
        ]

    def test_a_goodbye_after_delete_is_never_kept(self, engine: Engine, clock: FixedClock) -> None:
        with transaction(engine) as session:
            SqlLearnerStore(session).enqueue(
                Address("test", "gone"), None, [Text("Goodbye")], clock()
            )
        with transaction(engine) as session:
            [goodbye] = SqlOutbox(session).claim_due(clock(), 10, 60, ["test"])
            SqlOutbox(session).mark_failed(goodbye, "403 blocked")
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM outbox")).scalar() == 0

    def test_a_command_is_claimed_by_one_worker_and_its_result_stored_once(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        _ingest(engine, clock, "m-1")
        with transaction(engine) as session:
            [learner_id] = learners_with_pending(session, now=clock())
            SqlLearnerStore(session).add_command(
                learner_id, Command(CommandKind.RENDER_CHART, {"title": "t"}, ref="r"), clock()
            )
        with transaction(engine) as session:
            [first] = SqlCommandQueue(session).claim(CommandKind.RENDER_CHART, clock(), 5, 60)
        with transaction(engine) as session:  # leased: another worker gets nothing
            assert SqlCommandQueue(session).claim(CommandKind.RENDER_CHART, clock(), 5, 60) == []
        clock.advance(seconds=61)
        with transaction(engine) as session:  # the lease ran out: taken again
            [second] = SqlCommandQueue(session).claim(CommandKind.RENDER_CHART, clock(), 5, 60)
        result = InboundEvent.result(EventKind.CHART_READY, "r", png="", caption="")
        with transaction(engine) as session:
            assert SqlCommandQueue(session).finish(second, result, clock()) is True
        with transaction(engine) as session:
            assert SqlCommandQueue(session).finish(first, result, clock()) is False
        with transaction(engine) as session:
            store = SqlLearnerStore(session)
            assert store.next_pending(learner_id, clock()).event.kind is EventKind.TEXT  # type: ignore[union-attr]
            store.mark_processed(store.next_pending(learner_id, clock()).id, clock())  # type: ignore[union-attr]
            pending = store.next_pending(learner_id, clock())
            assert pending is not None and pending.event.kind is EventKind.CHART_READY
            store.mark_processed(pending.id, clock())
            assert store.next_pending(learner_id, clock()) is None  # one result, not two

    def test_a_timer_waits_until_its_time(self, engine: Engine, clock: FixedClock) -> None:
        _ingest(engine, clock, "m-1")
        with transaction(engine) as session:
            [learner_id] = learners_with_pending(session, now=clock())
            store = SqlLearnerStore(session)
            store.mark_processed(store.next_pending(learner_id, clock()).id, clock())  # type: ignore[union-attr]
            store.add_timer(learner_id, Timer("still_there", clock() + timedelta(minutes=15), "r"),
                            "timer:1:0", clock())  # fmt: skip
        with transaction(engine) as session:
            assert learners_with_pending(session, now=clock()) == []
            assert learners_with_pending(session, now=clock() + timedelta(minutes=15)) == [
                learner_id
            ]
            pending = SqlLearnerStore(session).next_pending(
                learner_id, clock() + timedelta(minutes=16)
            )
            assert pending is not None and pending.event.data == {"name": "still_there"}
            assert pending.at == clock() + timedelta(
                minutes=15
            )  # the step's moment: when it fell due

    def test_the_learner_counts_the_reviews_written_for_the_refit(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        _ingest(engine, clock, "m-1")
        with transaction(engine) as session:
            [learner_id] = learners_with_pending(session, now=clock())
            store = SqlLearnerStore(session)
            for record in (
                ActivityRecord("quiz", "c", "q1", correct=True),
                ActivityRecord("quiz", "c", "q2", correct=False),
                ActivityRecord("lesson", "c"),  # not a review
                ActivityRecord("quiz", "c", "", correct=True),  # a quick check, not a card
            ):
                store.record_activity(learner_id, record, clock())
        with transaction(engine) as session:
            learner = session.get(Learner, learner_id)
            assert learner is not None and learner.reviews_logged == 2
            assert learners_due_for_refit(session, min_reviews=2) == []  # not enough new ones
            learner.reviews_logged = 2 + REFIT_EVERY_REVIEWS
        with transaction(engine) as session:
            assert learners_due_for_refit(session, min_reviews=2) == [learner_id]

    def test_content_import_is_idempotent_and_keeps_progress(
        self, engine: Engine, clock: FixedClock, demo_course: Course
    ) -> None:
        with transaction(engine) as session:
            assert import_course(session, course=demo_course, now=clock()).outcome == "created"
        with transaction(engine) as session:
            assert import_course(session, course=demo_course, now=clock()).outcome == "unchanged"
            session.add(Enrollment(learner_id=_learner(engine, clock, session), course_slug=demo_course.slug,
                                   progress={"spacing": {"lessons": 1}}, enrolled_at=clock()))  # fmt: skip
        edited = replace(
            demo_course,
            title="How to learn anything (2nd edition)",
            concepts=demo_course.concepts[:-1],
        )
        with transaction(engine) as session:
            result = import_course(session, course=edited, now=clock())
            assert (result.outcome, result.revision) == ("updated", 2)
        with transaction(engine) as session:
            courses = load_courses(session)
            enrollment = session.exec(select(Enrollment)).one()
        assert courses[demo_course.slug].title.endswith("(2nd edition)")
        assert len(courses[demo_course.slug].concepts) == len(demo_course.concepts) - 1
        assert courses[demo_course.slug].concepts[0] == demo_course.concepts[0]
        assert enrollment.progress == {"spacing": {"lessons": 1}}


def _learner(engine: Engine, clock: FixedClock, session: object) -> int:
    from storage.learner_store import learner_id_for

    return learner_id_for(session, channel="test", external_id="p1", now=clock())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_migrations_build_exactly_the_models(backend: str, tmp_path: object) -> None:
    if backend == "postgres":
        url = empty_postgres()
        engine = make_engine(url)
    else:
        url = f"sqlite:///{tmp_path}/migrated.db"
        engine = make_engine(url)
    upgrade(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def locks(request: pytest.FixtureRequest) -> LocalLocks | RedisLocks:
    return LocalLocks() if request.param == "local" else RedisLocks(redis_client(), ttl_seconds=5)


class TestLocks:
    def test_one_holder_at_a_time(self, locks: LocalLocks | RedisLocks) -> None:
        inside, overlaps = [0], [0]
        guard = threading.Lock()

        def work(_: int) -> None:
            with locks.hold("learner:1"):
                with guard:
                    inside[0] += 1
                    overlaps[0] = max(overlaps[0], inside[0])
                time.sleep(0.01)
                with guard:
                    inside[0] -= 1

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(work, range(12)))
        assert overlaps[0] == 1

    def test_different_keys_do_not_wait_for_each_other(
        self, locks: LocalLocks | RedisLocks
    ) -> None:
        with locks.hold("learner:1"):
            started = time.monotonic()
            with locks.hold("learner:2"):
                pass
        assert time.monotonic() - started < 1


def test_old_messages_are_purged_after_the_retention_period(pau: Pau, clock: FixedClock) -> None:
    ada = ChatLearner(pau, "ada", clock)
    ada.onboard()
    clock.advance(days=31)
    ada.say("progress")  # recent: kept
    assert pau.purge_old_messages()[0] == 8  # the eight onboarding messages
    with pau.engine.connect() as connection:
        inbound = connection.execute(sa.text("SELECT count(*) FROM inbound_message")).scalar()
        outbox = connection.execute(sa.text("SELECT count(*) FROM outbox WHERE created_at < :c"),
                                    {"c": clock() - timedelta(days=30)}).scalar()  # fmt: skip
    assert (inbound, outbox) == (2, 0)  # "progress" and its chart_ready result are recent
    assert "📊" in ada.say("progress")  # the learner's progress is not chat history


def test_storage_errors_hide_bound_parameters(engine: Engine, clock: FixedClock) -> None:
    """SQLAlchemy's error text leaves out the values bound to a failing statement. (PostgreSQL's
    own DETAIL line can still quote a failing row: the log work of issue 8 handles that.)"""
    with pytest.raises(sa.exc.IntegrityError) as caught, transaction(engine) as session:
        session.execute(
            sa.text(
                "INSERT INTO learner (id, channel, external_id, created_at) VALUES (1, :c, :e, :t)"
            ),
            [{"c": "test", "e": "secret-chat-4711", "t": clock()}] * 2,
        )
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(caught.value)
    assert "'secret-chat-4711'" not in str(caught.value)  # not as a bound parameter


def turns_taken(queued: list[tuple[str, bool]], gap: float) -> list[str]:
    """The order in which writers got SQLite's write lock: `queued` (name, urgent) line up, `gap`
    seconds apart, while another thread holds it (nested, as a transaction inside one); then it
    is released."""
    from storage.db import WriterTurn

    turn, order = WriterTurn(), []
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with turn.turn(), turn.turn():  # reentrant: a nested transaction in the same thread
            holding.set()
            release.wait(5)

    def writer(name: str, urgent: bool) -> None:
        with turn.turn(urgent=urgent):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    holding.wait(5)
    for name, urgent in queued:
        threads.append(threading.Thread(target=writer, args=(name, urgent)))
        threads[-1].start()
        time.sleep(gap)  # queued in this order
    release.set()
    for thread in threads:
        thread.join(5)
    return order


def test_sqlite_writers_queue_and_an_urgent_one_goes_first() -> None:
    """A sent reply's outcome must not wait behind event processing for SQLite's write lock:
    the shorter that wait, the fewer replies a crash leaves sent but not marked."""
    order = turns_taken([("processing 1", False), ("processing 2", False), ("reply sent", True)],
                        gap=0.05)  # fmt: skip
    assert order[0] == "reply sent" and sorted(order[1:]) == ["processing 1", "processing 2"]


def test_a_stream_of_urgent_writers_does_not_starve_an_ordinary_one() -> None:
    """A rush of webhooks (urgent) must leave the processing (ordinary) its turns."""
    from storage.db import WriterTurn

    queued = [("processing", False)] + [(f"webhook {n}", True) for n in range(8)]
    order = turns_taken(queued, gap=0.02)
    assert order.index("processing") == WriterTurn.URGENT_IN_A_ROW  # after three webhooks


def test_the_review_counter_is_back_filled_from_the_history_on_upgrade(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0006")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO learner (id, channel, external_id, name, level, daily_time, timezone,"
            " nudges, language, paused, stopped, unreachable, created_at, motivation,"
            " fsrs_fit_reviews) VALUES (1, 't', 'u', '', '', '', '', 0, 'en', 0, 0, 0,"
            " '2026-01-01', '{}', 0)"))  # fmt: skip
        for item, correct in (("q1", 1), ("q2", 0), ("", 1), ("q3", None)):  # 2 are reviews
            connection.execute(sa.text(
                "INSERT INTO activity (learner_id, course_slug, kind, concept_id, item_id,"
                " correct, response, duration_ms, at) VALUES (1, 'c', 'quiz', 'k', :item,"
                " :correct, '', 0, '2026-01-01')"), {"item": item, "correct": correct})  # fmt: skip
    upgrade(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT reviews_logged FROM learner")).scalar() == 2
    engine.dispose()


@pytest.mark.postgres
def test_housekeeping_and_the_refit_selection_use_indexes_with_a_million_messages() -> None:
    """10,000 learners and a million messages (PostgreSQL, EXPLAIN): the hourly and six-hourly
    jobs must not scan what grows with history."""
    from datetime import UTC, datetime

    fresh_postgres().dispose()
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO learner (channel, external_id, name, level, daily_time, timezone, nudges,"
                " language, paused, stopped, unreachable, created_at, motivation, fsrs_fit_reviews,"
                " reviews_logged, nudge_state) SELECT 'telegram', n::text, '', '', '', '', false,"
                " 'en', false, false, false, now(), '{}', 0, n % 40, '{}'"
                " FROM generate_series(1, 10000) n"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO inbound_message (channel, platform_message_id, learner_id, payload,"
                " received_at, available_at, attempts, processed_at) SELECT 'telegram', n::text,"
                " 1 + n % 10000, '{}', now() - (n || ' minutes')::interval, now(), 0, now()"
                " FROM generate_series(1, 500000) n"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO outbox (learner_id, channel, address, payload, status, attempts,"
                " next_attempt_at, outcome_unknown, created_at) SELECT 1 + n % 10000, 'telegram',"
                " (n % 10000)::text, '{}', 'sent', 1, now(), false, now() - (n || ' minutes')::interval"
                " FROM generate_series(1, 500000) n"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO activity (learner_id, course_slug, kind, concept_id, item_id, correct,"
                " response, duration_ms, at) SELECT 1 + n % 10000, 'c', 'quiz', 'k', 'q' || n % 50,"
                " n % 3 = 0, '', 0, now() FROM generate_series(1, 200000) n"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    from storage.housekeeping import purge_old_messages

    statements: list[tuple[str, Any]] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if not statement.startswith("EXPLAIN"):
            statements.append((statement, parameters))

    with transaction(engine) as session:  # a purge with little to do: the usual case
        purge_old_messages(session, now=datetime.now(UTC), keep_days=340)
        learners_due_for_refit(session, min_reviews=30)
        session.rollback()
    sa.event.remove(engine, "before_cursor_execute", capture)
    plans = {}
    with engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            plans[statement.split(" WHERE")[0]] = "\n".join(row[0] for row in rows)
    engine.dispose()
    assert len(plans) == 6, plans  # five purges, one refit selection
    for statement, plan in plans.items():
        for table in ("inbound_message", "outbox", "activity"):
            assert f"Seq Scan on {table}" not in plan, f"{statement}:\n{plan}"
    assert "activity" not in "\n".join(plans.values())  # the refit reads counters, not history


def test_a_read_only_look_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    """WhatsApp's window is read while sending: it must not queue behind SQLite's write lock."""
    engine = fresh_sqlite(tmp_path / "read.db")
    with transaction(engine) as writer:
        writer.execute(sa.text("UPDATE learner SET name = 'x' WHERE id = -1"))  # holds the lock
        with reading(engine) as session:
            assert session.execute(sa.text("SELECT count(*) FROM learner")).scalar_one() == 0
    engine.dispose()
