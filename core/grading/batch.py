"""`pau grade --batch FILE.jsonl`: grade many explanations, one JSON line in, one JSON line out.

Input lines: {"question", "reference", "answer"} and optionally "key_points" (a list of strings).
Output lines, in the same order: {"score", "covered", "missed", "contradicted",
"misconception", "feedback", "method"}, or {"error": "..."} for a line that cannot be graded
(blank, not JSON, a field missing or of the wrong type). A bad line never stops the run and is
never skipped, so line N of the output always answers line N of the input.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from core.grading.grader import feedback, grade
from core.logs import failure

REQUIRED = ("question", "reference", "answer")

log = logging.getLogger(__name__)


class BadLine(ValueError):
    """A batch input line that cannot be graded; the message goes into the error line."""


def _parse(line: str) -> tuple[str, str, str, list[str] | None]:
    if not line.strip():
        raise BadLine("blank line")
    try:
        item: Any = json.loads(line)
    except json.JSONDecodeError as error:
        raise BadLine(f"not valid JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(item, dict):
        raise BadLine("expected a JSON object")
    missing = [name for name in REQUIRED if name not in item]
    if missing:
        raise BadLine(f"missing field(s): {', '.join(missing)}")
    wrong = [name for name in REQUIRED if not isinstance(item[name], str)]
    if wrong:
        raise BadLine(f"field(s) must be strings: {', '.join(wrong)}")
    points = item.get("key_points")
    if points is not None and (
        not isinstance(points, list) or not all(isinstance(p, str) for p in points)
    ):
        raise BadLine("key_points must be a list of strings")
    return item["question"], item["reference"], item["answer"], points or None


def grade_line(line: str) -> dict[str, Any]:
    """The output object for one input line."""
    try:
        question, reference, answer, points = _parse(line)
    except BadLine as error:
        return {"error": str(error)}
    try:
        result = grade(question=question, reference=reference, answer=answer, key_points=points)
    except Exception as error:  # one bad line must not end a batch of thousands
        failure(log, "grading a line", error=error)
        return {"error": f"grading failed: {type(error).__name__}: {error}"}
    return {
        "score": round(result.score, 3),
        "covered": list(result.covered),
        "missed": list(result.missed),
        "contradicted": list(result.contradicted),
        "misconception": result.misconception,
        "feedback": feedback(result),
        "method": result.method,
    }


def grade_lines(lines: Iterable[str]) -> Iterator[str]:
    """One JSON line (without newline) per input line, in order."""
    for line in lines:
        yield json.dumps(grade_line(line), ensure_ascii=False)
