"""Taking the learner's answer to the open activity: lesson read, quiz, reflection, explain-back.

Each handler returns None when the event is not an answer (a question, say); the step then
treats it as free text and the activity stays open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.commands import Command, CommandKind
from core.content import Concept, QuizItem, normalize
from core.dialogue.model import Transition, Turn
from core.dialogue.parsing import looks_like_question
from core.dialogue.session import activity_ref, current, present, reprompt
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord
from core.learning import learn
from core.replies import Reply, Text, Typing

CONTINUE_WORDS = {"continue", "next", "ok", "okay", "done", "got it", "ready", "yes", "go", "k"}
SKIP_WORDS = {"skip", "pass", "next", "i don t know", "dont know", "don t know", "no idea", "idk"}


def _duration_ms(turn: Turn) -> int | None:
    asked = turn.snapshot.data.get("asked_at")
    if not asked:
        return None
    elapsed = turn.now - datetime.fromisoformat(str(asked))
    return max(0, int(elapsed.total_seconds() * 1000))


def _advance(turn: Turn, replies: list[Reply], record: ActivityRecord, **counts: int) -> Transition:
    """Record the finished activity, update the learning record, present the next one."""
    activity = current(turn)
    plan_kind = activity["kind"] if activity else record.kind
    snapshot = turn.snapshot
    learned, celebration = learn(
        snapshot.learning, record, plan_kind, turn.now, turn.course, snapshot.profile.timezone
    )
    if celebration is not None:
        replies = [*replies, Text(turn.t(celebration.key, **celebration.params))]
    after = Turn(replace(snapshot, progress=learned.progress, stats=learned.stats,
                         motivation=learned.motivation), turn.now, turn.world)  # fmt: skip
    data = {**snapshot.data, **counts}
    transition = present(after, data, int(data.get("index", 0)) + 1, replies)
    return replace(transition, learning=learned).then(writes=(record,))


def handle_lesson(turn: Turn, event: InboundEvent) -> Transition | None:
    activity = current(turn)
    if activity is None:
        return None
    if event.choice_id == "continue" or normalize(event.text) in CONTINUE_WORDS:
        record = ActivityRecord(
            "lesson", concept_id=activity["concept"], duration_ms=_duration_ms(turn)
        )
        return _advance(turn, [], record)
    return None


def option_index(item: QuizItem, event: InboundEvent) -> int | None:
    """Which option an event picks: a poll answer, a button, '2', 'b' or the option's text."""
    if event.kind is EventKind.POLL_ANSWER and event.option_index is not None:
        return event.option_index if 0 <= event.option_index < len(item.options) else None
    if event.kind is EventKind.CHOICE and event.choice_id.startswith("answer:"):
        _, item_id, raw = (
            event.choice_id.rsplit(":", 2) if event.choice_id.count(":") >= 2 else ("", "", "")
        )
        if item_id == item.id and raw.isdigit() and int(raw) < len(item.options):
            return int(raw)
        return None
    text = normalize(event.text)
    for index, option in enumerate(item.options):  # the option's own text wins over a position
        if text == normalize(option):
            return index
    if text.isdigit() and 1 <= int(text) <= len(item.options):
        return int(text) - 1
    if len(text) == 1 and "a" <= text <= chr(ord("a") + len(item.options) - 1):
        return ord(text) - ord("a")
    if len(item.options) == 2 and item.options[0] == "True":
        if text in {"t", "true", "right", "correct"}:
            return 0
        if text in {"f", "false", "wrong", "incorrect"}:
            return 1
    return None


def handle_quiz(turn: Turn, event: InboundEvent) -> Transition | None:
    activity = current(turn)
    course = turn.course
    if activity is None or course is None:
        return None
    item = course.quiz_item(activity["item"])
    if item is None:
        return None
    t = turn.t
    if (
        event.kind in (EventKind.CHOICE, EventKind.POLL_ANSWER)
        and event.ref
        and event.ref != item.id
    ):
        return turn.stay(Text(t("quiz_closed")), *reprompt(turn))
    skipped = event.kind is EventKind.TEXT and normalize(event.text) in SKIP_WORDS
    if skipped:  # "skip" or "I don't know": shown the answer, and due again soon
        correct, response = False, ""
    elif item.has_options:
        chosen = option_index(item, event)
        if chosen is None:
            return None
        correct = chosen == item.correct_index
        response = item.options[chosen]
    else:
        if event.kind is not EventKind.TEXT or looks_like_question(event.text):
            return None
        response = event.text.strip()
        correct = item.is_correct_text(response)
    key = "quiz_skipped" if skipped else "quiz_right" if correct else "quiz_wrong"
    feedback = Text(t(key, answer=item.correct_answer, explanation=item.explanation))
    record = ActivityRecord(
        "quiz",
        concept_id=item.concept_id,
        item_id=item.id,
        correct=correct,
        response=response,
        duration_ms=_duration_ms(turn),
    )
    data = turn.snapshot.data
    return _advance(
        turn,
        [feedback],
        record,
        session_answered=int(data.get("session_answered", 0)) + 1,
        session_correct=int(data.get("session_correct", 0)) + (1 if correct else 0),
    )


def handle_reflection(turn: Turn, event: InboundEvent) -> Transition | None:
    activity = current(turn)
    if activity is None or event.kind is not EventKind.TEXT:
        return None
    text = event.text.strip()
    skipped = normalize(text) in SKIP_WORDS
    if not skipped and (looks_like_question(text) or len(text) < 3):
        return None
    reply = Text(turn.t("reflection_skipped" if skipped else "reflection_thanks"))
    record = ActivityRecord(
        "reflection",
        concept_id=activity["concept"],
        response="" if skipped else text,
        duration_ms=_duration_ms(turn),
    )
    return _advance(turn, [reply], record)


def explain_concept(turn: Turn) -> Concept | None:
    activity = current(turn)
    course = turn.course
    if activity is None or course is None:
        return None
    return course.concept(activity["concept"])


def handle_explain(turn: Turn, event: InboundEvent) -> Transition | None:
    """An explanation is graded by a command; "typing…" shows until the grade comes back."""
    concept = explain_concept(turn)
    if concept is None or event.kind is not EventKind.TEXT:
        return None
    text = event.text.strip()
    skipped = normalize(text) in SKIP_WORDS
    if not skipped and (looks_like_question(text) or len(text) < 3):
        return None
    if skipped:
        reply = Text(turn.t("explain_feedback", covered=[], wanted=[], misconception=None,
                            skipped=True, score=0))  # fmt: skip
        record = ActivityRecord("explain_back", concept_id=concept.id, score=0.0,
                                duration_ms=_duration_ms(turn))  # fmt: skip
        return _advance(turn, [reply], record)
    points = concept.explain_back.key_points
    grading = Command(
        CommandKind.GRADE_EXPLANATION,
        {
            "question": concept.explain_back.prompt,
            "reference": " ".join([concept.summary, *points]).strip(),
            "answer": text,
            "key_points": list(points),
            "concept_id": concept.id,
        },
        ref=activity_ref(turn),
    )
    waiting = {"response": text, "duration_ms": _duration_ms(turn)}
    return turn.go(
        State.EXPLAIN_GRADING, Typing(), data={**turn.snapshot.data, "grading": waiting}
    ).then(commands=(grading,))


def handle_grading_wait(turn: Turn, event: InboundEvent) -> Transition | None:
    """While the explanation is graded: questions are answered, anything else waits a moment."""
    if event.kind is EventKind.TEXT and looks_like_question(event.text):
        return None
    return turn.stay(Text(turn.t("still_grading")))


def explain_feedback(turn: Turn, grade: Mapping[str, Any] | None) -> Transition:
    """The grade is in (or could not be had: None): feedback, then the next activity."""
    concept = explain_concept(turn)
    assert concept is not None
    waiting = dict(turn.snapshot.data.get("grading") or {})
    if grade is None:
        reply = Text(turn.t("grading_failed", points=list(concept.explain_back.key_points)))
        score = None
    else:
        score = float(grade["score"])
        covered = list(grade.get("covered", ()))
        reply = Text(
            turn.t(
                "explain_feedback",
                covered=covered,
                missed=list(grade.get("missed", ())),
                contradicted=list(grade.get("contradicted", ())),
                wanted=[p for p in concept.explain_back.key_points if p not in covered],
                skipped=False,
                misconception=grade.get("misconception"),
                score=round(score * 100),
            )
        )
    record = ActivityRecord(
        "explain_back",
        concept_id=concept.id,
        score=score,
        response=str(waiting.get("response", "")),
        duration_ms=waiting.get("duration_ms"),
    )
    data = {k: v for k, v in turn.snapshot.data.items() if k != "grading"}
    after = Turn(replace(turn.snapshot, data=data), turn.now, turn.world)
    return _advance(after, [reply], record)


HANDLERS = {
    State.LESSON: handle_lesson,
    State.QUIZ: handle_quiz,
    State.REFLECTION: handle_reflection,
    State.EXPLAIN: handle_explain,
    State.EXPLAIN_GRADING: handle_grading_wait,
}
