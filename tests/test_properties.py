"""Random event sequences: the engine never crashes, always answers, and STOP works from anywhere.

Driven through the in-memory harness (the real step and command performers), with stray and late
internal events mixed in: a result for an activity the learner left is never applied to another.
"""

from __future__ import annotations

from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.content import Course
from core.content_loader import load_course
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from tests.conftest import DEMO_COURSE, FixedClock
from tests.harness import MemoryLearner

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
# Results that arrive for no open activity, or for an old one
stray_results = st.one_of(
    st.builds(lambda ref: InboundEvent.result(EventKind.GRADED, ref, score=0.5, covered=[],
                                              missed=["x"], concept_id="spacing"),
              st.sampled_from(["", "0@2026-03-02T09:00:00+00:00", "2@old"])),
    st.just(InboundEvent.result(EventKind.TIMER_FIRED, "1@old", name="still_there")),
    st.just(InboundEvent.result(EventKind.COMMAND_FAILED, "", command="render_chart", reason="x")),
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sequence=st.lists(st.tuples(events, st.booleans()), max_size=30),
    strays=st.lists(stray_results, max_size=3),
    onboard_first=st.booleans(),
)
def test_random_conversations_never_crash_always_answer_and_stop_works(
    sequence: list[tuple[InboundEvent, bool]], strays: list[InboundEvent], onboard_first: bool
) -> None:
    clock = FixedClock()
    learner = MemoryLearner([demo_course()], clock)
    if onboard_first:
        learner.onboard()
    for number, (event, slow_work) in enumerate(sequence):
        learner.hold_commands = slow_work  # commands may come back late, after later messages
        replies = learner.send(event)
        if event.kind is not EventKind.STATUS:
            assert replies, f"no answer to {event}"
        if strays and number % 7 == 3:
            before = learner.snapshot
            learner.send(strays.pop())
            assert learner.snapshot.state == before.state  # a stray result moves nothing on
        clock.advance(minutes=1)
    learner.hold_commands = False
    learner.wait()

    answer = learner.say("STOP")
    if not learner.snapshot.profile.consented:  # never consented (or deleted): nothing is kept
        assert "haven't kept anything" in answer
    else:
        assert "unsubscribed" in answer
        assert learner.state is State.STOPPED
