"""The outbox: retries with backoff, honours retry_after, keeps order per learner, stops when blocked."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from core.delivery import MAX_ATTEMPTS, retry_delay
from core.errors import LearnerUnreachable, PermanentDelivery, RetryableDelivery
from core.events import InboundEvent
from core.replies import Reply, Text
from tests.chat import ChatLearner
from tests.conftest import FixedClock
from webhooks.container import Pau


class FlakySender:
    """Fails with the scripted errors first, then delivers."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.delivered: list[tuple[str, str]] = []
        self.attempts = 0

    async def send(self, address: str, reply: Reply) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append(
            (address, reply.text if isinstance(reply, Text) else type(reply).__name__)
        )


def say_hi_through(learner: ChatLearner, sender: FlakySender) -> None:
    """A first message whose two replies (welcome, consent question) go out through `sender`."""
    learner.pau.senders["test"] = sender
    hello = InboundEvent.text_message("hi")
    learner.pau.ingest(channel="test", sender_id="u", platform_message_id="1", event=hello)
    learner.pau.process_pending()


def statuses(pau: Pau) -> list[tuple[str, int]]:
    with pau.engine.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(sa.text("SELECT status, attempts FROM outbox ORDER BY id"))
        ]


def deliver(pau: Pau) -> None:
    asyncio.run(pau.dispatcher.deliver_due())


def test_backoff_grows_and_honours_retry_after() -> None:
    assert [retry_delay(n, None) for n in range(4)] == [2, 4, 8, 16]
    assert retry_delay(20, None) == 1800
    assert retry_delay(0, 37) == 37


def test_a_rate_limited_message_is_retried_after_retry_after_and_order_is_kept(
    learner: ChatLearner, clock: FixedClock
) -> None:
    sender = FlakySender([RetryableDelivery("429 Too Many Requests", retry_after=5)])
    say_hi_through(learner, sender)
    deliver(learner.pau)
    assert sender.delivered == []  # the welcome failed; the consent question behind it waits
    clock.advance(seconds=4)
    deliver(learner.pau)
    assert sender.delivered == []
    clock.advance(seconds=2)
    deliver(learner.pau)
    texts = [text for _, text in sender.delivered]
    assert texts[0].startswith("Hi! I'm PAU") and texts[1] == "Choices"
    assert [s for s, _ in statuses(learner.pau)] == ["sent", "sent"]


def test_server_errors_back_off_then_give_up(learner: ChatLearner, clock: FixedClock) -> None:
    sender = FlakySender([RetryableDelivery("502 Bad Gateway")] * MAX_ATTEMPTS)
    say_hi_through(learner, sender)
    for _ in range(MAX_ATTEMPTS + 2):
        deliver(learner.pau)
        clock.advance(seconds=1800)
    assert statuses(learner.pau) == [("failed", MAX_ATTEMPTS), ("sent", 1)]
    assert sender.attempts == MAX_ATTEMPTS + 1  # the second message went after the first gave up


def test_a_blocked_learner_is_marked_unreachable_and_nothing_more_is_tried(
    learner: ChatLearner, clock: FixedClock
) -> None:
    sender = FlakySender([LearnerUnreachable("Forbidden: bot was blocked by the user")])
    say_hi_through(learner, sender)
    deliver(learner.pau)
    clock.advance(hours=5)
    deliver(learner.pau)
    assert sender.attempts == 1
    assert [s for s, _ in statuses(learner.pau)] == ["failed", "failed"]
    with learner.pau.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT unreachable FROM learner")).scalar() in (1, True)


def test_a_permanently_refused_message_does_not_block_the_next(learner: ChatLearner) -> None:
    sender = FlakySender([PermanentDelivery("400 Bad Request: message is too long")])
    say_hi_through(learner, sender)
    deliver(learner.pau)
    assert [s for s, _ in statuses(learner.pau)] == ["failed", "sent"]


def test_a_long_text_goes_out_as_pieces_each_retried_on_its_own(
    learner: ChatLearner, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.runner
    from core.dialogue.model import Transition
    from core.dialogue.states import State

    long_text = "\n\n".join(f"Paragraph {n}. " + "word " * 300 for n in range(6))  # ~9,000 chars
    monkeypatch.setattr(
        core.runner, "step", lambda snapshot, *a: Transition(State.CONSENT, {}, (Text(long_text),))
    )
    sender = FlakySender([])
    learner.pau.senders["test"] = sender
    learner.pau.ingest(
        channel="test",
        sender_id="u",
        platform_message_id="1",
        event=InboundEvent.text_message("hi"),
    )
    learner.pau.process_pending()
    assert len(statuses(learner.pau)) == 3  # three outbox rows, each under 4,000 characters
    sender.failures = [RetryableDelivery("502")]
    deliver(learner.pau)  # the first piece fails and waits; nothing behind it is sent
    clock.advance(seconds=3)
    deliver(learner.pau)
    pieces = [text for _, text in sender.delivered]
    assert len(pieces) == 3 and all(len(p) <= 4000 for p in pieces)
    assert "".join(pieces).replace("\n", "").replace(" ", "") == long_text.replace(
        "\n", ""
    ).replace(" ", "")
