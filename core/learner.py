"""The learner as the learning engine sees them: profile, progress per concept, planner statistics,
due reviews, and the record of one finished activity. Plain values, shared by the dialogue, the
learning engine and storage (none of them owns the others)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.mastery import MasteryState
from core.motivation import MotivationState


@dataclass(frozen=True)
class Profile:
    consented: bool = False
    name: str = ""
    course_slug: str = ""
    level: str = ""
    daily_time: str = ""  # "HH:MM" local
    timezone: str = ""
    nudges: bool = False
    language: str = "en"
    paused: bool = False
    stopped: bool = False


@dataclass(frozen=True)
class ConceptProgress:
    lessons: int = 0
    answered: int = 0
    correct: int = 0
    items_seen: tuple[str, ...] = ()
    last_studied: str = ""  # ISO timestamp
    mastery: MasteryState = field(default_factory=MasteryState)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lessons": self.lessons,
            "answered": self.answered,
            "correct": self.correct,
            "items_seen": list(self.items_seen),
            "last_studied": self.last_studied,
            "mastery": self.mastery.to_dict(),
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ConceptProgress:
        return ConceptProgress(
            lessons=int(data.get("lessons", 0)),
            answered=int(data.get("answered", 0)),
            correct=int(data.get("correct", 0)),
            items_seen=tuple(data.get("items_seen", ())),
            last_studied=str(data.get("last_studied", "")),
            mastery=MasteryState.from_dict(dict(data.get("mastery") or {})),
        )


@dataclass(frozen=True)
class LearningStats:
    """What the planner needs beyond per-concept progress, kept per enrollment."""

    recent_results: tuple[bool, ...] = ()  # the last quiz outcomes, oldest first
    last_kind: str = ""  # the kind of the last completed activity
    last_done_at: Mapping[str, str] = field(default_factory=dict)  # kind -> ISO time
    goal: str = ""  # a concept the learner chose to work towards

    def to_dict(self) -> dict[str, Any]:
        return {
            "recent_results": list(self.recent_results),
            "last_kind": self.last_kind,
            "last_done_at": dict(self.last_done_at),
            "goal": self.goal,
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> LearningStats:
        return LearningStats(
            recent_results=tuple(bool(r) for r in data.get("recent_results", ())),
            last_kind=str(data.get("last_kind", "")),
            last_done_at=dict(data.get("last_done_at", {})),
            goal=str(data.get("goal") or ""),
        )


@dataclass(frozen=True)
class DueReview:
    item_id: str
    concept_id: str
    retrievability: float


@dataclass(frozen=True)
class ActivityRecord:
    """One finished learning activity, as it is written to the learner's history."""

    kind: str  # lesson | quiz | reflection | explain_back | question
    concept_id: str = ""
    item_id: str = ""
    correct: bool | None = None
    score: float | None = None
    response: str = ""
    duration_ms: int | None = None


@dataclass(frozen=True)
class Learning:
    """The learner's learning record: progress, planner stats, motivation."""

    progress: Mapping[str, ConceptProgress]
    stats: LearningStats
    motivation: MotivationState
