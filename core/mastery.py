"""Mastery per concept from graded evidence, decaying without review (DESIGN.md §5).

Evidence is a quiz outcome (0 or 1) or an explain-back score (0..1, counted double: it says more).
Recent evidence weighs more than old (each new piece multiplies the old weights by RECENCY), and
a prior of PRIOR_WEIGHT at zero, fading at the same rate, keeps one lucky answer from meaning
mastery: four right answers in a row reach it. The result then
decays with time since the last evidence, with a half-life that grows with each success, so a
concept reviewed successfully many times fades slowly and a concept seen once fades fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

MASTERED = 0.8
IN_PROGRESS = 0.4
RECENCY = 0.8
PRIOR_WEIGHT = 1.5
BASE_HALF_LIFE_DAYS = 4.0
MAX_HALF_LIFE_DAYS = 180.0
QUIZ_WEIGHT = 1.0
EXPLAIN_WEIGHT = 2.0


class MasteryLevel(StrEnum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    MASTERED = "mastered"


@dataclass(frozen=True)
class MasteryState:
    """What is kept per concept: enough to compute mastery at any later time."""

    weighted_sum: float = 0.0
    weight: float = 0.0
    successes: int = 0
    count: int = 0
    last_evidence_at: datetime | None = None

    def with_evidence(self, value: float, weight: float, at: datetime) -> MasteryState:
        value = min(1.0, max(0.0, value))
        return replace(
            self,
            weighted_sum=self.weighted_sum * RECENCY + value * weight,
            weight=self.weight * RECENCY + weight,
            successes=self.successes + (1 if value >= 0.6 else 0),
            count=self.count + 1,
            last_evidence_at=at,
        )

    def half_life_days(self) -> float:
        return min(MAX_HALF_LIFE_DAYS, BASE_HALF_LIFE_DAYS * 2 ** (self.successes / 2))

    def evidence(self) -> float:
        """The graded evidence alone, before decay: how well it was known when last seen."""
        if self.weight == 0:
            return 0.0
        return self.weighted_sum / (self.weight + PRIOR_WEIGHT * RECENCY**self.count)

    def mastery(self, now: datetime) -> float:
        """0..1: the weighted evidence, shrunk toward zero, decayed since the last evidence."""
        if self.last_evidence_at is None or self.weight == 0:
            return 0.0
        evidence = self.evidence()
        days = max(0.0, (now - self.last_evidence_at).total_seconds() / 86400)
        return evidence * math.pow(0.5, days / self.half_life_days())

    def to_dict(self) -> dict[str, object]:
        return {
            "weighted_sum": round(self.weighted_sum, 6),
            "weight": round(self.weight, 6),
            "successes": self.successes,
            "count": self.count,
            "last_evidence_at": self.last_evidence_at.isoformat()
            if self.last_evidence_at
            else None,
        }

    @staticmethod
    def from_dict(data: dict[str, object]) -> MasteryState:
        last = data.get("last_evidence_at")
        return MasteryState(
            weighted_sum=float(str(data.get("weighted_sum", 0.0))),
            weight=float(str(data.get("weight", 0.0))),
            successes=int(str(data.get("successes", 0))),
            count=int(str(data.get("count", 0))),
            last_evidence_at=datetime.fromisoformat(str(last)) if last else None,
        )


def level(mastery: float) -> MasteryLevel:
    if mastery >= MASTERED:
        return MasteryLevel.MASTERED
    if mastery >= IN_PROGRESS:
        return MasteryLevel.IN_PROGRESS
    return MasteryLevel.NOT_STARTED
