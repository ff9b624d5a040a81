"""The LLM tutor in the conversation, read as transcripts (the in-memory harness, a scripted
ASK_TUTOR performer standing in for core/tutor's): "typing…" at once, then the answer or hint as
an internal event, and the open activity goes on; honest words whenever the tutor could not help.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest

from core.commands import CommandKind
from core.content import Course
from core.dialogue import tutoring
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.replies import Choices, Quiz, Typing
from tests.conftest import FixedClock
from tests.harness import MemoryLearner

Result = dict[str, Any]
MENU = "What would you like to do?"
BACK_AFTER_HINT = "Back to the question — your answer? (Or say “I don't know” to see it.)"


def tutor_answer(args: Mapping[str, Any], **changes: Any) -> Result:
    """What TUTOR_PERFORMER's performer returns (the contract in the shared brief)."""
    hint = args["mode"] == "hint"
    result: Result = {
        "text": "Think about the first hours." if hint else "Memories fade fast at first.",
        "lesson": "Why we forget",
        "concept_id": "forgetting-curve",
        "method": "llm",
        "fallback": "",
        "nothing_found": False,
        "question": args["question"],
        "mode": args["mode"],
    }
    return {**result, **changes}


class ScriptedTutor:
    """The ASK_TUTOR performer: keeps every command's args, answers with `reply(args)`."""

    def __init__(self, reply: Callable[[Mapping[str, Any]], Result] = tutor_answer) -> None:
        self.reply = reply
        self.asked: list[dict[str, Any]] = []

    def __call__(self, learner_id: int, args: Mapping[str, Any]) -> Result:
        self.asked.append(dict(args))
        return self.reply(args)


def tutored_learner(
    course: Course, clock: FixedClock, tutor: ScriptedTutor | None, *, tutor_on: bool = True
) -> MemoryLearner:
    """An onboarded learner on the first lesson; `tutor` None: no performer (it always fails)."""
    performers = {CommandKind.ASK_TUTOR: tutor} if tutor else {}
    learner = MemoryLearner([course], clock, performers=performers)
    learner.world = replace(learner.world, tutor_on=tutor_on)
    learner.onboard()
    return learner


@pytest.fixture
def tutor() -> ScriptedTutor:
    return ScriptedTutor()


@pytest.fixture
def ada(demo_course: Course, clock: FixedClock, tutor: ScriptedTutor) -> MemoryLearner:
    return tutored_learner(demo_course, clock, tutor)


def to_quiz(learner: MemoryLearner) -> Quiz:
    learner.say("Continue")
    assert learner.state is State.QUIZ
    return next(r for r in learner.last_replies if isinstance(r, Quiz))


def to_idle(learner: MemoryLearner) -> None:
    learner.say("cancel")
    assert learner.state is State.IDLE


def test_a_question_while_idle_is_answered_by_the_tutor_with_its_lesson_then_the_menu(
    ada: MemoryLearner, tutor: ScriptedTutor
) -> None:
    to_idle(ada)
    ada.transcript(
        [
            ("Why do we forget so quickly?", [
                "typing", "Memories fade fast at first.", "📖 From the lesson “Why we forget”", MENU,
            ]),
        ]
    )  # fmt: skip
    assert isinstance(ada.last_replies[0], Typing)
    [args] = tutor.asked
    assert args == {
        "question": "Why do we forget so quickly?",
        "mode": "answer",
        "course": "science-of-learning",
        "concept_id": "",  # nothing studied yet (the first lesson was cancelled)
        "language": "en",
        "level": "new",
        "name": "Ada",
        "interests": "",
        "memory": [],
        "item": None,
    }
    assert ada.writes[-1].kind == "question" and ada.writes[-1].concept_id == "forgetting-curve"
    ada.say("quiz")  # with a quiz open, its concept
    ada.say("why?")
    course = ada.world.course("science-of-learning")
    asked = tutor.asked[-1]
    item = course.quiz_item(asked["item"]["id"]) if course else None
    assert item is not None and asked["concept_id"] == item.concept_id


def test_the_step_only_shows_typing_and_asks_the_tutor(ada: MemoryLearner) -> None:
    ada.hold_commands = True
    ada.say("what did Ebbinghaus find about relearning?")
    assert [type(r) for r in ada.last_replies] == [Typing]
    [command] = ada.commands
    assert command.kind is CommandKind.ASK_TUTOR and command.ref.startswith("0@")
    assert ada.state is State.LESSON
    ada.transcript([("Continue", ["First lesson done", "Step 2 of 3", "❓"])])  # still open
    answer = ada.wait()  # the answer comes after the learner moved on: still worth having
    assert ada.text_of(answer).startswith("Memories fade fast at first.")
    assert "Back to the question" in ada.text_of(answer[-1:])


def test_a_question_mid_lesson_is_answered_and_the_lesson_resumes(ada: MemoryLearner) -> None:
    ada.transcript(
        [
            ("what did Ebbinghaus find about relearning?", [
                "typing", "Memories fade fast", "From the lesson", "Back to the lesson — tap Continue",
            ]),
            ("Continue", ["First lesson done", "Step 2 of 3", "❓"]),
        ]
    )  # fmt: skip


def test_an_answer_of_several_paragraphs_comes_in_two_bubbles(
    demo_course: Course, clock: FixedClock
) -> None:
    text = "First, the curve.\n\nThen, the savings.\n\nAnd the rest."
    tutor = ScriptedTutor(lambda args: tutor_answer(args, text=text, lesson=""))
    learner = tutored_learner(demo_course, clock, tutor)
    learner.transcript(
        [("why does relearning go faster?", [
            "typing", "First, the curve.", "Then, the savings.\n\nAnd the rest.", "Back to the lesson",
        ])]
    )  # fmt: skip


def test_is_it_b_during_a_quiz_asks_for_a_hint_and_the_quiz_stays_answerable(
    ada: MemoryLearner, tutor: ScriptedTutor
) -> None:
    quiz = to_quiz(ada)
    ada.transcript(
        [("is it b?", ["typing", "Think about the first hours.", "📖", BACK_AFTER_HINT])]
    )
    [args] = tutor.asked
    assert args["mode"] == "hint"
    assert args["item"] == {
        "id": quiz.item_id,
        "question": quiz.question,
        "options": list(quiz.options),
        "correct_index": quiz.correct_index,
        "answers": [],
        "explanation": quiz.explanation,
    }
    back = ada.last_replies[-1]
    assert isinstance(back, Choices) and back.options[0].id == f"answer:{quiz.item_id}:0"
    assert ada.state is State.QUIZ and not [w for w in ada.writes if w.kind == "quiz"]
    ada.transcript([(str(quiz.correct_index + 1), ["✅ Right!", "Step 3 of 3", "💭"])])


@pytest.mark.parametrize(
    "asked",
    [
        "is it b?", "is it b", "Is it the first one?", "could it be c?", "just tell me",
        "which one is it?", "which one is it", "give me a hint", "hint", "hint please",
        "any hints?", "can I have a hint?", "tipp", "gib mir einen tipp", "ist es b?",
    ],
)  # fmt: skip
def test_hint_requests_during_a_quiz_go_to_the_tutor_as_hints(
    ada: MemoryLearner, tutor: ScriptedTutor, asked: str
) -> None:
    to_quiz(ada)
    ada.say(asked)
    assert [a["mode"] for a in tutor.asked] == ["hint"]
    assert ada.state is State.QUIZ and not [w for w in ada.writes if w.kind == "quiz"]


@pytest.mark.parametrize(
    ("said", "feedback"),
    [("b", "Not quite"), ("2", "Not quite"), ("I'd say b", "Not quite"), ("b?", "Not quite"),
     ("I don't know", "The answer is:"), ("skip", "Skipped")],
)  # fmt: skip
def test_answers_dont_know_and_skip_stay_what_they_were(
    ada: MemoryLearner, tutor: ScriptedTutor, said: str, feedback: str
) -> None:
    to_quiz(ada)  # the right answer is a)
    ada.say(said)
    assert tutor.asked == []
    assert feedback in ada.text_of(ada.last_replies[:1])
    assert ada.state is not State.QUIZ


def test_a_question_during_a_quiz_is_asked_as_a_hint(
    ada: MemoryLearner, tutor: ScriptedTutor
) -> None:
    to_quiz(ada)
    ada.say("Why do we forget things so fast after learning them?")
    assert tutor.asked[0]["mode"] == "hint" and tutor.asked[0]["item"] is not None
    assert "Back to the question" in ada.text_of(ada.last_replies[-1:])


def test_a_hint_that_comes_after_the_quiz_was_answered_is_dropped(ada: MemoryLearner) -> None:
    quiz = to_quiz(ada)
    ada.hold_commands = True
    ada.say("is it b?")
    ada.say(str(quiz.correct_index + 1))
    assert ada.state is State.REFLECTION
    assert ada.wait() == []


@pytest.mark.parametrize(
    ("fallback", "honest"),
    [
        ("unavailable", "The tutor isn't available right now, so here's what the course says:"),
        ("timeout", "The tutor isn't available right now"),
        ("over_budget", "You've used today's tutor time, so here's what the course says:"),
        ("unsafe", "I couldn't put together an answer I'd trust just now"),
    ],
)
def test_an_offline_answer_says_so_honestly_first(
    demo_course: Course, clock: FixedClock, fallback: str, honest: str
) -> None:
    passage = "Forgetting is fastest soon after learning."
    tutor = ScriptedTutor(lambda a: tutor_answer(a, method="offline", fallback=fallback,
                                                 text=passage))  # fmt: skip
    learner = tutored_learner(demo_course, clock, tutor)
    learner.transcript(
        [("why do we forget so fast?", ["typing", honest, passage, "From the lesson", "Back to"])]
    )


def test_an_answer_from_the_cache_needs_no_excuse(demo_course: Course, clock: FixedClock) -> None:
    tutor = ScriptedTutor(lambda a: tutor_answer(a, method="cache"))
    learner = tutored_learner(demo_course, clock, tutor)
    learner.transcript(
        [("why do we forget so fast?", ["typing", "Memories fade", "From the lesson", "Back to"])]
    )


def test_nothing_found_offers_a_mentor_and_one_tap_escalates(
    demo_course: Course, clock: FixedClock
) -> None:
    tutor = ScriptedTutor(lambda a: tutor_answer(a, method="offline", fallback="", text="",
                                                 lesson="", nothing_found=True))  # fmt: skip
    learner = tutored_learner(demo_course, clock, tutor)
    learner.transcript(
        [("What is the capital of Mongolia?", [
            "typing", "couldn't find that in the course", "Back to the lesson",
        ])]
    )  # fmt: skip
    offer = learner.last_replies[1]
    assert isinstance(offer, Choices) and [o.id for o in offer.options] == ["mentor:ask"]
    learner.transcript([("Ask a mentor", ["a mentor", "Back to the lesson"])])
    [escalation] = learner.escalations
    assert (escalation.question, escalation.reason) == ("What is the capital of Mongolia?",
                                                        "no_answer")  # fmt: skip
    assert learner.state is State.LESSON


def test_the_last_exchanges_are_remembered_and_sent_with_the_next_question(
    ada: MemoryLearner, tutor: ScriptedTutor
) -> None:
    long_question = "why " + "really " * 80 + "?"
    for question in ("why do we forget?", "and relearning?", long_question, "what about sleep?"):
        ada.say(question)
    memories = [args["memory"] for args in tutor.asked]
    assert memories[0] == []
    assert memories[1] == [{"q": "why do we forget?", "a": "Memories fade fast at first."}]
    assert [m["q"] for m in memories[3]] == ["why do we forget?", "and relearning?",
                                             long_question[:300]]  # fmt: skip
    ada.say("and spacing?")
    assert [m["q"] for m in tutor.asked[-1]["memory"]] == ["and relearning?", long_question[:300],
                                                          "what about sleep?"]  # fmt: skip


def test_a_failed_tutor_command_gives_the_course_answer_honestly(
    demo_course: Course, clock: FixedClock
) -> None:
    learner = tutored_learner(demo_course, clock, None)  # no performer: the command fails
    learner.transcript(
        [
            ("what did Ebbinghaus find about relearning?", [
                "typing", "The tutor isn't available right now", "From the lesson",
                "Back to the lesson",
            ]),
            ("What is the capital of Mongolia?", [
                "typing", "The tutor isn't available", "couldn't find that in the course",
                "Back to the lesson",
            ]),
        ]
    )  # fmt: skip


def test_a_failed_hint_points_to_the_lesson_and_never_to_the_answer(
    demo_course: Course, clock: FixedClock
) -> None:
    learner = tutored_learner(demo_course, clock, None)
    quiz = to_quiz(learner)
    learner.transcript(
        [("is it b?", [
            "typing", "The tutor isn't available", "think back to the lesson “Why we forget: the forgetting curve”",
            BACK_AFTER_HINT,
        ])]
    )  # fmt: skip
    assert quiz.options[quiz.correct_index] not in learner.text_of(learner.last_replies)
    assert learner.state is State.QUIZ


def test_nothing_is_said_after_the_learner_stopped_or_erased(ada: MemoryLearner) -> None:
    ada.hold_commands = True
    ada.say("why do we forget?")
    ada.say("stop")
    assert ada.wait() == []
    ada.say("start")
    ada.say("why do we forget?")
    ada.say("delete")
    ada.say("yes")
    assert ada.erased == 1 and ada.wait() == []


def test_an_abusive_message_is_refused_without_asking_the_tutor(
    ada: MemoryLearner, tutor: ScriptedTutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tutoring, "abusive", lambda text: "idiot" in text)
    ada.transcript([("you are an idiot, why is this so hard?", [
        "keep things friendly", "Back to the lesson",
    ])])  # fmt: skip
    quiz = to_quiz(ada)
    ada.transcript([("hint, idiot", ["keep things friendly", "Back to the question"])])
    assert tutor.asked == [] and ada.state is State.QUIZ
    ada.say(str(quiz.correct_index + 1))
    assert "Right" in ada.text_of(ada.last_replies)


@pytest.mark.parametrize(
    ("said", "refused"),
    [("you stupid useless bot, shut up", True), ("you idiot, why is this so hard?", True),
     ("this is so hard, I'm such an idiot?", False), ("why is the forgetting curve so steep?", False)],
)  # fmt: skip
def test_the_guardrail_refuses_abuse_and_not_frustration(
    ada: MemoryLearner, tutor: ScriptedTutor, said: str, refused: bool
) -> None:
    ada.say(said)
    assert ("keep things friendly" in ada.text_of(ada.last_replies)) is refused
    assert (tutor.asked == []) is refused
    assert ada.state is State.LESSON


def test_a_result_nobody_waits_for_is_ignored(ada: MemoryLearner) -> None:
    stray = InboundEvent.result(EventKind.TUTOR_ANSWERED, "tutor", text="Hello", question="x")
    assert ada.send(stray) == []
    assert ada.send(InboundEvent.result(EventKind.TUTOR_ANSWERED, "tutor")) == []
    failed = InboundEvent.result(EventKind.COMMAND_FAILED, "tutor", command="ask_tutor")
    assert ada.send(failed) == []


def test_an_answer_whose_question_was_reworded_still_reaches_the_learner(
    demo_course: Course, clock: FixedClock
) -> None:
    tutor = ScriptedTutor(lambda args: tutor_answer(args, question=args["question"][:10]))
    learner = tutored_learner(demo_course, clock, tutor)
    learner.transcript([("why do we forget so fast?", ["typing", "Memories", "📖", "Back to"])])
    assert learner.snapshot.data["tutor_pending"] == []


def test_without_a_tutor_questions_are_answered_from_the_course_at_once(
    demo_course: Course, clock: FixedClock
) -> None:
    tutor = ScriptedTutor()
    learner = tutored_learner(demo_course, clock, tutor, tutor_on=False)
    learner.transcript(
        [("what did Ebbinghaus find about relearning?", ["From the lesson", "Back to the lesson"])]
    )
    learner.say("Continue")
    learner.say("hint")
    assert "Pick one of the options" in learner.text_of(learner.last_replies)
    learner.say("is it b?")  # an answer, as ever
    assert tutor.asked == [] and learner.state is State.REFLECTION


def test_a_question_during_a_reflection_is_answered_and_the_reflection_resumes(
    ada: MemoryLearner, tutor: ScriptedTutor
) -> None:
    quiz = to_quiz(ada)
    ada.say(str(quiz.correct_index + 1))
    assert ada.state is State.REFLECTION
    ada.transcript(
        [
            (
                "what is the forgetting curve?",
                ["typing", "Memories fade", "📖", "Back to your reflection"],
            )
        ]
    )
    assert tutor.asked[0]["mode"] == "answer" and ada.state is State.REFLECTION


def test_after_a_pause_the_tutor_starts_a_new_conversation() -> None:
    """Memory is for one conversation: a question half an hour later is sent without it (and so
    may be answered from the answer cache)."""
    from datetime import UTC, datetime, timedelta

    from core.dialogue.model import Snapshot, Turn, World
    from core.dialogue.states import State
    from core.dialogue.tutoring import MEMORY_MINUTES, _memory

    asked = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    data = {"tutor_memory": [{"q": "why?", "a": "because", "at": asked.isoformat()}]}
    soon = Turn(Snapshot(State.IDLE, data), asked + timedelta(minutes=5), World({}))
    later = Turn(
        Snapshot(State.IDLE, data), asked + timedelta(minutes=MEMORY_MINUTES + 1), World({})
    )
    assert [m["q"] for m in _memory(soon)] == ["why?"]
    assert _memory(later) == []


def test_a_failed_question_during_a_quiz_never_shows_a_course_excerpt(
    demo_course: Course, clock: FixedClock
) -> None:
    """Not a hint request, but a quiz is open: the course's passage would state the answer."""
    learner = tutored_learner(demo_course, clock, None)
    quiz = to_quiz(learner)
    shown = learner.say("when is forgetting fastest?")
    assert "think back to the lesson" in shown and "From the lesson" not in shown
    assert quiz.options[quiz.correct_index] not in shown
    assert learner.state is State.QUIZ


def test_an_answer_asked_before_a_quiz_opened_never_gives_the_quiz_away(
    demo_course: Course, clock: FixedClock
) -> None:
    """Asked in the lesson; the quiz opened before the answer came, and the answer states it."""
    leaking = ScriptedTutor(lambda args: tutor_answer(
        args, text="Forgetting is fastest soon after learning, in the first hours and days."))  # fmt: skip
    learner = tutored_learner(demo_course, clock, leaking)
    learner.hold_commands = True
    learner.say("when is forgetting fastest?")
    quiz = to_quiz(learner)
    shown = learner.text_of(learner.wait())
    assert "think back to the lesson" in shown
    assert quiz.options[quiz.correct_index].casefold() not in shown.casefold()
    assert learner.state is State.QUIZ
