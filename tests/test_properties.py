"""Random event sequences: the engine never crashes, always answers, and STOP works from anywhere."""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.content import Course
from core.content_loader import load_course
from core.events import EventKind, InboundEvent
from tests.chat import ChatLearner
from tests.conftest import DEMO_COURSE, FixedClock, fresh_sqlite, make_pau
from tests.test_dialogue_transcripts import state_of

WORDS = [
    "hi", "yes", "no", "Ada", "1", "2", "3", "4", "b", "Berlin", "UTC+2", "7pm", "Continue", "skip",
    "what is spacing?", "banana", "true", "👍", "Yes please", "No reminders", "done", "one more",
    "help", "menu", "progress", "pause", "resume", "export", "delete", "today", "quiz", "start",
    "more", "ask", "/start", "/progress", "Europe/Paris", "I know a bit", "goal", "skip",
    "Spacing beats cramming because memories fade and each review slows the fading.",
]  # fmt: skip
CHOICES = [
    "yes", "no", "continue", "cmd:today", "cmd:more", "cmd:progress", "course:science-of-learning",
    "course:nope", "level:new", "level:wrong", "time:morning", "answer:forgetting-curve-1:0", "done",
    "goal:spacing", "goal:nope", "cmd:goal", "cmd:quiz",
]  # fmt: skip


@cache
def demo_course() -> Course:
    return load_course(DEMO_COURSE)


events = st.one_of(
    st.sampled_from(WORDS).map(InboundEvent.text_message),
    st.text(max_size=60).map(InboundEvent.text_message),
    st.sampled_from(CHOICES).map(lambda c: InboundEvent(EventKind.CHOICE, choice_id=c)),
    st.integers(-1, 6).map(lambda i: InboundEvent(EventKind.POLL_ANSWER, option_index=i)),
    st.sampled_from(["sticker", "voice", "location"]).map(
        lambda m: InboundEvent(EventKind.UNSUPPORTED, media_type=m)
    ),
    st.just(InboundEvent(EventKind.STATUS)),
    st.integers(4001, 9000).map(lambda n: InboundEvent.text_message("why " * (n // 4))),
    st.sampled_from(["/help", "/stop", "/today", "/quiz", "/whatever"]).map(
        lambda c: InboundEvent(EventKind.COMMAND, text=c)
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=st.lists(events, max_size=30), onboard_first=st.booleans())
def test_random_conversations_never_crash_always_answer_and_stop_works(
    sequence: list[InboundEvent], onboard_first: bool
) -> None:
    clock = FixedClock()
    pau = make_pau(fresh_sqlite(), demo_course(), clock)
    try:
        learner = ChatLearner(pau, "prop", clock)
        if onboard_first:
            learner.onboard()
        for event in sequence:
            replies = learner.send_event(event)
            if event.kind is not EventKind.STATUS:
                assert replies, f"no answer to {event}"
            clock.advance(minutes=1)
        with pau.engine.connect() as connection:
            errors = connection.execute(
                sa.text("SELECT error FROM inbound_message WHERE error IS NOT NULL")
            ).all()
        assert errors == []

        answer = learner.say("STOP")
        if state_of(pau, "prop") is None:  # never consented (or deleted): nothing is kept
            assert "haven't kept anything" in answer
        else:
            assert "unsubscribed" in answer
            assert state_of(pau, "prop") == "stopped"
    finally:
        pau.close()
