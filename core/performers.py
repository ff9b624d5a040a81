"""What core/ itself knows how to perform for the command worker: grading and charts.
(Exports read the database, so the composition root adds that performer.)"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from core.chart import progress_chart
from core.commands import CommandKind
from core.grading import grade


def grade_explanation(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
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


def render_chart(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
    studied = [(str(title), float(mastery)) for title, mastery in args["studied"]]
    png = progress_chart(str(args["title"]), studied, str(args.get("subtitle", "")))
    return {"png": base64.b64encode(png).decode("ascii"), "caption": args.get("caption", "")}


CORE_PERFORMERS = {
    CommandKind.GRADE_EXPLANATION: grade_explanation,
    CommandKind.RENDER_CHART: render_chart,
}
