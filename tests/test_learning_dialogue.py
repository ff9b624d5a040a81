"""The learning engine inside the dialogue: FSRS cards, reviews, progress, badges, goals, refits."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from core.content import Course
from core.replies import Image, Quiz
from storage.db import transaction
from storage.learner_store import SqlLearnerStore
from storage.models import Activity, Learner, ReviewCardRecord
from tests.chat import ChatLearner
from tests.conftest import FixedClock
from tests.test_review import simulated_learner


def cards(learner: ChatLearner) -> list[ReviewCardRecord]:
    with transaction(learner.pau.engine) as session:
        return list(session.exec(select(ReviewCardRecord)))


def answer_quiz(learner: ChatLearner, right: bool) -> Quiz:
    quiz = next(r for r in learner.last_replies if isinstance(r, Quiz))
    choice = quiz.correct_index if right else (quiz.correct_index + 1) % len(quiz.options)
    learner.say(str(choice + 1))
    return quiz


def test_a_quiz_answer_creates_an_fsrs_card_with_the_answer_time(
    onboarded: ChatLearner, clock: FixedClock
) -> None:
    onboarded.say("Continue")
    clock.advance(seconds=12)
    quiz = answer_quiz(onboarded, right=True)
    [card] = cards(onboarded)
    assert card.item_id == quiz.item_id and card.reviews == 1
    assert card.due - clock() >= timedelta(days=1)  # right: days away
    with transaction(onboarded.pau.engine) as session:
        activity = session.exec(select(Activity).where(Activity.kind == "quiz")).one()
    assert activity.duration_ms == 12_000


def test_a_wrong_answer_comes_back_the_same_day_as_a_review(
    onboarded: ChatLearner, clock: FixedClock
) -> None:
    onboarded.say("Continue")
    quiz = answer_quiz(onboarded, right=False)
    [card] = cards(onboarded)
    assert timedelta(0) < card.due - clock() <= timedelta(minutes=10)
    onboarded.say("skip")
    clock.advance(minutes=15)
    onboarded.say("today")
    again = next(r for r in onboarded.last_replies if isinstance(r, Quiz))
    assert again.item_id == quiz.item_id  # the due review comes first


def test_progress_shows_mastery_streak_xp_and_whats_due_with_a_chart(
    onboarded: ChatLearner,
) -> None:
    onboarded.say("Continue")
    answer_quiz(onboarded, right=True)
    onboarded.say("skip")
    text = onboarded.say("progress")
    assert "▓" in text and "Why we forget" in text and "0 of 10 topics mastered" in text
    assert "Streak: 1 day" in text and "XP" in text and "Nothing due right now" in text
    [chart] = [r for r in onboarded.last_replies if isinstance(r, Image)]
    assert chart.png.startswith(b"\x89PNG") and len(chart.png) > 2000


def test_a_badge_is_shown_once_at_the_right_moment(onboarded: ChatLearner) -> None:
    assert "First lesson done" in onboarded.say("Continue")
    onboarded.say("1")
    onboarded.say("skip")
    onboarded.tap("cmd:more")
    assert "First lesson done" not in onboarded.say("Continue")


def test_choosing_a_goal_plans_the_path_to_it(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    answer_quiz(onboarded, right=True)
    onboarded.say("skip")
    onboarded.transcript(
        [
            ("goal", "[10] Sleep and memory consolidation"),
            (
                "Sleep and memory consolidation",
                [
                    "Goal set: Sleep and memory consolidation. Your path: The spacing effect → Sleep",
                    "What would you like to do?",
                ],
            ),
            ("today", ["Step 1 of 3", "📘 The spacing effect", "", "", "Continue"]),
        ]
    )


def test_the_hourly_job_fits_parameters_for_a_learner_with_enough_history(
    learner: ChatLearner,
) -> None:
    learner.onboard()
    history = simulated_learner()
    with transaction(learner.pau.engine) as session:
        for entry in history:
            session.add(Activity(learner_id=1, kind="quiz", concept_id="c", item_id=entry.item_id,
                                 correct=entry.correct, at=entry.reviewed_at, duration_ms=entry.duration_ms))  # fmt: skip
        row = session.get(Learner, 1)
        assert row is not None
        row.reviews_logged = len(history)  # as the store counts the reviews it writes
    assert learner.pau.refit_review_parameters() == 1
    with transaction(learner.pau.engine) as session:
        row = session.get(Learner, 1)
        assert row is not None and row.fsrs_fit_reviews == len(history)
        assert row.fsrs_parameters is not None and len(row.fsrs_parameters) == 21
        assert SqlLearnerStore(session).scheduler(1).parameters == tuple(row.fsrs_parameters)
    assert learner.pau.refit_review_parameters() == 0  # nothing new since


def test_too_little_history_keeps_the_defaults(onboarded: ChatLearner) -> None:
    assert onboarded.pau.refit_review_parameters() == 0
    with onboarded.pau.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT fsrs_parameters FROM learner")).scalar() is None


def test_a_typed_option_text_wins_over_its_position(demo_course: Course) -> None:
    from core.content import QuizItem, QuizType
    from core.dialogue.answers import option_index
    from core.events import InboundEvent

    numbers = QuizItem(
        "n-1", "c", QuizType.MULTIPLE_CHOICE, "How many?", "", ("3", "1", "2", "7"), 1
    )
    assert option_index(numbers, InboundEvent.text_message("2")) == 2  # the option "2", not the 2nd
    assert option_index(numbers, InboundEvent.text_message("4")) == 3  # no option "4": the 4th
    assert option_index(numbers, InboundEvent.text_message("b")) == 1


def test_skipping_earns_no_xp(onboarded: ChatLearner) -> None:
    onboarded.say("Continue")
    answer_quiz(onboarded, right=True)
    with onboarded.pau.engine.connect() as connection:
        before = connection.execute(sa.text("SELECT motivation FROM learner")).scalar()
    onboarded.say("skip")
    with onboarded.pau.engine.connect() as connection:
        after = connection.execute(sa.text("SELECT motivation FROM learner")).scalar()
    assert after == before


def test_content_removed_by_a_re_import_is_skipped_not_crashed_on(
    onboarded: ChatLearner, clock: FixedClock
) -> None:
    from dataclasses import replace

    from storage.content_repo import import_course

    onboarded.say("Continue")  # the quiz on forgetting-curve-1 is open now
    course = onboarded.pau.world.courses["science-of-learning"]
    first = course.concepts[0]
    smaller = replace(course, concepts=(replace(first, quiz=first.quiz[1:]), *course.concepts[1:]))
    with transaction(onboarded.pau.engine) as session:
        import_course(session, course=smaller, now=clock())
    assert onboarded.pau.reload_courses_if_changed()
    assert not onboarded.pau.reload_courses_if_changed()
    assert "changed in a course update" in onboarded.say("1")
    assert "Step 1 of" in onboarded.say("today")
    with onboarded.pau.engine.connect() as connection:
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM inbound_message WHERE error IS NOT NULL")
            ).scalar()
            == 0
        )
