"""The command worker: performs commands outside any transaction, one result event each.

Per command kind (core/commands.py POLICIES): at most `concurrency` run at once in this process,
each within `timeout_seconds`, tried `max_attempts` times with backoff. The result, or after the
last try a `command_failed`, is stored as the learner's next event in the same transaction that
settles the command, deduplicated on the command id: a command may run twice after a crash (its
lease runs out and another worker takes it), its effect on the dialogue happens once.

Performers are plain functions, (learner id, args) in, JSON-able result out; they run in this
worker's threads so CPU work (grading, drawing) never blocks the event loop that answers webhooks.

`on_finished`, when set, hears of every try once it is settled: the command kind, the seconds
from its start to its outcome being stored, and how it ended (FINISHED_OUTCOMES); the metrics
hang on it, core itself knows nothing of Prometheus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from core.commands import POLICIES, CommandKind, CommandPolicy
from core.events import EventKind, InboundEvent
from core.logs import failure
from core.ports import Clock, CommandQueue, PendingCommand

log = logging.getLogger(__name__)

Performer = Callable[[int, Mapping[str, Any]], Mapping[str, Any]]  # (learner id, args)
RESULT_KINDS = {
    CommandKind.GRADE_EXPLANATION: EventKind.GRADED,
    CommandKind.RENDER_CHART: EventKind.CHART_READY,
    CommandKind.EXPORT_DATA: EventKind.EXPORT_READY,
    CommandKind.NOTIFY_MENTORS: EventKind.MENTORS_NOTIFIED,
    CommandKind.ASK_TUTOR: EventKind.TUTOR_ANSWERED,
}
LEASE_MARGIN_SECONDS = 30.0
MAX_BACKOFF_SECONDS = 300.0
# How a try ended, for `on_finished`: its result stored; an error, or a time-out, with tries
# left (tried again later); the last try failed (command_failed stored); or its outcome could not
# be stored (the lease runs out and the command is tried again).
FINISHED_OUTCOMES = ("done", "retried", "timeout", "failed", "unsettled")


def backoff_seconds(attempts: int) -> float:
    """Wait before the next try: 2, 4, 8 ... seconds, at most five minutes."""
    return min(2.0 ** (attempts + 1), MAX_BACKOFF_SECONDS)


class CommandWorker:
    def __init__(
        self,
        queue: Callable[[], AbstractContextManager[CommandQueue]],
        performers: Mapping[CommandKind, Performer],
        clock: Clock,
        policies: Mapping[CommandKind, CommandPolicy] = POLICIES,
    ) -> None:
        self.queue = queue
        self.performers = performers
        self.clock = clock
        self.policies = policies
        self.on_result: Callable[[], None] | None = None  # e.g. wake the event processing
        self.on_finished: Callable[[str, float, str], None] | None = None  # kind, seconds, outcome
        self._running: dict[CommandKind, int] = defaultdict(int)
        self._tasks: set[asyncio.Task[None]] = set()
        slots = sum(policies[kind].concurrency for kind in performers)
        self._threads = ThreadPoolExecutor(max_workers=max(1, slots), thread_name_prefix="command")

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def start_due(self) -> int:
        """Claim due commands up to each kind's free slots and start them; returns how many."""
        free = {
            kind: self.policies[kind].concurrency - self._running[kind] for kind in self.performers
        }
        free = {kind: slots for kind, slots in free.items() if slots > 0}
        if not free:
            return 0
        claimed = await asyncio.to_thread(self._claim, free)  # one transaction for all kinds
        for command in claimed:
            self._running[command.kind] += 1
            task = asyncio.create_task(self._run(command, self.policies[command.kind]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def run_until_idle(self) -> int:
        """Start and wait for everything due now, and what their retries make due (tests, CLI);
        returns how many commands ran (those already running included)."""
        total = len(self._tasks)
        while True:
            were_running = bool(self._tasks)  # may finish while start_due waits: look again
            started = await self.start_due()
            total += started
            if not started and not were_running and not self._tasks:
                return total
            if self._tasks:
                await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._threads.shutdown(wait=False, cancel_futures=True)

    def _claim(self, free: Mapping[CommandKind, int]) -> list[PendingCommand]:
        now = self.clock()
        with self.queue() as queue:
            return [
                command
                for kind, limit in free.items()
                for command in queue.claim(
                    kind, now, limit, self.policies[kind].timeout_seconds + LEASE_MARGIN_SECONDS
                )
            ]

    async def _run(self, command: PendingCommand, policy: CommandPolicy) -> None:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        perform = self.performers[command.kind]
        work = loop.run_in_executor(self._threads, perform, command.learner_id, command.args)
        outcome: InboundEvent | str
        timed_out = False
        try:
            result = await asyncio.wait_for(asyncio.shield(work), policy.timeout_seconds)
            outcome = InboundEvent.result(RESULT_KINDS[command.kind], command.ref, **result)
        except TimeoutError:
            timed_out = True
            outcome = f"timed out after {policy.timeout_seconds:g} s"
        except Exception as error:  # the performer's own failure: counted as one try
            failure(log, "command", learner=command.learner_id, error=error,
                    command=command.id, kind=command.kind.value)  # fmt: skip
            outcome = f"{type(error).__name__}: {error}"  # kept in the row, never logged
        finally:
            if work.done():
                self._release(command.kind, work)
            else:  # timed out: a thread cannot be stopped, so its slot stays taken until it ends
                work.add_done_callback(lambda done: self._release(command.kind, done))
        try:
            settled = await asyncio.to_thread(self._settle, command, policy, outcome)
        except Exception as error:  # the lease runs out and the command is tried again
            failure(log, "storing a command's outcome", learner=command.learner_id, error=error,
                    command=command.id)  # fmt: skip
            self._finished(command, started, "unsettled")
            return
        self._finished(
            command, started, "timeout" if timed_out and settled == "retried" else settled
        )
        if self.on_result is not None:
            self.on_result()

    def _finished(self, command: PendingCommand, started: float, outcome: str) -> None:
        if self.on_finished is not None:
            self.on_finished(command.kind.value, time.monotonic() - started, outcome)

    def _release(self, kind: CommandKind, done: asyncio.Future[Any]) -> None:
        if not done.cancelled():
            done.exception()  # retrieved, so a late failure is not reported twice
        self._running[kind] -= 1

    def _settle(
        self, command: PendingCommand, policy: CommandPolicy, outcome: InboundEvent | str
    ) -> str:
        """Store the try's outcome; returns "done", "failed" (the last try) or "retried"."""
        now = self.clock()
        with self.queue() as queue:
            if isinstance(outcome, InboundEvent):
                queue.finish(command, outcome, now)
                return "done"
            if command.attempts + 1 >= policy.max_attempts:
                log.error("command gave up learner=%s command=%s kind=%s tries=%s",
                          command.learner_id, command.id, command.kind.value,
                          policy.max_attempts)  # fmt: skip
                failed = InboundEvent.result(
                    EventKind.COMMAND_FAILED, command.ref, command=command.kind, reason=outcome
                )
                queue.finish(command, failed, now)
                return "failed"
            wait = timedelta(seconds=backoff_seconds(command.attempts))
            queue.retry(command, now + wait, outcome)
            return "retried"
