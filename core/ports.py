"""The small interfaces core/ talks through. storage/ and bot/ implement them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.dialogue.model import RecordActivity, Snapshot
from core.events import InboundEvent
from core.replies import Reply

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Address:
    channel: str
    address: str  # the chat or user id on that channel


@dataclass(frozen=True)
class PendingEvent:
    id: int
    event: InboundEvent
    received_at: datetime


class LearnerStore(Protocol):
    """One transaction's view of one learner's data. Nothing is committed by these methods."""

    def next_pending(self, learner_id: int) -> PendingEvent | None: ...
    def load(self, learner_id: int, now: datetime) -> Snapshot: ...
    def review(self, learner_id: int, activity: RecordActivity, now: datetime) -> None: ...
    def address(self, learner_id: int) -> Address: ...
    def save(self, learner_id: int, snapshot: Snapshot, now: datetime) -> None: ...
    def record_activity(self, learner_id: int, activity: RecordActivity, now: datetime) -> None: ...
    def enqueue(
        self, address: Address, learner_id: int | None, replies: Sequence[Reply], now: datetime
    ) -> None: ...
    def mark_processed(
        self, inbound_id: int, now: datetime, *, error: str | None = None, scrub: bool = False
    ) -> None: ...
    def export(self, learner_id: int) -> dict[str, Any]: ...
    def delete_learner(self, learner_id: int) -> None: ...


Transactions = Callable[[], AbstractContextManager[LearnerStore]]


class Locks(Protocol):
    """Mutual exclusion per key, within one process or across many (Redis)."""

    def hold(self, key: str) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    learner_id: int | None
    address: Address
    reply: Reply
    attempts: int
    lease: datetime  # until when this worker holds it


class Outbox(Protocol):
    """One transaction's view of the outbox. Only the lease holder may settle a message."""

    def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, channels: Collection[str]
    ) -> list[OutgoingMessage]: ...
    def mark_sent(self, message: OutgoingMessage, now: datetime) -> None: ...
    def mark_retry(
        self, message: OutgoingMessage, next_attempt_at: datetime, error: str
    ) -> None: ...
    def mark_failed(self, message: OutgoingMessage, error: str) -> None: ...
    def mark_unreachable(self, learner_id: int, error: str) -> None: ...


class Sender(Protocol):
    """Sends one reply on one channel; raises RetryableDelivery or PermanentDelivery."""

    async def send(self, address: str, reply: Reply) -> None: ...
