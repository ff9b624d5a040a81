"""Taking the learner's answer to the open activity: lesson read, quiz, reflection; and what
"skip" and "I don't know" do in each (the step has decided that the event is one of those).

A skip moves on and counts nothing: no review for FSRS, no score, no streak. "I don't know"
counts where that is honest, as a missed quiz review or a zero explanation, and gets the answer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from core.content import QuizItem, normalize
from core.dialogue.model import Transition, Turn
from core.dialogue.session import current, present, reprompt
from core.dialogue.states import State
from core.dialogue.typed_answers import (
    TypedOutcome,
    answer_candidates,
    check_typed,
    course_competitors,
    pick_option,
)
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord
from core.learning import learn
from core.replies import Reply, Text

VERDICT_ORDER = (TypedOutcome.RIGHT, TypedOutcome.NEAR_MISS, TypedOutcome.WRONG)  # best first
SKIPPED_RECORDS = {"reflection": "reflection", "explain": "explain_back"}  # plan kind -> record


def duration_ms(turn: Turn) -> int | None:
    asked = turn.snapshot.data.get("asked_at")
    if not asked:
        return None
    elapsed = turn.now - datetime.fromisoformat(str(asked))
    return max(0, int(elapsed.total_seconds() * 1000))


def advance(
    turn: Turn, replies: list[Reply], record: ActivityRecord | None, **counts: int
) -> Transition:
    """Record the finished activity (None: skipped, nothing to record), update the learning
    record, present the next activity."""
    snapshot = turn.snapshot
    data = {**snapshot.data, **counts}
    next_index = int(data.get("index", 0)) + 1
    if record is None:
        return present(turn, data, next_index, replies)
    activity = current(turn)
    plan_kind = activity["kind"] if activity else record.kind
    learned, celebration = learn(
        snapshot.learning, record, plan_kind, turn.now, turn.course, snapshot.profile.timezone
    )
    if celebration is not None:
        replies = [*replies, Text(turn.t(celebration.key, **celebration.params))]
    after = Turn(replace(snapshot, progress=learned.progress, stats=learned.stats,
                         motivation=learned.motivation), turn.now, turn.world)  # fmt: skip
    transition = present(after, data, next_index, replies)
    return replace(transition, learning=learned).then(writes=(record,))


def handle_lesson(turn: Turn, event: InboundEvent) -> Transition | None:
    """Read: "ok", "weiter", or the Continue button (an old button or poll is not)."""
    activity = current(turn)
    read = event.kind is EventKind.TEXT or event.choice_id == "continue"
    if activity is None or not read:
        return None
    record = ActivityRecord("lesson", concept_id=activity["concept"], duration_ms=duration_ms(turn))
    return advance(turn, [], record)


def option_index(item: QuizItem, event: InboundEvent) -> int | None:
    """Which option an event picks: a poll answer, a button, or typed ('2', 'b', 'the first one',
    the option's text)."""
    if event.kind is EventKind.POLL_ANSWER and event.option_index is not None:
        return event.option_index if 0 <= event.option_index < len(item.options) else None
    if event.kind is EventKind.CHOICE and event.choice_id.startswith("answer:"):
        _, item_id, raw = (
            event.choice_id.rsplit(":", 2) if event.choice_id.count(":") >= 2 else ("", "", "")
        )
        if item_id == item.id and raw.isdigit() and int(raw) < len(item.options):
            return int(raw)
        return None
    return next(
        (i for r in answer_candidates(event.text) if (i := pick_option(item, r)) is not None), None
    )


def open_item(turn: Turn) -> QuizItem | None:
    activity = current(turn)
    course = turn.course
    if activity is None or course is None or "item" not in activity:
        return None
    return course.quiz_item(activity["item"])


def handle_quiz(turn: Turn, event: InboundEvent) -> Transition | None:
    item = open_item(turn)
    if item is None:
        return None
    t = turn.t
    if (
        event.kind in (EventKind.CHOICE, EventKind.POLL_ANSWER)
        and event.ref
        and event.ref != item.id
    ):
        return turn.stay(Text(t("quiz_closed")), *reprompt(turn))
    if item.has_options:
        chosen = option_index(item, event)
        if chosen is None:
            return None
        correct, response = chosen == item.correct_index, item.options[chosen]
        key, spelled = ("quiz_right" if correct else "quiz_wrong"), ""
    else:
        if event.kind is not EventKind.TEXT:
            return None
        response = event.text.strip()
        assert turn.course is not None
        competitors = course_competitors(turn.course, item)
        verdicts = [check_typed(item, r, competitors) for r in answer_candidates(response)]
        verdict = min(verdicts, key=lambda v: VERDICT_ORDER.index(v.outcome))
        correct, spelled = verdict.counts_as_correct, verdict.spelled or ""
        key = {TypedOutcome.RIGHT: "quiz_right", TypedOutcome.NEAR_MISS: "quiz_near_miss",
               TypedOutcome.WRONG: "quiz_wrong"}[verdict.outcome]  # fmt: skip
        if verdict.outcome is TypedOutcome.RIGHT and normalize(response) != normalize(spelled):
            key = "quiz_right_also"  # "the savings" for "savings": right, and the course's words
    feedback = Text(
        t(key, answer=item.correct_answer, spelled=spelled, explanation=item.explanation)
    )
    return _quiz_done(turn, item, feedback, correct, response)


def _quiz_done(
    turn: Turn, item: QuizItem, feedback: Text, correct: bool | None, response: str
) -> Transition:
    record = ActivityRecord("quiz", concept_id=item.concept_id, item_id=item.id, correct=correct,
                            response=response, duration_ms=duration_ms(turn))  # fmt: skip
    data = turn.snapshot.data
    answered = 0 if correct is None else 1
    return advance(
        turn,
        [feedback],
        record,
        session_answered=int(data.get("session_answered", 0)) + answered,
        session_correct=int(data.get("session_correct", 0)) + (1 if correct else 0),
    )


def handle_reflection(turn: Turn, event: InboundEvent) -> Transition | None:
    activity = current(turn)
    if activity is None or event.kind is not EventKind.TEXT:
        return None
    record = ActivityRecord("reflection", concept_id=activity["concept"],
                            response=event.text.strip(), duration_ms=duration_ms(turn))  # fmt: skip
    return advance(turn, [Text(turn.t("reflection_thanks"))], record)


def skip(turn: Turn) -> Transition | None:
    """Move on from the open activity without counting anything; None when nothing is open."""
    activity = current(turn)
    state = turn.snapshot.state
    if activity is None or state is State.EXPLAIN_GRADING:
        return None
    t = turn.t
    kind = activity["kind"]
    if kind in ("review", "check"):
        item = open_item(turn)
        assert item is not None
        return _quiz_done(turn, item, Text(t("quiz_skipped")), None, "")
    concept = activity["concept"]
    record = None if kind == "lesson" else ActivityRecord(SKIPPED_RECORDS[kind], concept_id=concept)
    return advance(turn, [Text(t(f"{kind}_skipped"))], record)


def dont_know(turn: Turn, event: InboundEvent) -> Transition | None:
    """ "I don't know": a missed review for a quiz, a zero for an explanation (with the key
    points), a kind skip for a reflection; None where it answers nothing (a lesson, idle)."""
    activity = current(turn)
    course = turn.course
    if activity is None or course is None:
        return None
    t = turn.t
    kind = activity["kind"]
    text = event.text.strip()
    if kind in ("review", "check"):
        item = open_item(turn)
        assert item is not None
        reply = Text(t("quiz_dont_know", answer=item.correct_answer, explanation=item.explanation))
        return _quiz_done(turn, item, reply, False, text)
    concept = course.concept(activity["concept"])
    if kind == "explain" and concept is not None:
        reply = Text(t("explain_dont_know", points=list(concept.explain_back.key_points)))
        record = ActivityRecord("explain_back", concept_id=concept.id, score=0.0, response=text,
                                duration_ms=duration_ms(turn))  # fmt: skip
        return advance(turn, [reply], record)
    if kind == "reflection":
        record = ActivityRecord("reflection", concept_id=activity["concept"])
        return advance(turn, [Text(t("reflection_dont_know"))], record)
    return None


HANDLERS = {
    State.LESSON: handle_lesson,
    State.QUIZ: handle_quiz,
    State.REFLECTION: handle_reflection,
}
