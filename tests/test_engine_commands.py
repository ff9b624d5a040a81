"""Commands and internal events end to end (DESIGN.md §2): slow work leaves the transaction, its
result comes back once, late results never land on the wrong activity, timers fire in order, and
an event that cannot be processed never holds up anybody else."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.command_worker import CommandWorker
from core.commands import POLICIES, CommandKind, CommandPolicy
from core.content import Course
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.performers import CORE_PERFORMERS
from storage.db import transaction
from storage.learner_store import ingest_internal
from tests.chat import ChatLearner, state_of
from tests.conftest import FixedClock, fresh_sqlite, make_pau
from tests.transcripts import check_replies
from webhooks.container import Pau

EXPLANATION = "Forgetting is fastest right after learning and each review slows it down."


def reach_explain_back(learner: ChatLearner) -> None:
    for message in ("Continue", "1", "skip"):
        learner.say(message)
    learner.tap("cmd:more")
    learner.say("Continue")
    learner.say("1")
    assert state_of(learner.pau, learner.user_id) == State.EXPLAIN


def rows(pau: Pau, query: str) -> list[Any]:
    with pau.engine.connect() as connection:
        return list(connection.execute(sa.text(query)).all())


class Gate:
    """A performer that waits until the test opens the gate: grading 'in progress'."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.started = 0
        self.lock = threading.Lock()

    def __call__(self, learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.started += 1
        assert self.open.wait(timeout=30)
        return CORE_PERFORMERS[CommandKind.GRADE_EXPLANATION](learner_id, args)


def use_worker(pau: Pau, **performers: Any) -> None:
    """Swap performers (by command kind name) and policies in the PAU's command worker."""
    policies = dict(POLICIES)
    for kind, policy in performers.pop("policies", {}).items():
        policies[CommandKind(kind)] = policy
    chosen = {**CORE_PERFORMERS, **pau.commands.performers}
    chosen.update({CommandKind(kind): perform for kind, perform in performers.items()})
    pau.commands = CommandWorker(pau._command_queue, chosen, pau.clock, policies)


# -- 1. commands out, results back -----------------------------------------------------------


def test_an_explanation_is_graded_after_the_commit_not_inside_it(onboarded: ChatLearner) -> None:
    reach_explain_back(onboarded)
    pau = onboarded.pau
    pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id="explain",
               event=InboundEvent.text_message(EXPLANATION))  # fmt: skip
    assert pau.process_pending() == 1  # the step committed and released the learner ...
    assert state_of(pau) == State.EXPLAIN_GRADING
    [(kind, status, args)] = rows(pau, "SELECT kind, status, args FROM command")
    assert (kind, status) == ("grade_explanation", "pending") and EXPLANATION in args
    # ... with "typing…" already on its way, and no feedback yet
    assert [r[0] for r in rows(pau, "SELECT payload FROM outbox WHERE status='pending'")] == [
        '{"type": "typing"}'
    ]
    assert asyncio.run(pau.commands.run_until_idle()) == 1
    [(status, args)] = rows(pau, "SELECT status, args FROM command")
    assert status == "done" and args == "{}"  # the learner's text is not kept in the queue
    [(key, payload)] = rows(
        pau,
        "SELECT platform_message_id, payload FROM inbound_message"
        " WHERE channel='internal' AND platform_message_id LIKE 'command:%'",
    )
    assert key.startswith("command:") and '"graded"' in payload
    replies = onboarded.send_event_later()
    check_replies(
        "(graded)",
        replies,
        ["typing", "You covered: forgetting is fastest", "session done", "One more round"],
    )
    assert state_of(pau) == State.IDLE


def test_a_result_stored_twice_has_one_effect(onboarded: ChatLearner) -> None:
    """A command that ran twice (a worker died after performing it) finishes once: the second
    settle finds the lease gone, and the result's key is taken."""
    reach_explain_back(onboarded)
    pau, clock = onboarded.pau, onboarded.clock
    pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id="explain",
               event=InboundEvent.text_message(EXPLANATION))  # fmt: skip
    pau.process_pending()
    with pau._command_queue() as queue:
        [first] = queue.claim(CommandKind.GRADE_EXPLANATION, clock(), 5, lease_seconds=60)
    # the first worker dies here, after grading; its lease runs out and another takes it
    clock.advance(seconds=61)  # type: ignore[attr-defined]
    with pau._command_queue() as queue:
        [second] = queue.claim(CommandKind.GRADE_EXPLANATION, clock(), 5, lease_seconds=60)
    assert second.id == first.id
    result = InboundEvent.result(EventKind.GRADED, first.ref, score=0.9, covered=["a"], missed=[],
                                 misconception=None, concept_id="forgetting-curve")  # fmt: skip
    with pau._command_queue() as queue:
        assert queue.finish(second, result, clock()) is True
    with pau._command_queue() as queue:
        assert queue.finish(first, result, clock()) is False  # the dead worker's late settle
    with transaction(pau.engine) as session:  # even a direct second ingest of the same key
        again = ingest_internal(session, learner_id=first.learner_id, key=f"command:{first.id}",
                                event=result, now=clock())  # fmt: skip
    assert again is None
    replies = onboarded.send_event_later()
    assert sum("session done" in onboarded.text_of([r]) for r in replies) == 1
    assert len(rows(pau, "SELECT id FROM activity WHERE kind='explain_back'")) == 1


def test_a_late_grade_is_acknowledged_and_never_applied_to_the_next_activity(
    onboarded: ChatLearner,
) -> None:
    reach_explain_back(onboarded)
    gate = Gate()
    use_worker(onboarded.pau, grade_explanation=gate)
    pau = onboarded.pau
    pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id="explain",
               event=InboundEvent.text_message(EXPLANATION))  # fmt: skip
    pau.process_pending()

    async def leave_then_grade() -> None:
        await pau.commands.start_due()  # grading starts, and waits at the gate
        for word in ("cancel", "quiz"):  # the learner ends the session, asks for a quick quiz
            pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id=word,
                       event=InboundEvent.text_message(word))  # fmt: skip
        await asyncio.to_thread(pau.process_pending)
        gate.open.set()
        await pau.commands.run_until_idle()

    asyncio.run(leave_then_grade())
    assert state_of(pau) == State.QUIZ
    replies = onboarded.send_event_later()
    text = onboarded.text_of(replies)
    assert "About your earlier explanation" in text and "noted in your progress" in text
    assert state_of(pau) == State.QUIZ  # the open quiz is untouched
    [(_, score)] = rows(pau, "SELECT kind, score FROM activity WHERE kind='explain_back'")
    assert score is not None  # the evidence is kept for the concept it belongs to


def test_a_failing_command_is_retried_then_the_learner_hears_it_failed(
    onboarded: ChatLearner,
) -> None:
    reach_explain_back(onboarded)
    tries = []

    def broken(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        tries.append(1)
        raise RuntimeError("grader exploded")

    use_worker(onboarded.pau, grade_explanation=broken)
    onboarded.say(EXPLANATION)  # first try fails: retried in 2 s
    for _ in range(3):
        onboarded.clock.advance(seconds=10)  # type: ignore[attr-defined]
        replies = onboarded.send_event_later()
    assert len(tries) == POLICIES[CommandKind.GRADE_EXPLANATION].max_attempts
    assert "couldn't check your explanation" in onboarded.text_of(onboarded.sender_replies())
    [(status, error)] = rows(onboarded.pau, "SELECT status, last_error FROM command")
    assert status == "failed" and "grader exploded" in error
    assert state_of(onboarded.pau) == State.IDLE  # the session carried on
    del replies


def test_a_command_that_runs_too_long_times_out_and_counts_as_a_try(
    onboarded: ChatLearner,
) -> None:
    reach_explain_back(onboarded)
    slow = threading.Event()

    def stuck(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        slow.wait(timeout=5)
        return {}

    quick = CommandPolicy(timeout_seconds=0.2, max_attempts=1, concurrency=1)
    use_worker(onboarded.pau, grade_explanation=stuck, policies={"grade_explanation": quick})
    started = time.monotonic()
    onboarded.say(EXPLANATION)
    assert time.monotonic() - started < 3
    slow.set()
    [(status, error)] = rows(onboarded.pau, "SELECT status, last_error FROM command")
    assert status == "failed" and "timed out after 0.2 s" in error
    assert "couldn't check your explanation" in onboarded.text_of(onboarded.sender_replies())


def test_at_most_the_cap_of_one_kind_runs_at_once(
    demo_course: Course, clock: FixedClock, tmp_path: Path
) -> None:
    pau = make_pau(fresh_sqlite(tmp_path / "cap.db"), demo_course, clock)
    gate = Gate()
    two_at_once = CommandPolicy(timeout_seconds=30, max_attempts=3, concurrency=2)
    use_worker(pau, grade_explanation=gate, policies={"grade_explanation": two_at_once})
    learners = [ChatLearner(pau, f"l{n}", clock) for n in range(5)]
    for learner in learners:
        learner.onboard()
        reach_explain_back(learner)
    for learner in learners:
        pau.ingest(channel="test", sender_id=learner.user_id,
                   platform_message_id=f"x-{learner.user_id}", event=InboundEvent.text_message(EXPLANATION))  # fmt: skip
    pau.process_pending()

    async def run() -> int:
        await pau.commands.start_due()
        await pau.commands.start_due()  # a second tick claims nothing more: slots are full
        await asyncio.sleep(0.3)
        running = gate.started
        gate.open.set()
        await pau.commands.run_until_idle()
        return running

    assert asyncio.run(run()) == 2
    assert gate.started == 5
    pau.close()


# -- 3. one queue per learner, in order; timers -----------------------------------------------


def queue_order(pau: Pau, learner_id: int) -> list[tuple[str, str]]:
    """The learner's queued events in the order the runner takes them."""
    seen = []
    with pau._learner_store() as store:
        while (pending := store.next_pending(learner_id, pau.clock())) is not None:
            seen.append((pending.event.kind.value, pending.event.text))
            store.mark_processed(pending.id, pau.clock())
    return seen


def queue_timer(pau: Pau, learner_id: int, key: str) -> None:
    with transaction(pau.engine) as session:
        ingest_internal(session, learner_id=learner_id, key=key, now=pau.clock(),
                        event=InboundEvent.result(EventKind.TIMER_FIRED, "", name="test"))  # fmt: skip


def test_a_result_queues_behind_messages_that_arrived_before_it(onboarded: ChatLearner) -> None:
    """One arrival sequence for platform and internal events: a result is not put ahead of
    Telegram messages already queued (as `coalesce(sequence, 0)` did)."""
    pau = onboarded.pau
    learner_id = rows(pau, "SELECT id FROM learner")[0][0]
    pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id="first",
               event=InboundEvent.text_message("help"), sequence=10)  # fmt: skip
    queue_timer(pau, learner_id, "between")
    pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id="second",
               event=InboundEvent.text_message("menu"), sequence=11)  # fmt: skip
    assert queue_order(pau, learner_id) == [
        ("text", "help"), ("timer_fired", ""), ("text", "menu"),
    ]  # fmt: skip


def test_telegram_updates_keep_their_own_order_among_internal_events(
    onboarded: ChatLearner,
) -> None:
    """Two webhooks raced: update 21 was stored before update 20. Telegram's order wins among
    Telegram messages; the internal event between them keeps its place in arrival order."""
    pau = onboarded.pau
    learner_id = rows(pau, "SELECT id FROM learner")[0][0]
    pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id="u21",
               event=InboundEvent.text_message("menu"), sequence=21)  # fmt: skip
    queue_timer(pau, learner_id, "between")
    pau.ingest(channel="test", sender_id=onboarded.user_id, platform_message_id="u20",
               event=InboundEvent.text_message("help"), sequence=20)  # fmt: skip
    assert queue_order(pau, learner_id) == [
        ("text", "help"), ("text", "menu"), ("timer_fired", ""),
    ]  # fmt: skip


def test_an_open_quiz_gets_one_still_there_after_fifteen_quiet_minutes(
    memo_onboarded: Any, clock: FixedClock
) -> None:
    memo_onboarded.say("Continue")
    clock.advance(minutes=14)
    assert memo_onboarded.wait() == []
    clock.advance(minutes=2)
    assert [memo_onboarded.text_of(memo_onboarded.wait())] == [
        'Still there? No rush — answer when you\'re ready, or type "skip" to move on.'
    ]
    clock.advance(hours=2)
    assert memo_onboarded.wait() == []  # once per question
    assert memo_onboarded.state is State.QUIZ


def test_no_still_there_once_the_quiz_is_answered_or_at_night(
    memo_onboarded: Any, clock: FixedClock
) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.say("1")  # answered: its timer will find the learner elsewhere
    clock.advance(minutes=20)
    assert memo_onboarded.wait() == []
    memo_onboarded.say("skip")
    clock.advance(hours=11)  # 20:20 UTC is 21:20 in Berlin: quiet hours
    memo_onboarded.say("quiz")
    clock.advance(minutes=20)
    assert memo_onboarded.wait() == []


def test_a_timer_is_stored_as_a_deferred_event_and_fires_through_storage(
    onboarded: ChatLearner, clock: FixedClock
) -> None:
    onboarded.say("Continue")
    [(available, received)] = rows(
        onboarded.pau,
        "SELECT available_at, received_at FROM inbound_message WHERE platform_message_id LIKE 'timer:%'",
    )
    assert str(available) > str(received)
    assert onboarded.send_event_later() == []
    clock.advance(minutes=16)
    assert "Still there?" in onboarded.text_of(onboarded.send_event_later())


# -- 4. poison isolation ----------------------------------------------------------------------


def test_150_broken_learners_do_not_keep_a_new_learner_waiting(
    demo_course: Course, clock: FixedClock, tmp_path: Path
) -> None:
    pau = make_pau(fresh_sqlite(tmp_path / "broken.db"), demo_course, clock)
    for number in range(150):
        pau.ingest(channel="test", sender_id=f"broken-{number}", platform_message_id=f"b{number}",
                   event=InboundEvent.text_message("hi"))  # fmt: skip
    with pau.engine.begin() as connection:  # stored by an older release, unreadable by this one
        connection.execute(
            sa.text("""UPDATE inbound_message SET payload = '{"kind": "hologram"}'""")
        )
    newcomer = ChatLearner(pau, "newcomer", clock)
    started = time.monotonic()
    assert "Is that OK with you?" in newcomer.say("hi")  # in the very same round of work
    assert time.monotonic() - started < 10
    [(failed_once,)] = rows(pau, "SELECT count(*) FROM inbound_message WHERE attempts = 1")
    assert failed_once == 150  # each broken event was tried once, then waits its turn
    for _ in range(3):
        clock.advance(seconds=10)
        newcomer.send_event_later()
    [(set_aside,)] = rows(
        pau, "SELECT count(*) FROM inbound_message WHERE error LIKE 'set aside:%'"
    )
    assert set_aside == 150
    apologies = [a for a, r in newcomer.sender.sent if "went wrong on my side" in str(r)]
    assert len(apologies) == 150 and len(set(apologies)) == 150  # each hears it once
    pau.close()


def test_a_learner_whose_snapshot_cannot_be_loaded_does_not_hold_up_the_others(
    demo_course: Course, clock: FixedClock, tmp_path: Path
) -> None:
    pau = make_pau(fresh_sqlite(tmp_path / "two.db"), demo_course, clock)
    broken, fine = ChatLearner(pau, "broken", clock), ChatLearner(pau, "fine", clock)
    broken.say("hi")
    with pau.engine.begin() as connection:  # a state this release does not know any more
        connection.execute(sa.text("UPDATE conversation SET state = 'review:old'"))
    assert broken.send_event(InboundEvent.text_message("yes")) == []  # kept, retried later
    assert "Is that OK with you?" in fine.say("hi")
    [(attempts,)] = rows(pau, "SELECT attempts FROM inbound_message WHERE processed_at IS NULL")
    assert attempts == 1
    pau.close()


# -- 5. configuration -------------------------------------------------------------------------


def test_a_channel_with_the_default_secret_key_refuses_to_start() -> None:
    from core.errors import ConfigurationError
    from webhooks.config import Settings
    from webhooks.container import check_settings

    for key in ("change-me", "", "short"):
        with pytest.raises(ConfigurationError, match="PAU_SECRET_KEY"):
            check_settings(Settings(telegram_bot_token="123:abc", pau_secret_key=key))
    check_settings(Settings(pau_secret_key="change-me"))  # no channel: the terminal chat is fine
    check_settings(Settings(telegram_bot_token="123:abc", pau_secret_key="x" * 32))


def test_pau_serve_says_what_to_set_instead_of_starting(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }
    result = subprocess.run([sys.executable, "-m", "webhooks.cli", "serve"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "PAU_SECRET_KEY is unset or a default" in result.stderr


def test_a_grade_for_an_activity_a_course_update_removed_is_dropped_quietly(
    memo: Any, demo_course: Course
) -> None:
    from tests.test_commands import reach

    reach(memo, State.EXPLAIN_GRADING)
    concept = memo.snapshot.data["plan"][memo.snapshot.data["index"]]["concept"]
    trimmed = replace(
        demo_course, concepts=tuple(c for c in demo_course.concepts if c.id != concept)
    )
    memo.world = replace(memo.world, courses={demo_course.slug: trimmed})
    assert memo.perform_commands() == []  # no feedback for an activity that no longer exists
    memo.transcript([("hello", ["changed in a course update", "What would you like to do?"])])
