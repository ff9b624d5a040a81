"""The runner: one learner's stored events, one at a time, in arrival order.

For each event, in ONE transaction: load the snapshot, call the pure step, apply its effects, save
the new state, write the replies to the outbox and mark the event processed. A crash before the
commit leaves the event pending, so it is processed again after a restart; an event whose step
raises is marked failed and the learner gets an apology instead of silence.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from core.dialogue import World, step
from core.dialogue.model import (
    DeleteLearner,
    ExportData,
    ForgetLearner,
    RecordActivity,
)
from core.errors import PauError
from core.ports import Clock, LearnerStore, Locks, PendingEvent, Transactions
from core.replies import File, Reply, Text, split_long_texts

log = logging.getLogger(__name__)
NOTHING_PENDING, MORE_WAITING, LAST_ONE = "nothing pending", "more waiting", "last one"


class StepFailed(PauError):
    """The pure step raised for an event (a bug, or content it cannot handle)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


class Runner:
    def __init__(
        self, transactions: Transactions, world: World, clock: Clock, locks: Locks
    ) -> None:
        self.transactions = transactions
        self.world = world
        self.clock = clock
        self.locks = locks

    def process_learner(self, learner_id: int) -> int:
        """Process every pending event of one learner; returns how many were handled."""
        handled = 0
        with self.locks.hold(f"learner:{learner_id}"):
            while (outcome := self._process_next(learner_id)) is not NOTHING_PENDING:
                handled += 1
                if outcome is LAST_ONE:
                    break
        return handled

    def _process_next(self, learner_id: int) -> str:
        """Handle the oldest pending event, and say whether another one is waiting behind it."""
        try:
            with self.transactions() as store:
                pending = store.next_pending(learner_id)
                if pending is None:
                    return NOTHING_PENDING
                self._handle(store, learner_id, pending)
                return MORE_WAITING if store.next_pending(learner_id) else LAST_ONE
        except StepFailed as failure:
            # A bug in the dialogue for this event: it would fail the same way again, so it is
            # marked failed and the learner hears an apology. Storage errors are not caught here:
            # the event stays pending and is tried again.
            log.error("event for learner %s failed in the step", learner_id, exc_info=failure.cause)
            with self.transactions() as store:
                pending = store.next_pending(learner_id)
                if pending is None:
                    return NOTHING_PENDING
                now = self.clock()
                apology = Text(self.world.catalog_for("en")("error_apology"))
                store.enqueue(store.address(learner_id), learner_id, [apology], now)
                store.mark_processed(pending.id, now, error=str(failure)[:500])
            return MORE_WAITING

    def _handle(self, store: LearnerStore, learner_id: int, pending: PendingEvent) -> None:
        now = self.clock()
        snapshot = store.load(learner_id, pending.received_at)
        try:
            # The learner's moment is when the message arrived, not when a backlog reached it.
            transition = step(snapshot, pending.event, pending.received_at, self.world)
        except Exception as error:
            raise StepFailed(error) from error
        replies: list[Reply] = split_long_texts(list(transition.replies))
        address = store.address(learner_id)
        for effect in transition.effects:
            if isinstance(effect, RecordActivity):
                store.record_activity(learner_id, effect, pending.received_at)
                if effect.kind == "quiz":
                    store.review(learner_id, effect, pending.received_at)
            elif isinstance(effect, ExportData):
                replies.append(export_file(store.export(learner_id)))
            elif isinstance(effect, DeleteLearner | ForgetLearner):
                store.delete_learner(learner_id)
                store.mark_processed(pending.id, now, scrub=True)
                store.enqueue(address, None, replies, now)
                return
        saved = transition.applied_to(snapshot)
        store.save(learner_id, saved, now)
        store.enqueue(address, learner_id, replies, now)
        store.mark_processed(pending.id, now, scrub=not saved.profile.consented)


def export_file(data: dict[str, Any]) -> File:
    content = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode("utf-8")
    return File("pau-my-data.json", content, "application/json")
