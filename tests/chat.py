"""Chatting with a real PAU (runner, database, command worker, outbox, delivery) end to end."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from sqlmodel import select

from core.events import InboundEvent
from core.replies import File, Reply
from storage.db import transaction
from storage.models import Conversation, Learner
from tests.transcripts import Talker
from webhooks.container import Pau

_ids = itertools.count(1)


class RecordingSender:
    """A channel that keeps what it was asked to send, per address."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Reply]] = []

    async def send(self, address: str, reply: Reply) -> None:
        self.sent.append((address, reply))


class ChatLearner(Talker):
    """One learner on the 'test' channel. `say` returns the replies to that one message."""

    def __init__(self, pau: Pau, user_id: str, clock: Callable[[], object]) -> None:
        self.pau = pau
        self.user_id = user_id
        self.clock = clock
        self.last_replies: list[Reply] = []

    @property
    def sender(self) -> RecordingSender:
        sender = self.pau.senders["test"]
        assert isinstance(sender, RecordingSender)
        return sender

    def send_event(self, event: InboundEvent, message_id: str | None = None) -> list[Reply]:
        before = len(self.sender.sent)
        self.pau.ingest(
            channel="test",
            sender_id=self.user_id,
            platform_message_id=message_id or f"m{next(_ids)}",
            event=event,
        )
        asyncio.run(self.pau.drain())
        self.last_replies = [r for a, r in self.sender.sent[before:] if a == self.user_id]
        return self.last_replies

    def send_event_later(self) -> list[Reply]:
        """Nothing new from the learner: what the background work sends now (retries, timers)."""
        before = len(self.sender.sent)
        asyncio.run(self.pau.drain())
        self.last_replies = [r for a, r in self.sender.sent[before:] if a == self.user_id]
        return self.last_replies

    def sender_replies(self) -> list[Reply]:
        """Everything this learner was sent so far."""
        return [r for a, r in self.sender.sent if a == self.user_id]

    def files(self) -> list[File]:
        return [r for r in self.last_replies if isinstance(r, File)]

    def send_one(self, event: InboundEvent) -> list[Reply]:
        return self.send_event(event)


def state_of(pau: Pau, user_id: str = "learner-1") -> str | None:
    """The learner's dialogue state as stored (None: no conversation kept)."""
    with transaction(pau.engine) as session:
        learner = session.exec(select(Learner).where(Learner.external_id == user_id)).first()
        conversation = session.get(Conversation, learner.id) if learner else None
        return conversation.state if conversation else None
