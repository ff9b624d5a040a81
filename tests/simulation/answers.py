"""How a simulated learner answers what PAU asks: the set-up questions with their persona's
answers, the lesson's Continue, the quiz (right four times in five), a reflection, an
explanation."""

from __future__ import annotations

import random

from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.replies import Quiz, Reply
from tests.simulation.people import Habit, Persona

REFLECTION = "I reread my notes the night before and forget most of it by the weekend."
EXPLANATION = "Forgetting is fastest right after learning; each spaced review slows it down."
WAIT = InboundEvent.text_message("")  # nothing to send: look at what PAU said since, carry on
RIGHT = 0.8  # quiz answers that are right


def tap(choice_id: str) -> InboundEvent:
    return InboundEvent(EventKind.CHOICE, choice_id=choice_id)


def say(text: str) -> InboundEvent:
    return InboundEvent.text_message(text)


def answer(
    state: State, person: Persona, replies: list[Reply], rng: random.Random
) -> InboundEvent | None:
    """Their answer in this state (None: idle or stopped, nothing more to say)."""
    if state is State.QUIZ:
        return answer_quiz(replies, rng)
    return {
        State.CONSENT: tap("yes"),
        State.NAME: say(person.name),
        State.COURSE: tap("course:science-of-learning"),
        State.LEVEL: tap("level:new"),
        State.DAILY_TIME: say(person.daily_time),
        State.TIMEZONE: say(person.city),
        State.NUDGES: tap("no" if person.habit is Habit.NO_REMINDERS else "yes"),
        State.LESSON: tap("continue"),
        State.REFLECTION: say(REFLECTION),
        State.EXPLAIN: say(EXPLANATION),
    }.get(state)


def answer_quiz(replies: list[Reply], rng: random.Random) -> InboundEvent:
    quiz = next((r for r in reversed(replies) if isinstance(r, Quiz)), None)
    if quiz is None:  # a reminder of the open quiz, without it
        return say("skip")
    if not quiz.options:
        return say(rng.choice(("spacing", "forgetting", "retrieval")))
    right = rng.random() < RIGHT
    pick = quiz.correct_index if right else (quiz.correct_index + 1) % len(quiz.options)
    return say(str(pick + 1))
