"""What a dialogue step sees (Snapshot, World) and what it returns (Transition).

A Transition is the whole outcome of one event (DESIGN.md §2):
  - the new state: `state`, `data` (the dialogue's scratch pad), `profile_changes`, `learning`;
  - `replies` to the learner;
  - `writes`: records that belong to this event (finished activities, and so FSRS reviews);
  - `commands` and `timers`: work to do after the commit, whose results come back as events;
  - `escalation`: a question for a mentor, stored with the rest (core/escalations.py);
  - `erase_learner`: the learner declined consent or asked for deletion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.commands import Command, Timer
from core.content import Course
from core.dialogue.states import State
from core.escalations import EscalationRequest, MentorHours
from core.learner import (
    ActivityRecord,
    ConceptProgress,
    DueReview,
    Learning,
    LearningStats,
    Profile,
)
from core.motivation import MotivationState
from core.nudges.state import NudgeState
from core.replies import Reply
from core.texts import Catalog


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
    nudging: NudgeState = field(default_factory=NudgeState)
    last_seen: datetime | None = None  # the learner's last message
    window_open: bool = True  # WhatsApp's 24-hour window (other channels: always open)

    def with_data(self, **changes: Any) -> Snapshot:
        return replace(self, data={**self.data, **changes})

    @property
    def learning(self) -> Learning:
        return Learning(self.progress, self.stats, self.motivation)


@dataclass(frozen=True)
class World:
    """Read-only things the step may consult: the courses, the message catalogs, the mentors'
    hours, and whether an LLM tutor is configured (`tutor_on`: questions go to it as commands,
    core/dialogue/tutoring.py; without one they are answered from the course at once)."""

    courses: Mapping[str, Course]
    catalog_for: Callable[[str], Catalog] = Catalog
    mentor_hours: MentorHours = field(default_factory=MentorHours)
    tutor_on: bool = False

    def course(self, slug: str) -> Course | None:
        return self.courses.get(slug)


@dataclass(frozen=True)
class Transition:
    state: State
    data: Mapping[str, Any]
    replies: tuple[Reply, ...] = ()
    profile_changes: Mapping[str, Any] = field(default_factory=dict)  # Profile field -> value
    learning: Learning | None = None  # None: unchanged
    nudging: NudgeState | None = None  # None: unchanged
    writes: tuple[ActivityRecord, ...] = ()
    commands: tuple[Command, ...] = ()
    timers: tuple[Timer, ...] = ()
    escalation: EscalationRequest | None = None  # a question for a human mentor
    erase_learner: bool = False

    def then(
        self,
        *replies: Reply,
        writes: tuple[ActivityRecord, ...] = (),
        commands: tuple[Command, ...] = (),
        timers: tuple[Timer, ...] = (),
        **profile_changes: Any,
    ) -> Transition:
        return replace(
            self,
            replies=self.replies + replies,
            writes=self.writes + writes,
            commands=self.commands + commands,
            timers=self.timers + timers,
            profile_changes={**self.profile_changes, **profile_changes},
        )

    def applied_to(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot after this step: new state and data, profile changes, learning record.
        The one place where a transition's edits are applied (the runner and the harness)."""
        profile = replace(snapshot.profile, **dict(self.profile_changes))
        after = replace(snapshot, state=self.state, data=self.data, profile=profile)
        if self.learning is not None:
            learning = self.learning
            after = replace(
                after,
                progress=learning.progress,
                stats=learning.stats,
                motivation=learning.motivation,
            )
        if self.nudging is not None:
            after = replace(after, nudging=self.nudging)
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
