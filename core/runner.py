"""The runner: one learner's queued events, one at a time, in order (DESIGN.md §2).

For each event, in ONE transaction: load the snapshot, call the pure step, then save the new state,
the step's writes (activities, FSRS reviews), its replies (outbox rows), its commands and timers,
and mark the event processed. Then the learner is released: slow work (grading, charts, exports)
happens later in the command worker, whose results come back as events of their own.

An event that cannot be processed (its snapshot does not load, the step raises, a write fails) is
tried again a few times, the learner's queue waiting behind it meanwhile; then it is set aside with
its reason and the learner hears an apology, once. Other learners are never held up by it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.dialogue import World, step
from core.dialogue.model import Snapshot, Transition
from core.events import EventKind, InboundEvent
from core.logs import failure
from core.ports import Clock, LearnerStore, Locks, PendingEvent, Transactions
from core.replies import Text, split_long_texts

log = logging.getLogger(__name__)
MAX_EVENT_ATTEMPTS = 3
RETRY_SECONDS = (2.0, 4.0)  # waits after the first and second failure
MAX_EVENTS_PER_TURN = 20  # then the next learner gets a turn


class Runner:
    def __init__(
        self, transactions: Transactions, world: World, clock: Clock, locks: Locks,
        on_event: Callable[[InboundEvent, bool], None] | None = None,
    ) -> None:  # fmt: skip
        self.transactions = transactions
        self.world = world
        self.clock = clock
        self.locks = locks
        # hears each processed event, once committed, and whether anything was said to the learner
        self.on_event = on_event

    def process_learner(self, learner_id: int) -> int:
        """Process the learner's due events (a turn's worth at most); returns how many."""
        handled = 0
        with self.locks.hold(f"learner:{learner_id}"):
            while handled < MAX_EVENTS_PER_TURN and self._process_next(learner_id):
                handled += 1
        return handled

    def _process_next(self, learner_id: int) -> bool:
        """Handle the learner's next due event; False when there is none, or it failed."""
        try:
            with self.transactions() as store:
                pending = store.next_pending(learner_id, self.clock())
                if pending is None:
                    return False
                transition = self._handle(store, learner_id, pending)
        except Exception as error:  # anything: a bug, bad data, a storage error
            failure(log, "event", learner=learner_id, error=error, level=logging.ERROR)
            self._note_failure(learner_id, f"{type(error).__name__}: {error}")
            return False
        if self.on_event is not None:  # after the commit: a try rolled back is not counted
            self.on_event(pending.event, bool(transition.replies))
        return True

    def _handle(self, store: LearnerStore, learner_id: int, pending: PendingEvent) -> Transition:
        # The learner's moment is when the message arrived, not when a backlog reached it; a
        # nudge's is when it goes out (quiet hours may have begun since the sweep queued it).
        moment = self.clock() if pending.event.kind is EventKind.NUDGE else pending.at
        snapshot = store.load(learner_id, moment)
        transition = step(snapshot, pending.event, moment, self.world)
        commit(store, learner_id, snapshot, transition, pending, self.clock())
        return transition

    def _note_failure(self, learner_id: int, reason: str) -> None:
        """Count a failed try on the event at the head of the learner's queue; set it aside after
        the last one, with an apology to the learner."""
        now = self.clock()
        try:
            with self.transactions() as store:
                head = store.head_of_queue(learner_id, now)
                if head is None:
                    return
                inbound_id, attempts = head
                if attempts + 1 < MAX_EVENT_ATTEMPTS:
                    wait = RETRY_SECONDS[min(attempts, len(RETRY_SECONDS) - 1)]
                    store.note_failure(
                        inbound_id, learner_id, reason, now + timedelta(seconds=wait)
                    )
                    return
                log.error("event set aside learner=%s inbound=%s tries=%s", learner_id,
                          inbound_id, MAX_EVENT_ATTEMPTS)  # fmt: skip
                store.mark_processed(inbound_id, now, error=f"set aside: {reason}"[:500])
                apology = Text(self.world.catalog_for("en")("error_apology"))
                store.enqueue(store.address(learner_id), learner_id, [apology], now)
        except Exception as error:  # the database itself is failing: the event stays as it is
            failure(log, "recording an event's failure", learner=learner_id, error=error,
                    level=logging.ERROR)  # fmt: skip


def commit(
    store: LearnerStore,
    learner_id: int,
    before: Snapshot,
    transition: Transition,
    pending: PendingEvent,
    now: datetime,
) -> None:
    """Write everything one step decided, in the caller's transaction (the runner and the engine
    benchmark share it)."""
    replies = split_long_texts(list(transition.replies))
    address = store.address(learner_id)
    if transition.erase_learner:
        store.delete_learner(learner_id)
        store.mark_processed(pending.id, now, scrub=True)
        store.enqueue(address, None, replies, now)  # a goodbye tied to nobody
        return
    for record in transition.writes:
        store.record_activity(learner_id, record, pending.at)
        if record.kind == "quiz":
            store.review(learner_id, record, pending.at)
    after = transition.applied_to(before)
    store.save(learner_id, after, now)
    store.enqueue(address, learner_id, replies, now)
    if transition.escalation is not None:
        store.open_escalation(learner_id, transition.escalation, now)
    for command in transition.commands:
        store.add_command(learner_id, command, now)
    for number, timer in enumerate(transition.timers):
        store.add_timer(learner_id, timer, f"timer:{pending.id}:{number}", now)
    # Before consent nothing is kept; a processed internal event needs only its dedupe key (a
    # mentor's reply keeps its text: the next mentor reads the conversation on the admin page).
    kept = pending.event.kind is EventKind.MENTOR_REPLIED
    scrub = not after.profile.consented or (pending.event.internal and not kept)
    store.mark_processed(pending.id, now, scrub=scrub)
