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
            with self.outbox() as outbox:
                claimed = outbox.claim_due(self.clock(), self.batch, LEASE_SECONDS)
            claimed = [m for m in claimed if m.address.channel in self.senders]
            if not claimed:
                return report
            outcomes = await asyncio.gather(*(self._send(m) for m in claimed))
            for outcome in outcomes:
                setattr(report, outcome, getattr(report, outcome) + 1)
            if all(outcome == "retried" for outcome in outcomes):  # no address moved on
                return report

    async def _send(self, message: OutgoingMessage) -> str:
        sender = self.senders[message.address.channel]
        try:
            await sender.send(message.address.address, message.reply)
        except LearnerUnreachable as error:
            log.warning("learner %s unreachable: %s", message.learner_id, error)
            with self.outbox() as outbox:
                outbox.mark_failed(message.id, str(error))
                if message.learner_id is not None:
                    outbox.mark_unreachable(message.learner_id, str(error))
            return "failed"
        except PermanentDelivery as error:
            log.warning("message %s refused for good: %s", message.id, error)
            with self.outbox() as outbox:
                outbox.mark_failed(message.id, str(error))
            return "failed"
        except RetryableDelivery as error:
            return self._retry(message, str(error), error.retry_after)
        except Exception as error:  # an unexpected client error: treat it as transient
            log.exception("message %s: unexpected send error", message.id)
            return self._retry(message, f"{type(error).__name__}: {error}", None)
        with self.outbox() as outbox:
            outbox.mark_sent(message.id, self.clock())
        return "sent"

    def _retry(self, message: OutgoingMessage, error: str, retry_after: float | None) -> str:
        with self.outbox() as outbox:
            if message.attempts + 1 >= MAX_ATTEMPTS:
                outbox.mark_failed(message.id, f"gave up after {MAX_ATTEMPTS} tries: {error}")
                return "failed"
            delay = retry_delay(message.attempts, retry_after)
            outbox.mark_retry(message.id, self.clock() + timedelta(seconds=delay), error)
        return "retried"
