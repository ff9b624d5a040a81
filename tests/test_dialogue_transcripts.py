"""Whole dialogues, read as transcripts: what the learner says, and what PAU must answer."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.replies import Choices, Quiz
from storage.db import transaction
from storage.models import Activity, Conversation, Learner
from tests.chat import ChatLearner
from webhooks.container import Pau


def state_of(pau: Pau, user_id: str = "learner-1") -> str | None:
    with transaction(pau.engine) as session:
        learner = session.exec(select(Learner).where(Learner.external_id == user_id)).first()
        conversation = session.get(Conversation, learner.id) if learner else None
        return conversation.state if conversation else None


def test_onboarding_asks_one_thing_at_a_time(learner: ChatLearner) -> None:
    learner.transcript(
        [
            ("hi", ["I'm PAU", "privacy", "Is that OK with you?", "Yes, let's go"]),
            ("Yes, let's go", "What should I call you?"),
            (
                "Ada",
                ["Nice to meet you, Ada!", "Which course would you like?", "science of learning"],
            ),
            ("1", "How well do you know this topic already?"),
            ("I know a bit", "When would you like your daily session?"),
            ("7:30pm", "Which time zone are you in?"),
            ("Atlantis", "I don't know that place"),
            ("New York", ["America/New_York", "reminder at 19:30"]),
            ("Yes please", ["All set, Ada!", "Step 1 of 3", "📘", "Continue"]),
        ]
    )
    with transaction(learner.pau.engine) as session:
        row = session.exec(select(Learner)).one()
        assert (row.name, row.level, row.daily_time, row.timezone, row.nudges) == (
            "Ada", "some", "19:30", "America/New_York", True,
        )  # fmt: skip
        assert row.consented_at is not None


def test_nothing_is_kept_before_consent_and_a_no_forgets_the_request(learner: ChatLearner) -> None:
    learner.transcript([("Hello there, I'm Bob from Leeds", "Is that OK with you?")])
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


def test_something_else_than_yes_or_no_asks_for_consent_again(learner: ChatLearner) -> None:
    learner.transcript(
        [
            ("hi", "Is that OK with you?"),
            ("what do you store?", ["I need your OK", "Yes, let's go"]),
            ("export", "I don't hold any data about you yet"),
            ("progress", "Is that OK with you?"),
        ]
    )
    assert state_of(learner.pau) == State.CONSENT


def test_first_session_is_lesson_then_quiz_then_reflection(onboarded: ChatLearner) -> None:
    assert state_of(onboarded.pau) == State.LESSON
    answer = onboarded.say("Continue")
    assert "Step 2 of 3" in answer
    quiz = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    right = quiz.options[quiz.correct_index]
    onboarded.transcript(
        [
            (right, ["✅ Right!", "Step 3 of 3", "💭"]),
            ("I review notes the evening after a training, and forget most of it by Friday.", [
                "Thanks for reflecting", "today's session done, Ada", "Quiz: 1/1 right", "1-day streak", "One more round",
            ]),
        ]
    )  # fmt: skip
    assert state_of(onboarded.pau) == State.IDLE
    with transaction(onboarded.pau.engine) as session:
        kinds = [a.kind for a in session.exec(select(Activity).order_by(Activity.id))]
    assert kinds == ["lesson", "quiz", "reflection"]


def test_wrong_answer_gets_the_right_one_and_the_explanation(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    quiz = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    wrong = next(i for i in range(len(quiz.options)) if i != quiz.correct_index)
    answer = onboarded.say(str(wrong + 1))
    assert "Not quite" in answer
    assert quiz.options[quiz.correct_index] in answer
    assert quiz.explanation in answer


def test_poll_answers_and_buttons_are_graded_like_typed_answers(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    quiz = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    replies = onboarded.send_event(
        InboundEvent(EventKind.POLL_ANSWER, option_index=quiz.correct_index, ref=quiz.item_id)
    )
    assert "✅ Right!" in onboarded.text_of(replies)


def test_a_stale_button_from_an_old_quiz_does_not_answer_the_open_one(
    onboarded: ChatLearner,
) -> None:
    onboarded.say("Continue")
    replies = onboarded.send_event(
        InboundEvent(EventKind.CHOICE, choice_id="answer:other-item:0", ref="other-item")
    )
    text = onboarded.text_of(replies)
    assert "closed" in text
    assert state_of(onboarded.pau) == State.QUIZ


def test_a_question_mid_quiz_is_answered_and_the_quiz_resumes(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    quiz = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    onboarded.transcript(
        [
            (
                "Why do we forget things so fast after learning them?",
                ["Good question!", "From the lesson", "Back to where we were"],
            )
        ]
    )
    again = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    assert again.item_id == quiz.item_id
    assert state_of(onboarded.pau) == State.QUIZ
    assert "✅ Right!" in onboarded.say(str(quiz.correct_index + 1))


def test_a_question_during_the_lesson_keeps_the_lesson_open(onboarded: ChatLearner) -> None:
    onboarded.transcript(
        [
            (
                "what did Ebbinghaus find about relearning?",
                ["From the lesson", "savings", "Continue"],
            ),
            ("Continue", "Step 2 of 3"),
        ]
    )


def test_a_question_outside_the_course_gets_an_honest_answer(onboarded: ChatLearner) -> None:
    onboarded.transcript(
        [("What is the capital of Mongolia?", ["couldn't find that in the course", "Continue"])]
    )


def test_unknown_input_gets_a_short_helpful_reply(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    onboarded.transcript([("banana", ["Pick one of the options", "❓"])])
    onboarded.say("1")
    onboarded.say("skip")
    assert state_of(onboarded.pau) == State.IDLE
    onboarded.transcript([("zzz", ["didn't get that", "help"])])


def test_stickers_and_photos_get_a_polite_reply(onboarded: ChatLearner) -> None:
    replies = onboarded.send_event(InboundEvent(EventKind.UNSUPPORTED, media_type="sticker"))
    assert "can't open sticker messages" in onboarded.text_of(replies)
    assert state_of(onboarded.pau) == State.LESSON


def test_delivery_statuses_are_never_answered(onboarded: ChatLearner) -> None:
    assert onboarded.send_event(InboundEvent(EventKind.STATUS)) == []


def test_explain_back_names_what_is_missing(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    onboarded.say("1")
    onboarded.say("skip")
    onboarded.tap("cmd:more")  # the second session ends with an explain-back
    onboarded.say("Continue")
    onboarded.say("1")
    assert state_of(onboarded.pau) == State.EXPLAIN
    answer = onboarded.say("You should test yourself instead of rereading.")
    assert "also mention" in answer or "full explanation would mention" in answer


def test_a_finished_session_offers_another_round(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    onboarded.say("1")
    onboarded.say("skip")
    menu = next(r for r in onboarded.last_replies if isinstance(r, Choices))
    assert [o.id for o in menu.options] == ["cmd:more", "cmd:progress", "done"]
    onboarded.transcript([("Done for today", "See you tomorrow")])
    assert "Step 1 of 3" in onboarded.tap("cmd:more")


def test_a_very_long_message_is_handled_not_crashed(onboarded: ChatLearner) -> None:
    answer = onboarded.say("why " * 5000)
    assert answer  # answered, and the runner recorded no error
    with transaction(onboarded.pau.engine) as session:
        errors = session.execute(
            sa.text("SELECT error FROM inbound_message WHERE error IS NOT NULL")
        ).all()
    assert errors == []
