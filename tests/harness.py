"""A pure, in-memory harness: one learner driven through the real `step` and the real command
performers, with no database, no runner and no network (DESIGN.md §2's loop, in memory).

What storage does is kept to what the dialogue can see: the snapshot, FSRS cards (so due reviews
come back), timers in time order, commands performed and their results fed back as events. Tests
of what storage itself does (transactions, dedupe, deletion, export content) use `tests/chat.py`.
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.command_worker import RESULT_KINDS, Performer
from core.commands import Command, CommandKind
from core.content import Course
from core.dialogue import State, World, step
from core.dialogue.model import Snapshot, Transition
from core.escalations import EscalationRequest
from core.events import EventKind, InboundEvent
from core.learner import ActivityRecord, DueReview
from core.performers import CORE_PERFORMERS
from core.replies import Reply, split_long_texts
from core.review import ReviewCard, ReviewScheduler
from tests.transcripts import Talker


def export_of(learner: MemoryLearner) -> Performer:
    def perform(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        data = {"profile": learner.snapshot.profile.__dict__, "activities": len(learner.writes)}
        return {"json": json.dumps(data)}

    return perform


class MemoryLearner(Talker):
    """`say`/`tap`/`send` return this message's replies, after every command it caused (and
    their results) has been performed; `hold_commands=True` leaves them queued instead."""

    def __init__(
        self,
        courses: Sequence[Course],
        clock: Callable[[], datetime],
        *,
        performers: Mapping[CommandKind, Performer] | None = None,
    ) -> None:
        self.world = World({course.slug: course for course in courses})
        self.clock = clock
        self.snapshot = Snapshot(State.CONSENT)
        self.performers = {**CORE_PERFORMERS, CommandKind.EXPORT_DATA: export_of(self),
                           **(performers or {})}  # fmt: skip
        self.scheduler = ReviewScheduler(fuzz=False)
        self.cards: dict[str, tuple[ReviewCard, str]] = {}  # item id -> (card, concept id)
        self.writes: list[ActivityRecord] = []
        self.escalations: list[EscalationRequest] = []  # questions handed to the mentors
        self.commands: list[Command] = []  # queued, not yet performed
        self.hold_commands = False
        self._timers: list[tuple[datetime, int, InboundEvent]] = []
        self._order = itertools.count()
        self.last_replies: list[Reply] = []
        self.erased = 0

    # -- talking -------------------------------------------------------------------------------

    def send(self, event: InboundEvent) -> list[Reply]:
        replies = self._fire_timers(self.clock())
        replies += self._process(event, self.clock())
        if not self.hold_commands:
            replies += self.perform_commands()
        self.last_replies = replies
        return replies

    def wait(self) -> list[Reply]:
        """Nothing said: timers due by now fire, held work is done."""
        replies = self._fire_timers(self.clock()) + self.perform_commands()
        self.last_replies = replies
        return replies

    def send_one(self, event: InboundEvent) -> list[Reply]:
        return self.send(event)

    @property
    def state(self) -> State:
        return self.snapshot.state

    # -- the loop --------------------------------------------------------------------------------

    def perform_commands(self) -> list[Reply]:
        """Perform every queued command, feed each result back, until none is left."""
        replies: list[Reply] = []
        while self.commands:
            command = self.commands.pop(0)
            try:
                result = self.performers[command.kind](1, command.args)
                event = InboundEvent.result(RESULT_KINDS[command.kind], command.ref, **result)
            except Exception as error:
                event = InboundEvent.result(EventKind.COMMAND_FAILED, command.ref,
                                            command=command.kind, reason=str(error))  # fmt: skip
            replies += self._process(event, self.clock())
        return replies

    def _fire_timers(self, now: datetime) -> list[Reply]:
        replies: list[Reply] = []
        while self._timers and self._timers[0][0] <= now:
            at, _, event = heapq.heappop(self._timers)
            replies += self._process(event, at)
        return replies

    def _process(self, event: InboundEvent, now: datetime) -> list[Reply]:
        # as storage loads it: due reviews as of now, and the learner's own messages seen now
        seen = self.snapshot.last_seen if event.internal else now
        before = replace(self.snapshot, due_reviews=self._due_reviews(now), last_seen=seen)
        transition = step(before, event, now, self.world)
        self._apply(before, transition, now)
        return split_long_texts(list(transition.replies))

    def _apply(self, before: Snapshot, transition: Transition, now: datetime) -> None:
        if transition.erase_learner:
            self.snapshot = Snapshot(State.CONSENT)
            self.cards, self.writes, self.commands, self._timers = {}, [], [], []
            self.erased += 1
            return
        for record in transition.writes:
            self.writes.append(record)
            if record.kind == "quiz" and record.item_id and record.correct is not None:
                card, _ = self.cards.get(record.item_id, (None, ""))
                card = card or self.scheduler.new_card(record.item_id, now)
                card, _ = self.scheduler.review(card, correct=record.correct, now=now)
                self.cards[record.item_id] = (card, record.concept_id)
        if transition.escalation is not None:
            self.escalations.append(transition.escalation)
        self.snapshot = transition.applied_to(before)
        self.commands.extend(transition.commands)
        for timer in transition.timers:
            event = InboundEvent.result(EventKind.TIMER_FIRED, timer.ref, name=timer.name)
            heapq.heappush(self._timers, (timer.at, next(self._order), event))

    def _due_reviews(self, now: datetime) -> tuple[DueReview, ...]:
        cards = {item: card for item, (card, _) in self.cards.items()}
        return tuple(
            DueReview(
                card.item_id, self.cards[card.item_id][1], self.scheduler.retrievability(card, now)
            )
            for card in self.scheduler.due(cards.values(), now)
        )
