"""What core/ itself knows how to perform for the command worker: grading and charts.
(Exports read the database, so the composition root adds that performer.)

Explain-back grading is "LLM first": `grade_explanation_with(LlmGrader(...))` asks the model
(core/tutor/grading.py) and falls back to the offline `grade_explanation` on any failure;
`grade_explanation_with(None)` (no model configured) grades offline."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from core.chart import progress_chart
from core.commands import CommandKind
from core.grading import grade

if TYPE_CHECKING:  # core.tutor.grading imports this module for the offline grader
    from core.tutor.grading import LlmGrader

Performer = Callable[[int, Mapping[str, Any]], dict[str, Any]]


def grade_explanation(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
    """The offline grader (core/grading): no network, no key; `method` "semantic"/"lexical"."""
    result = grade(
        question=str(args["question"]),
        reference=str(args["reference"]),
        answer=str(args["answer"]),
        key_points=[str(point) for point in args.get("key_points", ())],
    )
    return {
        "score": result.score,
        "covered": list(result.covered),
        "missed": list(result.missed),
        "contradicted": list(result.contradicted),
        "misconception": result.misconception,
        "method": result.method,
        "concept_id": args.get("concept_id", ""),
    }


def grade_explanation_with(grader: LlmGrader | None) -> Performer:
    """The GRADE_EXPLANATION performer: the model first when there is one, else offline. Its
    results always carry `method` ("llm" | "offline"), `fallback` (why offline: "" for the
    model's grade, "unavailable" without a model, else an LlmError reason or a failed check)
    and `feedback` (the model's two lines; "" offline)."""
    if grader is not None:
        return grader.grade

    def offline(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        result = grade_explanation(learner_id, args)
        return {**result, "feedback": "", "method": "offline", "fallback": "unavailable"}

    return offline


def render_chart(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
    studied = [(str(title), float(mastery)) for title, mastery in args["studied"]]
    png = progress_chart(str(args["title"]), studied, str(args.get("subtitle", "")))
    return {"png": base64.b64encode(png).decode("ascii"), "caption": args.get("caption", "")}


CORE_PERFORMERS = {
    CommandKind.GRADE_EXPLANATION: grade_explanation,
    CommandKind.RENDER_CHART: render_chart,
}
