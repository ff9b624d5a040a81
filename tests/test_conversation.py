"""The conversation as a new learner met it (issue 14): each case seen in `pau chat`, as a
transcript through the real step and command performers (in memory)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from core.content import Course
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.replies import Choices, Quiz
from tests.conftest import FixedClock
from tests.harness import MemoryLearner
from tests.test_dialogue_transcripts import reach_explain_back


def open_quiz(learner: MemoryLearner, item_id: str, concept_id: str) -> None:
    """A review of `item_id` is on screen, as a morning's first activity of three."""
    plan = [{"kind": "review", "item": item_id, "concept": concept_id},
            {"kind": "lesson", "concept": "spacing"}, {"kind": "reflection", "concept": "spacing"}]  # fmt: skip
    data = {"plan": plan, "plan_kind": "today", "index": 0, "session_answered": 0,
            "session_correct": 0, "asked_at": learner.clock().isoformat()}  # fmt: skip
    learner.snapshot = replace(learner.snapshot, state=State.QUIZ, data=data)


def reviews(learner: MemoryLearner) -> list[tuple[str, bool | None]]:
    return [(w.item_id, w.correct) for w in learner.writes if w.kind == "quiz"]


def test_an_explanation_that_starts_like_a_question_is_graded(
    memo_onboarded: MemoryLearner,
) -> None:
    reach_explain_back(memo_onboarded)
    memo_onboarded.transcript([(
        "When you learn something you forget most of it fast, but testing yourself pulls it "
        "back out of memory and makes it stick better than rereading.",
        ["PAU is typing…", "You covered", "today's session done", "One more round"],
    )])  # fmt: skip
    assert [w.kind for w in memo_onboarded.writes][-1] == "explain_back"


def test_a_reflection_that_starts_with_what_is_kept(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.say("1")
    assert memo_onboarded.state is State.REFLECTION
    answer = "What I usually do is reread my notes the evening before."
    memo_onboarded.transcript([(answer, ["Thanks for reflecting", "today's session done", "What next?"])])  # fmt: skip
    assert memo_onboarded.writes[-1].response == answer


def test_hi_and_thanks_in_a_typed_quiz_are_no_wrong_answers(memo_onboarded: MemoryLearner) -> None:
    open_quiz(memo_onboarded, "forgetting-curve-3", "forgetting-curve")
    memo_onboarded.transcript(
        [
            ("hi", ["Hi Ada! 👋", "Back to the question — type your answer.\n   [1] Skip"]),
            ("thanks", ["You're welcome!", "Back to the question"]),
            ("the savings", ["✅ Right!", "Step 2 of 3", "📘", "", "", "Continue"]),
        ]
    )
    assert reviews(memo_onboarded) == [("forgetting-curve-3", True)]  # one review, a right one


@pytest.mark.parametrize("word", ["skip", "next", "pass"])
def test_skip_words_after_a_pick_one_line_move_on_without_a_review(
    memo_onboarded: MemoryLearner, word: str
) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.transcript(
        [
            ("banana", "Pick one of the options (a letter or number works too), or skip it."),
            (word, ["Skipped — this one will come back another time.", "Step 3 of 3", "💭"]),
        ]
    )
    assert reviews(memo_onboarded)[-1][1] is None  # no review for FSRS


def test_idk_after_a_pick_one_line_is_a_kind_miss(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.say("banana")
    memo_onboarded.transcript([("idk", ["That's OK", "Step 3 of 3", "💭"])])
    assert "The answer is: Soon after learning" in memo_onboarded.text_of(
        memo_onboarded.last_replies
    )
    assert reviews(memo_onboarded)[-1][1] is False  # honest: it was not known


@pytest.mark.parametrize(
    ("item", "concept", "typed", "reply"),
    [
        ("spacing-4", "spacing", "distributed practice", "✅ Right!"),
        ("dual-coding-4", "dual-coding", "superiority effect", "✅ Right!"),
        ("forgetting-curve-3", "forgetting-curve", "the savings", "✅ Right!"),
        ("retrieval-practice-4", "retrieval-practice", "retrieval practice", "✅ Right!"),
        ("forgetting-curve-3", "forgetting-curve", "savins", "Almost — it's spelled “savings”"),
        ("sleep-and-consolidation-4", "sleep-and-consolidation", "consolidaton",
         "Almost — it's spelled “consolidation”"),
    ],
)  # fmt: skip
def test_typed_answers_the_course_should_accept(
    memo_onboarded: MemoryLearner, item: str, concept: str, typed: str, reply: str
) -> None:
    open_quiz(memo_onboarded, item, concept)
    memo_onboarded.say(typed)
    assert reply in memo_onboarded.text_of(memo_onboarded.last_replies[:1])
    assert reviews(memo_onboarded) == [(item, True)]


@pytest.mark.parametrize("typed", ["the first one", "option 1"])
def test_choice_quiz_by_words(memo_onboarded: MemoryLearner, typed: str) -> None:
    memo_onboarded.say("Continue")
    quiz = next(r for r in memo_onboarded.last_replies if isinstance(r, Quiz))
    assert quiz.correct_index == 0
    memo_onboarded.transcript([(typed, ["✅ Right!", "Step 3 of 3", "💭"])])


def test_cancel_ends_the_quiz_and_keeps_the_subscription(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.transcript([(
        "cancel",
        ["I've ended this session — what you did so far is saved. (To stop all messages from "
         'me, send "stop".)', "What would you like to do?"],
    )])  # fmt: skip
    assert memo_onboarded.state is State.IDLE and not memo_onboarded.snapshot.profile.stopped


def test_small_talk_after_a_session(memo_onboarded: MemoryLearner) -> None:
    for message in ("Continue", "1", "skip"):
        memo_onboarded.say(message)
    memo_onboarded.transcript(
        [
            ("that was fun, see you tomorrow", "See you tomorrow!"),
            ("thanks!", ["You're welcome!", "What would you like to do?"]),
            ("bye", "See you tomorrow!"),
            ("I want to talk to a real person", "What would you like to ask them?"),
            ("how do I keep at it in a busy week", [
                "your question is with a mentor now", "What would you like to do?"]),
            ("why?", ["The idea behind “", "What would you like to do?"]),
            ("quiz me", "❓"),
        ]
    )  # fmt: skip
    assert [w.kind for w in memo_onboarded.writes].count("mentor_request") == 1


def test_next_lesson_please_starts_a_round(memo_onboarded: MemoryLearner) -> None:
    for message in ("Continue", "1", "skip"):
        memo_onboarded.say(message)
    assert "Step 1 of 3" in memo_onboarded.say("next lesson please")


def test_a_detour_brings_back_one_line_not_the_whole_quiz(memo_onboarded: MemoryLearner) -> None:
    memo_onboarded.say("Continue")
    memo_onboarded.say("what is the forgetting curve?")
    back = memo_onboarded.last_replies[-1]
    assert isinstance(back, Choices) and back.prompt == "Back to the question — your answer?"
    assert [o.label[:3] for o in back.options] == ["a) ", "b) ", "c) ", "d) ", "Ski"]
    assert not any(isinstance(r, Quiz) for r in memo_onboarded.last_replies)
    memo_onboarded.tap(back.options[0].id)
    assert "✅ Right!" in memo_onboarded.text_of(memo_onboarded.last_replies)


def test_a_quick_quiz_is_not_called_todays_session(memo_onboarded: MemoryLearner) -> None:
    for message in ("Continue", "1", "skip"):
        memo_onboarded.say(message)
    memo_onboarded.say("quiz")
    memo_onboarded.say("skip")
    shown = memo_onboarded.text_of(memo_onboarded.last_replies)
    assert "Quick quiz done" in shown and "today's session" not in shown


def test_the_streak_is_the_same_in_every_message(
    memo_onboarded: MemoryLearner, clock: FixedClock
) -> None:
    for message in ("Continue", "1", "skip"):
        memo_onboarded.say(message)
    assert "🔥 1-day streak" in memo_onboarded.text_of(memo_onboarded.last_replies)
    clock.advance(days=3)  # three days away: the streak is over
    memo_onboarded.say("today")
    while memo_onboarded.state is not State.IDLE:  # everything skipped: no activity today
        memo_onboarded.say("skip")
    done = memo_onboarded.text_of(memo_onboarded.last_replies)
    progress = memo_onboarded.say("progress")
    streak_done = done.split("🔥 ")[1].split("-day")[0]
    streak_progress = progress.split("Streak: ")[1].split(" day")[0]
    assert streak_done == streak_progress == "0"


def test_a_time_zone_offset_is_confirmed_in_the_learners_terms(memo: MemoryLearner) -> None:
    for message in ("hi", "Yes, let's go", "Ada", "1", "1", "1"):
        memo.say(message)
    memo.transcript([("UTC+2", ["Got it: UTC+2 (it's ", "reminder"])])
    assert memo.snapshot.profile.timezone == "Etc/GMT-2"


def test_after_delete_one_fresh_welcome_then_only_the_consent_question(
    memo_onboarded: MemoryLearner,
) -> None:
    memo_onboarded.transcript(
        [
            ("delete", "Are you sure?"),
            ("Yes, delete all", "everything about you is erased"),
            ("export", ["I'm PAU", "Is that OK with you?"]),
            ("progress", ["privacy first", "Is that OK with you?"]),
            ("export", ["I don't hold any data about you yet", "Is that OK with you?"]),
        ]
    )


def test_no_course_imported_says_so_and_tells_the_operator(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    learner = MemoryLearner([], clock)
    with caplog.at_level(logging.WARNING):
        learner.transcript(
            [
                ("hi", ["I'm PAU", "Is that OK with you?"]),
                ("yes", ["Thank you!", "What should I call you?"]),
                ("Ada", ["Nice to meet you, Ada!", "no course here to learn yet"]),
                ("hello?", ["Hi Ada!", "no course here to learn yet"]),
            ]
        )
    assert "no course imported" in caplog.text


def test_lang_switches_every_bot_text_and_keeps_the_course_language(
    memo_onboarded: MemoryLearner, demo_course: Course
) -> None:
    memo_onboarded.transcript([("lang", "Which language should I speak?")])
    memo_onboarded.tap("lang:de")
    assert memo_onboarded.snapshot.profile.language == "de"
    replies = memo_onboarded.last_replies
    assert "Deutsch" in memo_onboarded.text_of(replies[:1])
    memo_onboarded.say("weiter")  # the lesson's Continue, in German
    shown = memo_onboarded.text_of(memo_onboarded.last_replies)
    first_item = demo_course.concepts[0].quiz[0]
    assert first_item.question in shown  # course content stays English
    memo_onboarded.say("lang en")
    assert memo_onboarded.snapshot.profile.language == "en"


def test_the_platforms_language_code_chooses_the_first_language(memo: MemoryLearner) -> None:
    from core.events import InboundEvent

    replies = memo.send(
        InboundEvent(InboundEvent.text_message("hallo").kind, "hallo", language="de-DE")
    )
    assert memo.snapshot.profile.language == "de"
    assert "PAU" in memo.text_of(replies) and "Datenschutz" in memo.text_of(replies)


def test_an_old_poll_answered_during_a_lesson_does_not_read_it(
    memo_onboarded: MemoryLearner,
) -> None:
    late_vote = InboundEvent(EventKind.POLL_ANSWER, option_index=1, ref="forgetting-curve-1")
    replies = memo_onboarded.send(late_vote)
    assert "closed already" in memo_onboarded.text_of(replies[:1])
    assert memo_onboarded.state is State.LESSON and not memo_onboarded.writes


def test_stop_twice_during_set_up_then_start_carries_on_with_set_up(memo: MemoryLearner) -> None:
    for message in ("hi", "Yes, let's go"):
        memo.say(message)
    memo.transcript(
        [
            ("stop", "unsubscribed"),
            ("stop", "unsubscribed"),  # STOP always answers
            ("start", ["Welcome back", "What should I call you?"]),
        ]
    )
    assert memo.state is State.NAME


def test_a_sticker_as_the_first_message_gets_the_welcome_once(memo: MemoryLearner) -> None:
    memo.send(InboundEvent(EventKind.UNSUPPORTED, media_type="sticker"))
    assert "I'm PAU" in memo.text_of(memo.last_replies)
    memo.transcript([("yes", ["Thank you!", "What should I call you?"])])


def test_a_typed_option_number_picks_the_daily_time(memo: MemoryLearner) -> None:
    for message in ("hi", "Yes, let's go", "Ada", "1", "1"):
        memo.say(message)
    memo.send(InboundEvent.text_message("3"))  # typed, as on WhatsApp, not a tap
    assert memo.snapshot.profile.daily_time == "19:00"
