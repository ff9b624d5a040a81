"""Nothing acknowledged is lost: stored before processing, one transaction per event, restarts resume."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

import core.runner
from core.content import Course
from core.dialogue.states import State
from core.events import InboundEvent
from core.replies import Quiz
from storage.learner_store import SqlLearnerStore
from tests.chat import ChatLearner, RecordingSender, state_of
from tests.conftest import FixedClock, fresh_sqlite, make_pau
from webhooks.container import Pau


def restart(pau: Pau, course: Course, clock: FixedClock, path: Path) -> Pau:
    pau.close()
    engine = fresh_sqlite(path)  # create_all is a no-op on existing tables
    return make_pau(engine, course, clock)


def test_a_restart_in_the_middle_of_a_quiz_resumes_the_quiz(
    demo_course: Course, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "restart.db"
    pau = make_pau(fresh_sqlite(path), demo_course, clock)
    learner = ChatLearner(pau, "u1", clock)
    learner.onboard()
    learner.say("Continue")
    quiz = next(r for r in learner.last_replies if isinstance(r, Quiz))

    pau = restart(pau, demo_course, clock, path)
    learner = ChatLearner(pau, "u1", clock)
    assert state_of(pau, "u1") == State.QUIZ
    learner.transcript([(str(quiz.correct_index + 1), ["Right!", "Step 3 of 3", "💭"])])
    pau.close()


def test_an_event_stored_before_a_crash_is_processed_after_restart(
    demo_course: Course, clock: FixedClock, tmp_path: Path
) -> None:
    path = tmp_path / "crash.db"
    pau = make_pau(fresh_sqlite(path), demo_course, clock)
    pau.ingest(
        channel="test",
        sender_id="u2",
        platform_message_id="before-crash",
        event=InboundEvent.text_message("hi"),
    )
    # the process dies here: stored and acknowledged, never processed

    pau = restart(pau, demo_course, clock, path)
    assert pau.process_pending() == 1
    asyncio.run(pau.dispatcher.deliver_due())
    sent = pau.senders["test"]
    assert isinstance(sent, RecordingSender)
    assert any("Is that OK with you?" in str(reply) for _, reply in sent.sent)
    pau.close()


def test_a_crash_inside_the_transaction_changes_nothing_and_the_event_is_retried(
    learner: ChatLearner, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner.onboard()
    original_save = SqlLearnerStore.save

    def dies(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("power cut")  # not an Exception: the runner must not swallow it

    monkeypatch.setattr(SqlLearnerStore, "save", dies)
    with pytest.raises(KeyboardInterrupt):
        learner.say("Continue")
    assert state_of(learner.pau) == State.LESSON
    with learner.pau.engine.connect() as connection:
        pending = connection.execute(
            sa.text("SELECT count(*) FROM inbound_message WHERE processed_at IS NULL")
        ).scalar()
        outbox = connection.execute(
            sa.text("SELECT count(*) FROM outbox WHERE status = 'pending'")
        ).scalar()
    assert (pending, outbox) == (1, 0)

    monkeypatch.setattr(SqlLearnerStore, "save", original_save)
    learner.pau.process_pending()
    asyncio.run(learner.pau.dispatcher.deliver_due())
    assert state_of(learner.pau) == State.QUIZ


def test_an_event_whose_step_fails_is_retried_then_set_aside_with_one_apology(
    onboarded: ChatLearner, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_step = core.runner.step
    monkeypatch.setattr(core.runner, "step", lambda *a: 1 / 0)
    assert onboarded.say("Continue") == ""  # first try failed: it waits 2 s, then again
    clock.advance(seconds=2)
    assert onboarded.send_event_later() == []  # second try failed: 4 s
    clock.advance(seconds=4)
    assert "something went wrong on my side" in onboarded.text_of(onboarded.send_event_later())
    clock.advance(seconds=60)
    assert onboarded.send_event_later() == []  # set aside: never tried again, one apology
    with onboarded.pau.engine.connect() as connection:
        error, attempts = connection.execute(
            sa.text("SELECT error, attempts FROM inbound_message WHERE error IS NOT NULL")
        ).one()
    assert error.startswith("set aside: ZeroDivisionError") and attempts == 2
    monkeypatch.setattr(core.runner, "step", real_step)
    assert "Step 2 of 3" in onboarded.say("Continue")  # the next message works


def test_events_are_processed_in_arrival_order(onboarded: ChatLearner) -> None:
    pau = onboarded.pau
    for number, text in enumerate(["Continue", "1", "skip"]):
        pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id=f"burst-{number}",
                   event=InboundEvent.text_message(text))  # fmt: skip
    assert pau.process_pending() == 3
    with pau.engine.connect() as connection:
        kinds = connection.execute(sa.text("SELECT kind FROM activity ORDER BY id")).scalars().all()
    assert kinds == ["lesson", "quiz", "reflection"]
    assert state_of(pau) == State.IDLE


def test_the_step_sees_the_time_the_message_arrived(
    onboarded: ChatLearner, clock: FixedClock
) -> None:
    onboarded.say("Continue")
    quiz = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    received = clock() + timedelta(seconds=20)
    onboarded.pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id="late",
                         event=InboundEvent.text_message(str(quiz.correct_index + 1)), received_at=received)  # fmt: skip
    clock.advance(hours=3)  # a backlog: processed three hours later
    onboarded.pau.process_pending()
    with onboarded.pau.engine.connect() as connection:
        duration = connection.execute(
            sa.text("SELECT duration_ms FROM activity WHERE kind = 'quiz'")
        ).scalar()
    assert duration == 20_000
