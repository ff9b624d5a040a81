"""Whole dialogues, read as transcripts: what the learner says, and every reply PAU sends to it.

Most run in the in-memory harness (the real step and command performers, no database); the ones
about what is stored run end to end through storage (`ChatLearner`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.replies import Choices, Quiz
from storage.db import transaction
from storage.models import Activity, Conversation, Learner
from tests.chat import ChatLearner, state_of
from tests.harness import MemoryLearner

LESSON_1 = ["Step 1 of 3", "📘 Why we forget", "Ebbinghaus", "savings", "Continue"]
CONSENT = ["I'm PAU", "privacy"]


def test_onboarding_asks_one_thing_at_a_time(memo: MemoryLearner) -> None:
    memo.transcript(
        [
            ("hi", ["I'm PAU", "Is that OK with you?\n   [1] Yes, let's go"]),
            ("Yes, let's go", ["Thank you!", "What should I call you?"]),
            ("Ada", ["Nice to meet you, Ada!", "science of learning", "Which course would you like?"]),
            ("1", "How well do you know this topic already?"),
            ("I know a bit", "When would you like your daily session?"),
            ("7:30pm", "Which time zone are you in?"),
            ("Atlantis", ["I don't know that place", "Which time zone are you in?"]),
            ("New York", ["America/New_York", "reminder at 19:30"]),
            ("Yes please", ["All set, Ada! I'll remind you daily at 19:30.", *LESSON_1]),
        ]
    )  # fmt: skip
    profile = memo.snapshot.profile
    assert (profile.name, profile.level, profile.daily_time, profile.timezone, profile.nudges) == (
        "Ada", "some", "19:30", "America/New_York", True,
    )  # fmt: skip
    assert profile.consented


def test_nothing_is_kept_before_consent_and_a_no_forgets_the_request(learner: ChatLearner) -> None:
    learner.transcript([("Hello there, I'm Bob from Leeds", CONSENT)])
    with transaction(learner.pau.engine) as session:
        row = session.exec(select(Learner)).one()
        assert (row.name, row.consented_at) == ("", None)
        payloads = session.execute(sa.text("SELECT payload FROM inbound_message")).scalars().all()
        assert all("Bob" not in str(p) for p in payloads)  # the text is not kept
        assert session.exec(select(Activity)).all() == []
    learner.transcript([("No thanks", "I haven't kept anything about you")])
    with transaction(learner.pau.engine) as session:
        assert session.exec(select(Learner)).all() == []
        assert session.exec(select(Conversation)).all() == []


def test_something_else_than_yes_or_no_asks_for_consent_again(memo: MemoryLearner) -> None:
    memo.transcript(
        [
            ("hi", CONSENT),
            ("what do you store?", ["I need your OK", "Yes, let's go"]),
            ("export", ["I don't hold any data about you yet", "Is that OK with you?"]),
            ("progress", ["privacy first", "Is that OK with you?"]),
        ]
    )
    assert memo.state is State.CONSENT


def test_first_session_is_lesson_then_quiz_then_reflection(onboarded: ChatLearner) -> None:
    assert state_of(onboarded.pau) == State.LESSON
    onboarded.transcript([("Continue", ["First lesson done", "Step 2 of 3", "❓"])])
    quiz = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    right = quiz.options[quiz.correct_index]
    onboarded.transcript(
        [
            (right, ["✅ Right!", "Step 3 of 3", "💭"]),
            ("I review notes the evening after a training, and forget most of it by Friday.", [
                "Thanks for reflecting", "today's session done, Ada! 🎉 Quiz: 1/1 right. / 🔥 1-day streak".replace(" / ", "\n"),
                "One more round",
            ]),
        ]
    )  # fmt: skip
    assert state_of(onboarded.pau) == State.IDLE
    with transaction(onboarded.pau.engine) as session:
        kinds = [a.kind for a in session.exec(select(Activity).order_by(Activity.id))]
    assert kinds == ["lesson", "quiz", "reflection"]


def quiz_of(learner: MemoryLearner | ChatLearner) -> Quiz:
    return next(r for r in learner.last_replies if isinstance(r, Quiz))


def test_wrong_answer_gets_the_right_one_and_the_explanation(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.say("Continue")
    quiz = quiz_of(memo_onboarded)
    wrong = next(i for i in range(len(quiz.options)) if i != quiz.correct_index)
    memo_onboarded.transcript(
        [
            (str(wrong + 1), [
                f"Not quite — the answer is: {quiz.options[quiz.correct_index]}. {quiz.explanation}",
                "Step 3 of 3", "💭",
            ])
        ]
    )  # fmt: skip


def test_poll_answers_and_buttons_are_graded_like_typed_answers(
    memo_onboarded: MemoryLearner,
) -> None:
    memo_onboarded.say("Continue")
    quiz = quiz_of(memo_onboarded)
    vote = InboundEvent(EventKind.POLL_ANSWER, option_index=quiz.correct_index, ref=quiz.item_id)
    assert "✅ Right!" in memo_onboarded.text_of(memo_onboarded.send(vote))


def test_a_stale_button_from_an_old_quiz_does_not_answer_the_open_one(
    memo_onboarded: MemoryLearner,
) -> None:
    memo_onboarded.say("Continue")
    stale = InboundEvent(EventKind.CHOICE, choice_id="answer:other-item:0", ref="other-item")
    memo_onboarded.send(stale)
    assert [type(r).__name__ for r in memo_onboarded.last_replies] == ["Text", "Choices"]
    assert "closed" in memo_onboarded.text_of(memo_onboarded.last_replies)
    assert memo_onboarded.state is State.QUIZ


def test_a_question_mid_quiz_is_answered_and_the_quiz_resumes(
    memo_onboarded: MemoryLearner,
) -> None:
    memo_onboarded.say("Continue")
    quiz = quiz_of(memo_onboarded)
    memo_onboarded.transcript(
        [
            (
                "Why do we forget things so fast after learning them?",
                ["From the lesson", "Back to the question — your answer?\n   [1] a)"],
            )
        ]
    )
    [back] = memo_onboarded.last_replies[1:]
    assert isinstance(back, Choices) and back.options[0].id == f"answer:{quiz.item_id}:0"
    assert memo_onboarded.state is State.QUIZ
    memo_onboarded.transcript([(str(quiz.correct_index + 1), ["✅ Right!", "Step 3 of 3", "💭"])])


def test_a_question_during_the_lesson_keeps_the_lesson_open(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.transcript(
        [
            (
                "what did Ebbinghaus find about relearning?",
                ["From the lesson", "Back to the lesson — tap Continue"],
            ),
            ("Continue", ["First lesson done", "Step 2 of 3", "❓"]),
        ]
    )


def test_a_question_outside_the_course_gets_an_honest_answer(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.transcript(
        [
            ("What is the capital of Mongolia?", [
                "couldn't find that in the course", "Back to the lesson",
            ])
        ]
    )  # fmt: skip


def test_unknown_input_gets_a_short_helpful_reply(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.transcript([("banana", "Pick one of the options")])
    memo_onboarded.say("1")
    memo_onboarded.say("skip")
    assert memo_onboarded.state is State.IDLE
    memo_onboarded.transcript([("zzz", ["didn't get that", "What would you like to do?"])])


def test_stickers_and_photos_get_a_polite_reply(memo_onboarded: MemoryLearner) -> None:
    sticker = InboundEvent(EventKind.UNSUPPORTED, media_type="sticker")
    replies = memo_onboarded.send(sticker)
    assert "can't open stickers yet" in memo_onboarded.text_of(replies[:1])
    assert "Back to the lesson" in memo_onboarded.text_of(replies[1:2])
    assert memo_onboarded.state is State.LESSON


def test_delivery_statuses_are_never_answered(memo_onboarded: MemoryLearner) -> None:
    assert memo_onboarded.send(InboundEvent(EventKind.STATUS)) == []


def reach_explain_back(learner: MemoryLearner) -> None:
    learner.say("Continue")
    learner.say("1")
    learner.say("skip")
    learner.tap("cmd:more")  # the second session ends with an explain-back
    learner.say("Continue")
    learner.say("1")
    assert learner.state is State.EXPLAIN


def test_explain_back_shows_typing_then_names_what_is_missing(
    memo_onboarded: MemoryLearner,
) -> None:
    reach_explain_back(memo_onboarded)
    memo_onboarded.transcript(
        [
            ("You should test yourself instead of rereading.", [
                "PAU is typing…", "A full explanation would mention: forgetting is fastest",
                "today's session done", "One more round",
            ])
        ]
    )  # fmt: skip


def test_skipping_an_explain_back_moves_on_kindly(memo_onboarded: MemoryLearner) -> None:
    reach_explain_back(memo_onboarded)
    memo_onboarded.transcript(
        [
            (
                "skip",
                [
                    "No problem, we'll come back to this one.",
                    "today's session done",
                    "One more round",
                ],
            )
        ]
    )


def test_a_finished_session_offers_another_round(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.say("1")
    memo_onboarded.say("skip")
    menu = next(r for r in memo_onboarded.last_replies if isinstance(r, Choices))
    assert [o.id for o in menu.options] == ["cmd:more", "cmd:progress", "done"]
    memo_onboarded.transcript([("Done for today", "See you tomorrow")])
    assert "Step 1 of 3" in memo_onboarded.tap("cmd:more")


def test_a_very_long_message_is_handled_not_crashed(onboarded: ChatLearner) -> None:
    onboarded.transcript(
        [("why " * 5000, ["The idea behind “Why we forget", "Back to the lesson"])]
    )
    with transaction(onboarded.pau.engine) as session:
        errors = session.execute(
            sa.text("SELECT error FROM inbound_message WHERE error IS NOT NULL")
        ).all()
    assert errors == []
