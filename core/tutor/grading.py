"""Explain-back grading by the language model, checked, with the offline grader behind it.

    args (GRADE_EXPLANATION) ─▶ budget left? ─no─▶ offline grade, fallback "over_budget"
        │ yes
        ▼
    LlmRequest(purpose="grade", schema=GradeSchema) ─LlmError─▶ offline, fallback = its reason
        │ reply.data (usage recorded)
        ▼
    GradeSchema ─invalid─▶ offline, "malformed"
        ▼
    the checks below ─fail─▶ offline, "malformed" | "inconsistent" | "unsafe"
        ▼
    {"score", "covered", "missed", "contradicted": [], "misconception", "feedback",
     "method": "llm", "fallback": "", "concept_id"}

The checks, beyond the schema (the model is told to copy key points word for word):
- each entry of `covered` / `missed` is mapped to a key point: the same text once normalised
  (case, punctuation, spacing), its number ("2", "point 2"), or the nearest key point by
  similarity of at least MATCH_AT; entries that map to none are dropped. If the model listed
  entries and none of them is a key point, it did not grade this rubric: "malformed".
- a point in both lists is missed (the cautious reading); a point in neither is missed.
- the score must agree with the share of points covered: at most share + SCORE_SLACK, and, when
  no misconception is named, at least share - SCORE_SLACK; otherwise "inconsistent" (this is
  what catches a model talked into "1.0" by the learner's answer while it lists no point).
- feedback: one or two non-blank lines, at most FEEDBACK_CHARS characters in all ("malformed"),
  and no links ("unsafe"); a misconception of at most MISCONCEPTION_CHARS characters.

The offline result is `core.performers.grade_explanation`'s, with method "offline", the
fallback reason and an empty "feedback". `LlmGrader.grade` never raises for the model's sake.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from difflib import SequenceMatcher
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from core.grading.segment import points_from_reference
from core.logs import failure
from core.performers import grade_explanation
from core.ports import Clock
from core.tutor.budget import Budget, UsageLedger
from core.tutor.llm import Llm, LlmError, LlmMessage, LlmRequest, LlmUsage
from core.tutor.prompts import as_data, render

MATCH_AT = 0.75  # similarity (difflib ratio of normalised texts) from which an entry is a point
SCORE_SLACK = 0.35  # how far the score may stray from the share of points covered
FEEDBACK_CHARS = 300
MISCONCEPTION_CHARS = 300
MAX_TOKENS = 500

log = logging.getLogger(__name__)


class GradeSchema(BaseModel):
    """The structured output asked of the model."""

    score: float = Field(ge=0.0, le=1.0, description="0 to 1, following the rubric")
    covered: list[str] = Field(description="key points the explanation states, word for word")
    missed: list[str] = Field(description="key points it leaves out or gets wrong, word for word")
    misconception: str | None = Field(
        default=None, description="the one false claim it makes, in a short sentence; or null"
    )
    feedback: str = Field(description="at most two short lines: what to fix or add")


class Rejected(Exception):
    """The model's grade fails a check; `reason` is the fallback reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class LlmGrader:
    """Grades with the model first and falls back to the offline grader on any failure."""

    llm: Llm
    ledger: UsageLedger
    budget: Budget
    clock: Clock

    def grade(self, learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        """The GRADED result for a GRADE_EXPLANATION command's args (see the module doc)."""
        points = key_points_of(args)
        if not points:
            return offline_grade(learner_id, args, "no_key_points")
        try:
            day = self._today()
            if not self.budget.allows(*self.ledger.spent(learner_id=learner_id, day=day)):
                return offline_grade(learner_id, args, "over_budget")
            reply = self.llm.complete(grade_request(args, points))
            self._record(learner_id, day, reply.usage)
            return accept(reply.data, points, args)
        except LlmError as error:
            failure(log, "llm grading", error=error, learner=learner_id, level=logging.INFO)
            if error.usage is not None:  # the provider answered (a refusal, malformed): it costs
                self._record_quietly(learner_id, error.usage)
            return offline_grade(learner_id, args, error.reason)
        except Rejected as error:
            failure(log, "llm grade check", error=error, learner=learner_id, level=logging.INFO)
            return offline_grade(learner_id, args, error.reason)
        except Exception as error:  # a ledger or adapter bug must not cost the learner a grade
            failure(log, "llm grading", error=error, learner=learner_id)
            return offline_grade(learner_id, args, "failed")

    def _today(self) -> date:
        now = self.clock()
        return (now.astimezone(UTC) if now.tzinfo else now).date()

    def _record(self, learner_id: int, day: date, usage: LlmUsage) -> None:
        self.ledger.record(learner_id=learner_id, day=day, purpose="grade", usage=usage)

    def _record_quietly(self, learner_id: int, usage: LlmUsage) -> None:
        try:
            self._record(learner_id, self._today(), usage)
        except Exception as error:  # the record is lost, not the grade
            failure(log, "llm grading usage", error=error, learner=learner_id)


def key_points_of(args: Mapping[str, Any]) -> list[str]:
    """The rubric: the command's key points, or the reference's sentences as the offline
    grader takes them when none are given."""
    given = [str(p).strip() for p in args.get("key_points") or () if str(p).strip()]
    return given or [p.strip() for p in points_from_reference(str(args["reference"]))]


def grade_request(args: Mapping[str, Any], points: Sequence[str]) -> LlmRequest:
    """The request: rules (system), the rubric (context), the answer in <learner_answer>."""
    values = {
        "question": as_data(str(args["question"])),
        "reference": as_data(str(args["reference"])),
        "key_points": [as_data(p) for p in points],
        "answer": as_data(str(args["answer"]).strip()),
    }
    return LlmRequest(
        purpose="grade",
        system=render("grade", part="system", **values),
        context=render("grade", part="context", **values),
        messages=(LlmMessage("user", render("grade", part="answer", **values)),),
        max_tokens=MAX_TOKENS,
        schema=GradeSchema,
    )


def offline_grade(learner_id: int, args: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """The offline grader's result, marked as the fallback it is."""
    result = grade_explanation(learner_id, args)
    return {**result, "feedback": "", "method": "offline", "fallback": reason}


def accept(
    data: Mapping[str, Any] | None, points: Sequence[str], args: Mapping[str, Any]
) -> dict[str, Any]:
    """The model's structured grade, checked against the rubric, as a GRADED result; raises
    Rejected when it cannot be trusted."""
    try:
        parsed = GradeSchema.model_validate(dict(data or {}))
    except ValidationError as error:
        raise Rejected("malformed", f"schema: {error.error_count()} error(s)") from None
    covered, missed = sort_into_points(parsed.covered, parsed.missed, points)
    misconception = clean_misconception(parsed.misconception)
    check_score(parsed.score, len(covered) / len(points), misconception)
    return {
        "score": round(parsed.score, 4),
        "covered": covered,
        "missed": missed,
        "contradicted": [],  # the model names a misconception, not the points it contradicts
        "misconception": misconception,
        "feedback": clean_feedback(parsed.feedback),
        "method": "llm",
        "fallback": "",
        "concept_id": args.get("concept_id", ""),
    }


def normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


_NUMBERED = re.compile(r"^(?:key\s*)?(?:point\s*)?#?(\d{1,2})[.):]?\s*(.*)$", re.IGNORECASE)


def point_index(entry: str, points: Sequence[str]) -> int | None:
    """Which key point an entry of the model's lists names, if any."""
    wanted = normalised(entry)
    keys = [normalised(p) for p in points]
    if wanted in keys:
        return keys.index(wanted)
    numbered = _NUMBERED.match(entry.strip())
    if numbered:
        number, rest = int(numbered.group(1)), numbered.group(2)
        if not rest.strip() and 1 <= number <= len(points):
            return number - 1  # "2" or "point 2": the prompt numbers the points
        if rest.strip():
            wanted = normalised(rest)  # "2. Memory fades..." : the text after the number
    ratios = [SequenceMatcher(None, wanted, key).ratio() for key in keys]
    best = max(range(len(points)), key=ratios.__getitem__)
    return best if ratios[best] >= MATCH_AT else None


def sort_into_points(
    covered: Sequence[str], missed: Sequence[str], points: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(covered, missed) as key points, in the rubric's order, every point in exactly one."""
    said = {point_index(entry, points) for entry in covered}
    unsaid = {point_index(entry, points) for entry in missed}
    if (covered or missed) and not (said | unsaid) - {None}:
        raise Rejected("malformed", "no listed entry is a key point")
    is_covered = [i in said and i not in unsaid for i in range(len(points))]
    return (
        [p for p, c in zip(points, is_covered, strict=True) if c],
        [p for p, c in zip(points, is_covered, strict=True) if not c],
    )


def check_score(score: float, share: float, misconception: str | None) -> None:
    if score > share + SCORE_SLACK:
        raise Rejected("inconsistent", f"score {score:.2f} with {share:.0%} of the points")
    if misconception is None and score < share - SCORE_SLACK:
        raise Rejected("inconsistent", f"score {score:.2f} with {share:.0%} and no misconception")


_LINK = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net|io)\b", re.IGNORECASE)
_NOTHING = {"", "none", "null", "n a", "no", "no misconception", "nothing"}


def clean_misconception(text: str | None) -> str | None:
    if text is None or normalised(text) in _NOTHING:
        return None
    text = " ".join(text.split())
    if len(text) > MISCONCEPTION_CHARS:
        raise Rejected("malformed", f"misconception of {len(text)} characters")
    if _LINK.search(text):
        raise Rejected("unsafe", "a link in the misconception")
    return text


def clean_feedback(text: str) -> str:
    """One or two lines, blank ones dropped, spacing tidied."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    feedback = "\n".join(lines)
    if not lines or len(lines) > 2 or len(feedback) > FEEDBACK_CHARS:
        raise Rejected("malformed", f"feedback of {len(lines)} line(s), {len(feedback)} characters")
    if _LINK.search(feedback):
        raise Rejected("unsafe", "a link in the feedback")
    return feedback
