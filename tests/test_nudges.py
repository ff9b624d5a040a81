"""Nudges end to end, as the learner sees them: the sweep (storage/nudge_sweep.py) on a real
database, the nudge step (core/dialogue/nudging.py), the outbox and delivery, on a fixed clock.

Ada lives in Berlin (UTC+1 in March) and chose the morning (08:00 local, 07:00 UTC). She onboarded
on Monday 2 March 2026 at 10:00 local and left her first session with "cancel"."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core.content import Course
from core.dialogue.model import Snapshot, Transition, Turn, World
from core.dialogue.nudging import observe
from core.dialogue.states import State
from core.events import InboundEvent
from core.learner import Learning
from core.motivation import MotivationState
from core.replies import Choices, Image, Reply
from storage.db import transaction
from storage.models import InboundMessage, Learner
from tests.chat import ChatLearner
from tests.conftest import FixedClock, make_pau
from tests.transcripts import check_replies, describe
from webhooks.container import Pau

WAYS_IN_AND_OUT = ["Start today's three", "Fewer reminders", "Stop reminders"]
LESSON_1 = ["Step 1 of 3", "Why we forget", "Ebbinghaus", "savings", "Continue"]


def at(text: str) -> datetime:
    """A moment written in UTC: '2026-03-03 07:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def ada(pau: Pau, clock: FixedClock) -> ChatLearner:
    learner = ChatLearner(pau, "ada", clock)
    clock.now = at("2026-03-02 09:00")
    learner.onboard()
    learner.say("cancel")
    return learner


def sweep(learner: ChatLearner, when: str | None = None) -> list[Reply]:
    """The minute's sweep as of the clock (moved to `when` first), then the work it caused."""
    if when is not None:
        learner.clock.now = at(when)  # type: ignore[attr-defined]
    learner.pau.sweep_nudges()
    return learner.send_event_later()


def expect(replies: list[Reply], *fragments: str) -> None:
    check_replies("(nothing: the sweep)", replies, list(fragments))


def options_of(reply: Reply) -> list[str]:
    assert isinstance(reply, Choices), describe(reply)
    return [option.label for option in reply.options]


def set_learner(pau: Pau, user_id: str, **values: Any) -> None:
    with transaction(pau.engine) as session:
        session.execute(
            sa.update(Learner).where(col(Learner.external_id) == user_id).values(**values)
        )


def nudge_keys(pau: Pau) -> list[str]:
    with transaction(pau.engine) as session:
        keys = session.exec(
            select(InboundMessage.platform_message_id).where(
                col(InboundMessage.platform_message_id).startswith("nudge:")
            )
        ).all()
    return sorted(keys)


# --- the daily reminder ------------------------------------------------------------------------


def test_the_daily_reminder_arrives_at_the_chosen_local_time_with_ways_in_and_out(
    ada: ChatLearner,
) -> None:
    assert sweep(ada, "2026-03-03 06:59") == []  # 07:59 in Berlin
    queued_before = REGISTRY.get_sample_value("pau_nudges_total", {"kind": "daily"}) or 0.0
    sent = {"kind": "daily", "outcome": "sent"}
    sent_before = REGISTRY.get_sample_value("pau_nudges_sent_total", sent) or 0.0
    [reminder] = sweep(ada, "2026-03-03 07:00")
    assert REGISTRY.get_sample_value("pau_nudges_total", {"kind": "daily"}) == queued_before + 1
    assert REGISTRY.get_sample_value("pau_nudges_sent_total", sent) == sent_before + 1
    expect([reminder], "Ada, your 5 minutes are ready: next up is Why we forget")
    assert options_of(reminder) == WAYS_IN_AND_OUT
    ada.transcript([("Start today's three", LESSON_1)])


@pytest.fixture
def pau_on(engine: Engine, demo_course: Course, clock: FixedClock) -> Iterator[Pau]:
    created = make_pau(engine, demo_course, clock)
    yield created
    created.close()


def test_a_sweep_run_twice_in_the_same_minute_sends_the_nudge_once(
    pau_on: Pau, clock: FixedClock
) -> None:
    ada = ChatLearner(pau_on, "ada", clock)
    clock.now = at("2026-03-02 09:00")
    ada.onboard()
    ada.say("cancel")
    clock.now = at("2026-03-03 07:00")
    set_learner(pau_on, "ada", next_nudge_at=clock.now)
    first = pau_on.sweep_nudges()
    set_learner(pau_on, "ada", next_nudge_at=clock.now)  # as if a second worker read it too
    second = pau_on.sweep_nudges()
    assert [o.queued for o in first] == [True] and [o.queued for o in second] == [False]
    replies = ada.send_event_later()
    expect(replies, "your 5 minutes are ready")
    assert sweep(ada, "2026-03-03 07:00") == []
    assert len(nudge_keys(pau_on)) == 1


def test_a_queued_nudge_is_checked_again_when_it_goes_out(ada: ChatLearner) -> None:
    """The sweep queued the 20:30 reminder at 20:59; the worker only got to it after 21:00."""
    set_learner(ada.pau, "ada", daily_time="20:30")
    ada.clock.now = at("2026-03-03 19:59")  # 20:59 local
    set_learner(ada.pau, "ada", next_nudge_at=ada.clock.now)
    assert [o.queued for o in ada.pau.sweep_nudges()] == [True]
    ada.clock.now = at("2026-03-03 20:01")  # 21:01 local when the worker gets to it: quiet
    dropped = {"kind": "daily", "outcome": "dropped"}
    dropped_before = REGISTRY.get_sample_value("pau_nudges_sent_total", dropped) or 0.0
    assert ada.send_event_later() == []
    assert REGISTRY.get_sample_value("pau_nudges_sent_total", dropped) == dropped_before + 1


# --- nothing to those who do not want it -------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "answer"),
    [
        ("pause", "paused"),
        ("stop", "unsubscribed"),
        ("stop reminders", "Reminders are off"),
    ],
)
def test_paused_stopped_or_muted_learners_get_nothing(
    ada: ChatLearner, message: str, answer: str
) -> None:
    assert answer.lower() in ada.say(message).lower()
    for day in range(3, 10):
        assert sweep(ada, f"2026-03-{day:02d} 07:00") == [], day
        assert sweep(ada, f"2026-03-{day:02d} 18:00") == [], day
    assert nudge_keys(ada.pau) == []


def test_a_deleted_learner_gets_nothing(ada: ChatLearner) -> None:
    ada.say("delete")
    ada.say("yes")
    assert sweep(ada, "2026-03-03 07:00") == []
    assert nudge_keys(ada.pau) == []


def test_reminders_on_brings_them_back(ada: ChatLearner) -> None:
    ada.say("stop reminders")
    assert sweep(ada, "2026-03-03 07:00") == []
    ada.transcript([("reminders on", ["Reminders are on: daily at 08:00.", "What would you like"])])
    expect(sweep(ada, "2026-03-04 07:00"), "Ada, your 5 minutes are ready")


# --- one tap out -------------------------------------------------------------------------------


def test_fewer_reminders_from_the_nudge_means_every_other_day(ada: ChatLearner) -> None:
    sweep(ada, "2026-03-03 07:00")
    ada.transcript([("Fewer reminders", ["fewer reminders: every 2 days at 08:00", "What would"])])
    ada.clock.now = at("2026-03-04 11:00")
    ada.say("thanks")  # she still writes: no inactivity nudge either
    assert sweep(ada, "2026-03-04 07:00") == []
    expect(sweep(ada, "2026-03-05 07:00"), "Time for today's three, Ada!")
    ada.transcript([("Fewer reminders", ["every 4 days at 08:00", "What would"])])


def test_stop_reminders_from_the_nudge_is_not_an_unsubscribe(ada: ChatLearner) -> None:
    sweep(ada, "2026-03-03 07:00")
    ada.transcript(
        [
            ("Stop reminders", ["Reminders are off. I won't write first", "What would you like"]),
            ("today", LESSON_1),
        ]
    )


# --- varied wording ----------------------------------------------------------------------------


def test_the_same_wording_never_comes_twice_in_a_row(ada: ChatLearner) -> None:
    texts = []
    for day in range(3, 9):
        [reminder] = sweep(ada, f"2026-03-{day:02d} 07:00")
        texts.append(describe(reminder).split("\n")[0])
        ada.clock.now = at(f"2026-03-{day:02d} 12:00")
        ada.say("thanks")  # a word a day: she is not silent, so the daily reminder goes on
    assert all(a != b for a, b in itertools.pairwise(texts)), texts
    assert len(set(texts)) >= 3, texts


# --- quiet hours ---------------------------------------------------------------------------------


def test_the_learner_sets_their_quiet_hours(ada: ChatLearner) -> None:
    ada.transcript(
        [
            ("quiet", "Your quiet hours: 21:00–08:00. I don't send reminders then."),
            ("quiet 22-7", "Done: no reminders between 22:00 and 07:00."),
            ("quiet hours 22:30 to 6:45", "between 22:30 and 06:45"),
            ("quiet off", "No quiet hours now"),
            ("Ruhezeit 21-8", "between 21:00 and 08:00"),
        ]
    )


def test_a_reminder_time_inside_quiet_hours_comes_when_they_end(ada: ChatLearner) -> None:
    set_learner(ada.pau, "ada", daily_time="23:00")
    ada.clock.now = at("2026-03-02 12:00")
    ada.say("thanks")
    assert sweep(ada, "2026-03-02 22:00") == []  # 23:00 local: quiet
    expect(sweep(ada, "2026-03-03 07:00"), "your 5 minutes are ready")  # 08:00 local


# --- the other kinds -----------------------------------------------------------------------------


def test_two_days_of_silence_bring_a_gentle_nudge_naming_the_concept(ada: ChatLearner) -> None:
    expect(sweep(ada, "2026-03-03 07:00"), "your 5 minutes are ready")
    [nudge] = sweep(ada, "2026-03-04 07:00")
    expect(
        [nudge],
        "Hi Ada, it's been 2 days. Why we forget: the forgetting curve is right where you left it",
    )
    assert options_of(nudge) == WAYS_IN_AND_OUT


def test_a_streak_at_risk_says_whether_a_freeze_would_cover_it(ada: ChatLearner) -> None:
    streak = MotivationState(streak=5, best_streak=5, last_active_day=at("2026-03-02 12:00").date(),
                             freezes=1).to_dict()  # fmt: skip
    set_learner(ada.pau, "ada", motivation=streak)
    ada.clock.now = at("2026-03-03 12:00")
    ada.say("thanks")
    [nudge] = sweep(ada, "2026-03-03 18:00")  # 19:00 in Berlin, nothing done today
    expect([nudge], "Your 5-day streak ends at midnight, Ada. One quick activity keeps it alive."
                    " (A streak freeze would cover today — you have 1.)")  # fmt: skip


def test_an_uncelebrated_milestone_is_told_once(ada: ChatLearner) -> None:
    earned = MotivationState(badges=("first_lesson", "streak_7")).to_dict()
    set_learner(ada.pau, "ada", motivation=earned, next_nudge_at=at("2026-03-02 12:00"))
    ada.clock.now = at("2026-03-02 12:00")
    [nudge] = sweep(ada)
    expect(
        [nudge],
        "🏅 7 days in a row! A week of learning is a real habit forming. Congratulations, Ada!",
    )
    assert options_of(nudge)[0] == "My progress"
    assert sweep(ada, "2026-03-02 16:00") == []


def test_badges_celebrated_in_the_chat_are_not_nudged_again() -> None:
    """One celebration per activity: the one shown counts as told; the other waits for a nudge."""
    before = Snapshot(State.QUIZ, motivation=MotivationState())
    learning = Learning({}, before.stats, MotivationState(badges=("streak_7", "mastery_50")))
    transition = Transition(State.QUIZ, {}, learning=learning)
    turn = Turn(before, at("2026-03-02 12:00"), World({}))
    after = observe(turn, InboundEvent.text_message("b"), transition)
    assert after.nudging is not None and after.nudging.told == ("streak_7",)


def test_the_weekly_recap_comes_on_sunday_with_the_chart(ada: ChatLearner) -> None:
    ada.clock.now = at("2026-03-07 17:00")  # Saturday
    ada.say("today")
    ada.say("Continue")  # a lesson read this week
    ada.say("cancel")
    replies = sweep(ada, "2026-03-08 07:00")  # Sunday, 08:00 in Berlin
    assert len(replies) == 2, [describe(r) for r in replies]
    recap, chart = replies
    expect([recap], "Your week, Ada:\n• Why we forget")
    assert "-day streak" in describe(recap) and "Next:" in describe(recap)
    assert options_of(recap) == WAYS_IN_AND_OUT
    assert isinstance(chart, Image)


# --- habits ------------------------------------------------------------------------------------


def test_a_learner_who_starts_at_another_hour_is_offered_once_to_move_the_reminder(
    ada: ChatLearner,
) -> None:
    for day in range(3, 7):  # 19:xx in Berlin, four evenings running
        ada.clock.now = at(f"2026-03-{day:02d} 18:{day:02d}")
        ada.say("today")
        replies = ada.say("cancel")
    assert "You usually start your sessions around 19:00. Shall I move your daily reminder from" \
        " 08:00 to 19:00?" in replies  # fmt: skip
    ada.transcript([("Yes, 19:00", ["Done — your reminder now comes at 19:00.", "What would"])])
    expect(sweep(ada, "2026-03-07 18:00"), "Ada")  # 19:00 local
    for day in range(8, 11):
        ada.clock.now = at(f"2026-03-{day:02d} 06:{day:02d}")
        ada.say("today")
        assert "move your daily reminder" not in ada.say("cancel")  # offered once only


def test_a_reminder_during_an_open_session_leads_back_to_it(pau: Pau, clock: FixedClock) -> None:
    ken = ChatLearner(pau, "ken", clock)
    clock.now = at("2026-03-02 09:00")
    ken.onboard("Ken")  # and leaves the first lesson open
    [reminder] = sweep(ken, "2026-03-03 07:00")
    assert options_of(reminder) == ["Carry on", "Fewer reminders", "Stop reminders"]
    ken.transcript(
        [("Carry on", "middle of a session — let's finish this step first.\n   [1] Continue")]
    )


def test_a_reminder_put_off_because_the_learner_wrote_meanwhile_still_comes(
    pau_on: Pau, clock: FixedClock
) -> None:
    """The sweep queued it; she wrote before the worker got to it ("chatting right now": not
    now); the next look queues the same nudge again, and it goes out once."""
    ada = ChatLearner(pau_on, "ada", clock)
    clock.now = at("2026-03-02 09:00")
    ada.onboard()
    ada.say("cancel")
    clock.now = at("2026-03-03 07:00")
    assert [o.queued for o in pau_on.sweep_nudges()] == [True]
    pau_on.ingest(channel="test", sender_id="ada", platform_message_id="meanwhile",
                  event=InboundEvent.text_message("thanks"))  # fmt: skip
    clock.now = at("2026-03-03 07:01")
    expect(ada.send_event_later(), "You're welcome", "What would you like")  # no reminder now
    expect(sweep(ada, "2026-03-03 07:31"), "Ada, your 5 minutes are ready")
    assert sweep(ada, "2026-03-03 08:00") == [] and sweep(ada, "2026-03-03 09:00") == []
    assert len(nudge_keys(pau_on)) == 1
