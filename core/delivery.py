"""Delivering the outbox: in order per address, retried with backoff, stopped when blocked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from core.errors import LearnerUnreachable, PermanentDelivery, RetryableDelivery
from core.ports import Clock, Outbox, OutgoingMessage, Sender

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # with the backoff below, about 2 hours of trying
MAX_BACKOFF_SECONDS = 1800.0
MAX_UNEXPECTED_ATTEMPTS = 2  # an error that is not the platform's is most likely our bug
LEASE_SECONDS = 60.0


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


class Dispatcher:
    def __init__(
        self,
        outbox: Callable[[], AbstractContextManager[Outbox]],
        senders: Mapping[str, Sender],
        clock: Clock,
        batch: int = 50,
    ) -> None:
        self.outbox = outbox
        self.senders = senders
        self.clock = clock
        self.batch = batch

    async def deliver_due(self) -> DeliveryReport:
        """Send everything due now; each address's messages go strictly one after another."""
        report = DeliveryReport()
        while True:
            claimed = await asyncio.to_thread(self._claim)
            if not claimed:
                return report
            outcomes = await asyncio.gather(*(self._send(m) for m in claimed))
            for outcome in outcomes:
                setattr(report, outcome, getattr(report, outcome) + 1)
            if all(outcome == "retried" for outcome in outcomes):  # no address moved on
                return report

    def _claim(self) -> list[OutgoingMessage]:
        with self.outbox() as outbox:
            return outbox.claim_due(self.clock(), self.batch, LEASE_SECONDS, list(self.senders))

    async def _send(self, message: OutgoingMessage) -> str:
        sender = self.senders[message.address.channel]
        try:
            await sender.send(message.address.address, message.reply)
        except LearnerUnreachable as error:
            log.warning("learner %s unreachable: %s", message.learner_id, error)
            return await asyncio.to_thread(self._settle_unreachable, message, str(error))
        except PermanentDelivery as error:
            log.warning("message %s refused for good: %s", message.id, error)
            return await asyncio.to_thread(self._fail, message, str(error))
        except RetryableDelivery as error:
            return await asyncio.to_thread(self._retry, message, str(error), error.retry_after)
        except Exception as error:  # a rendering bug or an unknown client error
            log.exception("message %s: unexpected send error", message.id)
            reason = f"{type(error).__name__}: {error}"
            if message.attempts + 1 >= MAX_UNEXPECTED_ATTEMPTS:  # a bug would only fail again
                return await asyncio.to_thread(self._fail, message, reason)
            return await asyncio.to_thread(self._retry, message, reason, None)
        return await asyncio.to_thread(self._sent, message)

    def _sent(self, message: OutgoingMessage) -> str:
        with self.outbox() as outbox:
            outbox.mark_sent(message, self.clock())
        return "sent"

    def _fail(self, message: OutgoingMessage, error: str) -> str:
        with self.outbox() as outbox:
            outbox.mark_failed(message, error)
        return "failed"

    def _settle_unreachable(self, message: OutgoingMessage, error: str) -> str:
        with self.outbox() as outbox:
            outbox.mark_failed(message, error)
            if message.learner_id is not None:
                outbox.mark_unreachable(message.learner_id, error)
        return "failed"

    def _retry(self, message: OutgoingMessage, error: str, retry_after: float | None) -> str:
        if message.attempts + 1 >= MAX_ATTEMPTS:
            return self._fail(message, f"gave up after {MAX_ATTEMPTS} tries: {error}")
        delay = retry_delay(message.attempts, retry_after)
        with self.outbox() as outbox:
            outbox.mark_retry(message, self.clock() + timedelta(seconds=delay), error)
        return "retried"
