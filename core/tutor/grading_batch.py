"""`pau grade --batch FILE --grader llm`: the batch of core/grading/batch.py, graded by the model.

The same input lines and the same output lines, in the same order, with a "fallback" more
("" when the model's grade was used, else why the offline grader's was). "feedback" is the
model's two lines, or for an offline line the offline grader's usual reply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.grading.batch import BadLine, _parse
from core.grading.grader import Grade, feedback
from core.logs import failure
from core.tutor.grading import LlmGrader, key_points_of
from core.tutor.llm import LlmUsage

BATCH_LEARNER = 0  # usage of an author's batch is recorded under no learner

log = logging.getLogger(__name__)


@dataclass
class TallyLedger:
    """A UsageLedger in memory, for one run of the command line: it adds up what was used."""

    used: dict[tuple[int, date], int] = field(default_factory=dict)
    total: LlmUsage = field(default_factory=LlmUsage)

    def spent(self, *, learner_id: int, day: date) -> tuple[int, int]:
        everyone = sum(tokens for (_, on), tokens in self.used.items() if on == day)
        return self.used.get((learner_id, day), 0), everyone

    def record(self, *, learner_id: int, day: date, purpose: str, usage: LlmUsage) -> None:
        key = (learner_id, day)
        self.used[key] = self.used.get(key, 0) + usage.total
        self.total = LlmUsage(
            self.total.input_tokens + usage.input_tokens,
            self.total.output_tokens + usage.output_tokens,
            self.total.cached_tokens + usage.cached_tokens,
        )


def llm_grade_line(grader: LlmGrader, line: str) -> dict[str, Any]:
    """The output object for one input line."""
    try:
        question, reference, answer, points = _parse(line)
    except BadLine as error:
        return {"error": str(error)}
    args: dict[str, Any] = {"question": question, "reference": reference, "answer": answer}
    args["key_points"] = key_points_of({**args, "key_points": points})
    try:
        result = grader.grade(BATCH_LEARNER, args)
    except Exception as error:  # the offline grader failed too: one line, not the batch
        failure(log, "grading a line", error=error)
        return {"error": f"grading failed: {type(error).__name__}: {error}"}
    return {
        "score": round(result["score"], 3),
        "covered": result["covered"],
        "missed": result["missed"],
        "contradicted": result["contradicted"],
        "misconception": result["misconception"],
        "feedback": result["feedback"] or offline_feedback(result, args["key_points"]),
        "method": result["method"],
        "fallback": result["fallback"],
    }


def offline_feedback(result: dict[str, Any], points: list[str]) -> str:
    """The offline grader's reply for an offline result."""
    return feedback(
        Grade(
            score=result["score"],
            covered=tuple(result["covered"]),
            missed=tuple(result["missed"]),
            misconception=result["misconception"],
            method=result["method"],
            contradicted=tuple(result["contradicted"]),
            key_points=tuple(points),
        )
    )


def llm_grade_lines(grader: LlmGrader, lines: Iterable[str]) -> Iterator[str]:
    """One JSON line (without newline) per input line, in order."""
    for line in lines:
        yield json.dumps(llm_grade_line(grader, line), ensure_ascii=False)
