"""Delivering the outbox: learners concurrently, each address strictly in order, every send
bounded in time, retried with backoff, stopped when the learner blocked the bot.

One slow or hanging chat holds one of `concurrency` slots for at most `send_deadline` seconds;
the others go on. A send that times out after its request went out may have arrived: it is
retried only after UNKNOWN_OUTCOME_DELAY_SECONDS (the address's later replies wait
behind it, in order), and counted (`outcome_unknown`, then
`possible_duplicate` when the retry goes through).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, ParamSpec, TypeVar

from core.errors import (
    DeliveryOutcomeUnknown,
    LearnerUnreachable,
    OutsideWindow,
    PermanentDelivery,
    RetryableDelivery,
)
from core.logs import failure
from core.ports import Clock, Outbox, OutgoingMessage, Sender

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # with the backoff below, about 2 hours of trying
MAX_BACKOFF_SECONDS = 1800.0
MAX_UNEXPECTED_ATTEMPTS = 2  # an error that is not the platform's is most likely our bug
CONCURRENCY = 32  # sends in flight per process, each to a different address
# One reply, all its API calls and pacing included. The platform clients' own timeouts
# (bot/telegram.py: connect 5 s, read 10 s) end a send earlier; this is the last guard.
SEND_DEADLINE_SECONDS = 15.0
# A claim lasts this long and is renewed every RENEW_EVERY_SECONDS while its send lasts, so a
# live worker's slow send is never taken over, and a dead worker's claims are free again a few
# seconds after it died.
LEASE_SECONDS = 6.0
RENEW_EVERY_SECONDS = 2.0
UNKNOWN_OUTCOME_DELAY_SECONDS = 10.0
IDLE_WAIT_SECONDS = 1.0  # the delivery loop looks for due messages at least this often

P = ParamSpec("P")
T = TypeVar("T")
OutcomeObserver = Callable[[str, str], None]  # (channel, outcome): for the metrics


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Seconds to wait before the next try: the platform's retry_after, else 2, 4, 8 ... 1800."""
    if retry_after is not None and retry_after > 0:
        return float(retry_after)
    return min(2.0 ** (attempts + 1), MAX_BACKOFF_SECONDS)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, outcome: str) -> None:
        if outcome in ("sent", "retried", "failed"):
            setattr(self, outcome, getattr(self, outcome) + 1)


class Dispatcher:
    def __init__(
        self,
        outbox: Callable[[], AbstractContextManager[Outbox]],
        senders: Mapping[str, Sender],
        clock: Clock,
        *,
        concurrency: int = CONCURRENCY,
        send_deadline: float = SEND_DEADLINE_SECONDS,
        observe: OutcomeObserver | None = None,
    ) -> None:
        self.outbox = outbox
        self.senders = senders
        self.clock = clock
        self.concurrency = concurrency
        self.send_deadline = send_deadline
        self.observe = observe
        self.outcomes: Counter[str] = Counter()  # since start, for tests and the benchmark
        self._in_flight: set[asyncio.Task[str]] = set()
        self._sending: dict[int, OutgoingMessage] = {}  # claims to renew
        self._renewer: asyncio.Task[None] | None = None
        # A send's outcome is written the moment the platform answers, on threads of its own
        # (not behind the event processing in the default pool): the shorter that gap, the
        # fewer replies a crash can leave sent but not marked, to be sent again.
        self._recorder = ThreadPoolExecutor(2, thread_name_prefix="pau-delivery")
        self._due: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None

    # -- running in the background (pau serve, pau worker) ---------------------------------------

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def start(self) -> None:
        """Deliver in the background of the running event loop until `close()`."""
        if not self.running:
            self._due = asyncio.Event()
            self._loop_task = asyncio.create_task(self._run(), name="pau-delivery")

    def poke(self) -> None:
        """New replies are in the outbox (or a slot came free): look now, not at the next tick."""
        if self._due is not None:
            self._due.set()

    async def _run(self) -> None:
        assert self._due is not None
        while True:
            self._due.clear()  # before claiming, so a poke during the claim is not lost
            try:
                started = await self.start_due()
            except Exception as error:  # the database is away: try again in a moment
                failure(log, "delivery claim", error=error)
                started = 0
            if started and self.concurrency > len(self._in_flight):
                continue  # there may be more due than one claim returned
            with suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), IDLE_WAIT_SECONDS)

    async def close(self, grace_seconds: float = 5.0) -> None:
        """Stop claiming; let sends in flight finish for a moment (a cut send may duplicate)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace_seconds)
        for task in set(self._in_flight):
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)

    def shutdown(self) -> None:
        """Release the recording threads (the process is done with this dispatcher)."""
        self._recorder.shutdown(wait=True)

    # -- one round, waited for (pau chat, drain, tests) ------------------------------------------

    async def deliver_due(self) -> DeliveryReport:
        """Send everything due now and wait for it; each address's messages one after another."""
        report = DeliveryReport()
        while True:
            claimed = await asyncio.to_thread(self._claim, self.concurrency)
            if not claimed:
                return report
            outcomes = await asyncio.gather(*(self._deliver(m) for m in claimed))
            for outcome in outcomes:
                report.add(outcome)
            if all(outcome == "retried" for outcome in outcomes):  # no address moved on
                return report

    # -- the sends -------------------------------------------------------------------------------

    async def start_due(self) -> int:
        """Claim what is due, up to the free slots, and start sending it; return how many."""
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        claimed = await asyncio.to_thread(self._claim, free)
        for message in claimed:
            task = asyncio.create_task(self._deliver(message))
            self._in_flight.add(task)
            task.add_done_callback(self._settled)
        return len(claimed)

    def _settled(self, task: asyncio.Task[str]) -> None:
        self._in_flight.discard(task)
        self.poke()  # a slot is free, and the address's next message may be due

    def _claim(self, limit: int) -> list[OutgoingMessage]:
        with self.outbox() as outbox:
            return outbox.claim_due(self.clock(), limit, LEASE_SECONDS, list(self.senders))

    async def _deliver(self, message: OutgoingMessage) -> str:
        self._sending[message.id] = message
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_claims(), name="pau-delivery-claims")
        try:
            outcome = await self._send(message)
        except Exception as error:  # the outcome could not be recorded: the lease runs out and
            # the message goes again (a duplicate if it had been sent)
            failure(log, "recording a send", error=error, learner=message.learner_id,
                    message=message.id)  # fmt: skip
            self._count(message, "unrecorded")
            return "retried"
        finally:
            self._sending.pop(message.id, None)
        if outcome == "sent" and message.outcome_unknown:
            self._count(message, "possible_duplicate")
        self._count(message, outcome)
        return "failed" if outcome == "unreachable" else outcome

    async def _renew_claims(self) -> None:
        """While sends are in flight, keep their claims (one transaction for all of them)."""
        while self._sending:
            await asyncio.sleep(RENEW_EVERY_SECONDS)
            if not self._sending:
                return
            try:
                await self._record(self._renew, list(self._sending.values()))
            except Exception as error:  # the claims may run out: a duplicate at worst
                failure(log, "renewing delivery claims", error=error)

    def _renew(self, messages: list[OutgoingMessage]) -> None:
        with self.outbox() as outbox:
            outbox.renew(messages, self.clock() + timedelta(seconds=LEASE_SECONDS))

    def _count(self, message: OutgoingMessage, outcome: str) -> None:
        self.outcomes[outcome] += 1
        if self.observe is not None:
            self.observe(message.address.channel, outcome)

    async def _send(self, message: OutgoingMessage) -> str:
        sender = self.senders[message.address.channel]
        context: dict[str, Any] = {"learner": message.learner_id, "message": message.id}
        try:
            async with asyncio.timeout(self.send_deadline):
                platform_id = await sender.send(message.address.address, message.reply)
        except TimeoutError:
            error = DeliveryOutcomeUnknown(f"no answer within {self.send_deadline:g} s")
            return await self._retry_unknown(message, error)
        except DeliveryOutcomeUnknown as error:
            return await self._retry_unknown(message, error)
        except OutsideWindow as error:  # WhatsApp: held until the learner writes again
            failure(log, "send", error=error, level=logging.INFO, **context, outcome="held")
            return await self._record(self._hold, message, str(error))
        except LearnerUnreachable as error:
            failure(log, "send", error=error, **context, outcome="unreachable")
            await self._record(self._settle_unreachable, message, str(error))
            return "unreachable"
        except PermanentDelivery as error:
            failure(log, "send", error=error, **context, outcome="refused")
            return await self._record(self._fail, message, str(error))
        except RetryableDelivery as error:
            failure(log, "send", error=error, level=logging.INFO, **context, outcome="retry")
            return await self._record(self._retry, message, str(error), error.retry_after)
        except Exception as error:  # a rendering bug or an unknown client error
            failure(log, "send", error=error, level=logging.ERROR, **context, outcome="unexpected")
            reason = type(error).__name__
            if message.attempts + 1 >= MAX_UNEXPECTED_ATTEMPTS:  # a bug would only fail again
                return await self._record(self._fail, message, reason)
            return await self._record(self._retry, message, reason, None)
        return await self._record(self._sent, message, platform_id)

    async def _retry_unknown(self, message: OutgoingMessage, error: DeliveryOutcomeUnknown) -> str:
        failure(log, "send", error=error, learner=message.learner_id, message=message.id,
                outcome="unknown")  # fmt: skip
        self._count(message, "outcome_unknown")
        delay = max(UNKNOWN_OUTCOME_DELAY_SECONDS, retry_delay(message.attempts, None))
        return await self._record(self._retry, message, str(error), delay, outcome_unknown=True)

    async def _record(self, write: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._recorder, partial(write, *args, **kwargs))

    def _sent(self, message: OutgoingMessage, platform_id: str | None = None) -> str:
        with self.outbox() as outbox:
            outbox.mark_sent(message, self.clock(), platform_id)
        return "sent"

    def _hold(self, message: OutgoingMessage, error: str) -> str:
        with self.outbox() as outbox:
            outbox.mark_held(message, error)
        return "held"

    def _fail(self, message: OutgoingMessage, error: str) -> str:
        with self.outbox() as outbox:
            outbox.mark_failed(message, error)
        return "failed"

    def _settle_unreachable(self, message: OutgoingMessage, error: str) -> None:
        with self.outbox() as outbox:
            outbox.mark_failed(message, error)
            if message.learner_id is not None:
                outbox.mark_unreachable(message.learner_id, error)

    def _retry(
        self, message: OutgoingMessage, error: str, retry_after: float | None,
        *, outcome_unknown: bool = False,
    ) -> str:  # fmt: skip
        if message.attempts + 1 >= MAX_ATTEMPTS:
            return self._fail(message, f"gave up after {MAX_ATTEMPTS} tries: {error}")
        delay = retry_delay(message.attempts, retry_after)
        with self.outbox() as outbox:
            outbox.mark_retry(
                message, self.clock() + timedelta(seconds=delay), error,
                outcome_unknown=outcome_unknown,
            )  # fmt: skip
        return "retried"
