"""What a dialogue step sees (Snapshot, World) and what it returns (Transition with effects)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.content import Course
from core.dialogue.states import State
from core.mastery import MasteryState
from core.motivation import MotivationState
from core.replies import Reply
from core.texts import Catalog


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
class Snapshot:
    """Everything the step needs to know about one learner, loaded by the runner."""

    state: State
    data: Mapping[str, Any] = field(default_factory=dict)  # the dialogue's scratch pad
    profile: Profile = field(default_factory=Profile)
    progress: Mapping[str, ConceptProgress] = field(default_factory=dict)
    stats: LearningStats = field(default_factory=LearningStats)
    motivation: MotivationState = field(default_factory=MotivationState)
    due_reviews: tuple[DueReview, ...] = ()  # due now, lowest retrievability first

    def with_data(self, **changes: Any) -> Snapshot:
        return replace(self, data={**self.data, **changes})


@dataclass(frozen=True)
class World:
    """Read-only things the step may consult: the courses and the message catalogs."""

    courses: Mapping[str, Course]
    catalog_for: Callable[[str], Catalog] = Catalog

    def course(self, slug: str) -> Course | None:
        return self.courses.get(slug)


# Effects: what the runner must do besides saving the new state and sending the replies.


@dataclass(frozen=True)
class GiveConsent:
    pass


@dataclass(frozen=True)
class ForgetLearner:
    """The learner declined consent: remove the consent request itself."""


@dataclass(frozen=True)
class UpdateProfile:
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class RecordActivity:
    kind: str  # lesson | quiz | reflection | explain_back | question
    concept_id: str = ""
    item_id: str = ""
    correct: bool | None = None
    score: float | None = None
    response: str = ""
    duration_ms: int | None = None


@dataclass(frozen=True)
class ExportData:
    pass


@dataclass(frozen=True)
class DeleteLearner:
    pass


Effect = GiveConsent | ForgetLearner | UpdateProfile | RecordActivity | ExportData | DeleteLearner


@dataclass(frozen=True)
class Learning:
    """The learner's learning record after a step: progress, planner stats, motivation."""

    progress: Mapping[str, ConceptProgress]
    stats: LearningStats
    motivation: MotivationState


@dataclass(frozen=True)
class Transition:
    state: State
    data: Mapping[str, Any]
    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
    learning: Learning | None = None  # None: unchanged

    def then(self, *replies: Reply, effects: tuple[Effect, ...] = ()) -> Transition:
        return replace(self, replies=self.replies + replies, effects=self.effects + effects)

    def applied_to(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot after this step: new state and data, profile effects, learning record."""
        profile = snapshot.profile
        for effect in self.effects:
            if isinstance(effect, GiveConsent):
                profile = replace(profile, consented=True)
            elif isinstance(effect, UpdateProfile):
                profile = replace(profile, **dict(effect.changes))
        after = replace(snapshot, state=self.state, data=self.data, profile=profile)
        if self.learning is not None:
            learning = self.learning
            after = replace(
                after,
                progress=learning.progress,
                stats=learning.stats,
                motivation=learning.motivation,
            )
        return after


@dataclass(frozen=True)
class Turn:
    """One step's inputs bundled, so helpers take one argument."""

    snapshot: Snapshot
    now: datetime
    world: World

    @property
    def t(self) -> Catalog:
        return self.world.catalog_for(self.snapshot.profile.language)

    @property
    def course(self) -> Course | None:
        return self.world.course(self.snapshot.profile.course_slug)

    def stay(self, *replies: Reply, **data_changes: Any) -> Transition:
        return Transition(self.snapshot.state, {**self.snapshot.data, **data_changes}, replies)

    def go(
        self, state: State, *replies: Reply, data: Mapping[str, Any] | None = None
    ) -> Transition:
        return Transition(state, dict(self.snapshot.data if data is None else data), replies)
