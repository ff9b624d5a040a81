"""Explain-back: the explanation is graded by a command, and "typing…" shows until the grade comes
back as an internal event (core/dialogue/results.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from core.commands import Command, CommandKind
from core.content import Concept
from core.dialogue.answers import advance, duration_ms
from core.dialogue.model import Transition, Turn
from core.dialogue.session import activity_ref, current
from core.dialogue.states import State
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord
from core.replies import Text, Typing


def explain_concept(turn: Turn) -> Concept | None:
    activity = current(turn)
    course = turn.course
    if activity is None or course is None:
        return None
    return course.concept(activity["concept"])


def handle_explain(turn: Turn, event: InboundEvent) -> Transition | None:
    concept = explain_concept(turn)
    if concept is None or event.kind is not EventKind.TEXT:
        return None
    text = event.text.strip()
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
    waiting = {"response": text, "duration_ms": duration_ms(turn)}
    return turn.go(
        State.EXPLAIN_GRADING, Typing(), data={**turn.snapshot.data, "grading": waiting}
    ).then(commands=(grading,))


def handle_grading_wait(turn: Turn, event: InboundEvent) -> Transition:
    """While the explanation is graded anything that answers it waits a moment."""
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
                misconception=grade.get("misconception"),
                feedback=str(grade.get("feedback") or ""),  # the LLM grader's two lines
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
    return advance(after, [reply], record)
