"""The machinery of the utterance tables: places in the dialogue as snapshots, a row (what the
learner says there, what it means, the outcome), and the outcome a transition shows. Used by
tests/test_understanding.py (the table) and bench/understanding.py (a held-out set)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.dialogue import State, World, step
from core.dialogue.meaning import Meaning, understand
from core.dialogue.model import Snapshot, Transition, Turn
from core.dialogue.step import context_of
from core.events import InboundEvent
from core.learner import Profile
from tests.transcripts import describe

OUTCOMES = """
  right / near / wrong / miss   the open quiz was graded (near: "Almost — it's spelled …", counted
                                right; miss: "I don't know", counted wrong, with the answer)
  skipped    moved on, nothing graded (no FSRS review, no score)
  done       the activity was done and the next one presented (a lesson read, a reflection)
  grading    the explanation went to be graded
  stays      the same state, nothing graded (a question answered, a greeting...)
  ended      the session ended, back to idle (cancel)
  stopped    unsubscribed (started: came back)
  next       onboarding moved on to its next question
  erased     the learner's data is erased (consent declined, delete confirmed)
  quiz / session   from idle, a quick quiz / a round of today's three started
"""

NOW = datetime(2026, 12, 1, 9, 20, tzinfo=UTC)
ADA = Profile(consented=True, name="Ada", course_slug="science-of-learning", level="some",
              daily_time="08:00", timezone="Europe/Berlin", nudges=True)  # fmt: skip


def _at(kind: str, concept: str, item: str = "") -> tuple[State, dict[str, Any]]:
    activity = {"kind": kind, "concept": concept, **({"item": item} if item else {})}
    states = {"lesson": State.LESSON, "review": State.QUIZ, "reflection": State.REFLECTION,
              "explain": State.EXPLAIN}  # fmt: skip
    data = {"plan": [activity, {"kind": "lesson", "concept": "spacing"}], "index": 0,
            "plan_kind": "today", "asked_at": NOW.isoformat()}  # fmt: skip
    return states[kind], data


PLACES: dict[str, tuple[State, dict[str, Any], Profile]] = {
    "first message": (State.CONSENT, {}, Profile()),
    "consent": (State.CONSENT, {"asked": True}, Profile()),
    "name": (State.NAME, {}, Profile(consented=True)),
    "daily time": (State.DAILY_TIME, {}, Profile(consented=True, name="Ada")),
    "time zone": (State.TIMEZONE, {}, Profile(consented=True, name="Ada", daily_time="08:00")),
    "lesson": (*_at("lesson", "forgetting-curve"), ADA),
    "choice quiz": (*_at("review", "forgetting-curve", "forgetting-curve-1"), ADA),
    "true/false": (*_at("review", "retrieval-practice", "retrieval-practice-2"), ADA),
    "savings ___": (*_at("review", "forgetting-curve", "forgetting-curve-3"), ADA),
    "___ practice": (*_at("review", "spacing", "spacing-4"), ADA),
    "picture ___ effect": (*_at("review", "dual-coding", "dual-coding-4"), ADA),
    "testing effect?": (*_at("review", "retrieval-practice", "retrieval-practice-4"), ADA),
    "called ___ (sleep)": (
        *_at("review", "sleep-and-consolidation", "sleep-and-consolidation-4"),
        ADA,
    ),
    "reflection": (*_at("reflection", "retrieval-practice"), ADA),
    "removed quiz": (*_at("review", "forgetting-curve", "item-removed-by-an-update"), ADA),
    "explain-back": (*_at("explain", "retrieval-practice"), ADA),
    "grading": (
        State.EXPLAIN_GRADING,
        {**_at("explain", "retrieval-practice")[1], "grading": {"response": "..."}},
        ADA,
    ),
    "idle": (State.IDLE, {}, ADA),
    "delete?": (State.IDLE, {"pending": "delete"}, ADA),
    "stopped": (State.STOPPED, {"stopped_from": "idle"}, ADA),
}


@dataclass(frozen=True)
class Row:
    where: str
    said: str
    means: Meaning
    outcome: str
    reply: str = ""  # a fragment of the replies, case-insensitive

    def __str__(self) -> str:
        return f"{self.where}: {self.said!r}"


def run(row: Row, world: World) -> tuple[Meaning, Transition, Snapshot]:
    state, data, profile = PLACES[row.where]
    snapshot = Snapshot(state, data, profile)
    event = InboundEvent.text_message(row.said)
    meaning = understand(event, context_of(Turn(snapshot, NOW, world))).meaning
    return meaning, step(snapshot, event, NOW, world), snapshot


def reply_text(transition: Transition) -> str:
    return "\n".join(describe(r) for r in transition.replies)


def outcome_of(transition: Transition, before: Snapshot) -> str:
    quiz = [w for w in transition.writes if w.kind == "quiz"]
    graded = [w for w in quiz if w.correct is not None]
    text = " ".join(describe(r) for r in transition.replies)
    if transition.erase_learner:
        return "erased"
    if graded:
        record = graded[0]
        if record.correct:
            return "near" if "Almost" in text else "right"
        return "miss" if record.response and "The answer is" in text else "wrong"
    if transition.state is State.STOPPED and before.state is not State.STOPPED:
        return "stopped"
    if before.state is State.STOPPED and transition.state is not State.STOPPED:
        return "started"
    if transition.state is State.EXPLAIN_GRADING and before.state is State.EXPLAIN:
        return "grading"
    moved_on = transition.data.get("index", 0) != before.data.get("index", 0)
    if moved_on or (
        before.state in (State.LESSON, State.QUIZ)
        and transition.state is not before.state
        and transition.state is not State.IDLE
    ):
        done = [w for w in transition.writes if w.kind != "question" and (
            w.response or w.kind == "lesson" or w.score is not None)]  # fmt: skip
        return "done" if done else "skipped"
    if before.state is State.IDLE and transition.state is State.QUIZ:
        return "quiz"
    if before.state is State.IDLE and transition.state is State.LESSON:
        return "session"
    if (
        before.data.get("plan")
        and transition.state is State.IDLE
        and not transition.data.get("plan")
    ):
        return "ended"
    if transition.state is not before.state:
        return "next"
    return "stays"
