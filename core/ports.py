"""The small interfaces core/ talks through. storage/ and bot/ implement them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.commands import Command, CommandKind, Timer
from core.dialogue.model import Snapshot
from core.escalations import EscalationRequest
from core.events import InboundEvent
from core.learner import ActivityRecord
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
    at: datetime  # the learner's moment: when it arrived, or when its timer fell due


class LearnerStore(Protocol):
    """One transaction's view of one learner's data. Nothing is committed by these methods."""

    def next_pending(self, learner_id: int, now: datetime) -> PendingEvent | None: ...
    def load(self, learner_id: int, now: datetime) -> Snapshot: ...
    def address(self, learner_id: int) -> Address: ...
    def save(self, learner_id: int, snapshot: Snapshot, now: datetime) -> None: ...
    def record_activity(self, learner_id: int, activity: ActivityRecord, now: datetime) -> None: ...
    def review(self, learner_id: int, activity: ActivityRecord, now: datetime) -> None: ...
    def enqueue(
        self, address: Address, learner_id: int | None, replies: Sequence[Reply], now: datetime
    ) -> None: ...
    def add_command(self, learner_id: int, command: Command, now: datetime) -> None: ...
    def add_timer(self, learner_id: int, timer: Timer, key: str, now: datetime) -> None: ...
    def open_escalation(
        self, learner_id: int, request: EscalationRequest, now: datetime
    ) -> int: ...
    def mark_processed(
        self, inbound_id: int, now: datetime, *, error: str | None = None, scrub: bool = False
    ) -> None: ...
    def delete_learner(self, learner_id: int) -> None: ...
    # When an event cannot be processed (its load, step or save fails):
    def head_of_queue(self, learner_id: int, now: datetime) -> tuple[int, int] | None:
        """(id, failed attempts) of the event next in line, read without parsing it."""
        ...

    def note_failure(
        self, inbound_id: int, learner_id: int, error: str, retry_at: datetime
    ) -> None: ...


Transactions = Callable[[], AbstractContextManager[LearnerStore]]


class Locks(Protocol):
    """Mutual exclusion per key, within one process or across many (Redis)."""

    def hold(self, key: str) -> AbstractContextManager[None]: ...


@dataclass(frozen=True)
class PendingCommand:
    id: int
    learner_id: int
    kind: CommandKind
    args: Mapping[str, Any]
    ref: str
    attempts: int  # tries before this one
    lease: datetime  # until when this worker holds it


class CommandQueue(Protocol):
    """One transaction's view of the command table. Only the lease holder may settle a command."""

    def claim(
        self, kind: CommandKind, now: datetime, limit: int, lease_seconds: float
    ) -> list[PendingCommand]: ...
    def finish(self, command: PendingCommand, result: InboundEvent, now: datetime) -> bool:
        """Settle the command and store its result as the learner's next event, once."""
        ...

    def retry(self, command: PendingCommand, at: datetime, error: str) -> None: ...


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    learner_id: int | None
    address: Address
    reply: Reply
    attempts: int
    lease: datetime  # until when this worker holds it (renewed while the send lasts)
    outcome_unknown: bool = False  # the last try may have arrived (see DeliveryOutcomeUnknown)
    claim: str = ""  # this worker's token: only it may renew or settle the message


class Outbox(Protocol):
    """One transaction's view of the outbox. Only the lease holder may settle a message."""

    def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, channels: Collection[str]
    ) -> list[OutgoingMessage]: ...
    def renew(self, messages: Collection[OutgoingMessage], until: datetime) -> None: ...
    def mark_sent(
        self, message: OutgoingMessage, now: datetime, platform_message_id: str | None = None
    ) -> None: ...
    def mark_held(self, message: OutgoingMessage, reason: str) -> None:
        """Outside WhatsApp's window: the message waits until the learner writes again."""
        ...

    def mark_retry(
        self, message: OutgoingMessage, next_attempt_at: datetime, error: str,
        *, outcome_unknown: bool = False,
    ) -> None: ...  # fmt: skip
    def mark_failed(self, message: OutgoingMessage, error: str) -> None: ...
    def mark_unreachable(self, learner_id: int, error: str) -> None: ...


class Sender(Protocol):
    """Sends one reply on one channel; raises RetryableDelivery, PermanentDelivery or
    OutsideWindow. Returns the platform's id of what it sent, when it has one (WhatsApp's
    wamid: delivery statuses refer to it)."""

    async def send(self, address: str, reply: Reply) -> str | None: ...
