"""Delivery against a flaky Bot API, through the real python-telegram-bot client: a slow API, a
chat that hangs, many learners at once, a crashed worker's lease, a learner who blocked the bot.

Issue 8 saw: when the Bot API delivered but answered after the client's 5 s timeout, 20 replies
became 31 deliveries, and while that one send waited every other learner's reply was 5 s late.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from telegram.error import NetworkError, TimedOut

from bot.telegram import classify
from core.delivery import (
    LEASE_SECONDS,
    RENEW_EVERY_SECONDS,
    UNKNOWN_OUTCOME_DELAY_SECONDS,
    Dispatcher,
)
from core.errors import DeliveryOutcomeUnknown, RetryableDelivery
from core.events import InboundEvent
from tests.conftest import FixedClock
from tests.fakes.telegram_api import LEARNER_ID, FakeBotApi
from tests.test_telegram import (  # noqa: F401
    TelegramLearner,
    ada,
    client,
    fake,
    telegram_pau,
)
from webhooks.container import Pau, add_telegram

BOB = 444555666


@pytest.fixture
async def quick_timeouts(telegram_pau: Pau) -> AsyncIterator[Pau]:
    """The same PAU with a 0.3 s read timeout and a 1 s deadline per reply, so that "after the
    client's timeout" and "hangs" take a moment, not 10 or 15 seconds."""
    await telegram_pau.stop_channels()
    telegram_pau.settings = telegram_pau.settings.model_copy(update={"telegram_read_timeout": 0.3})
    add_telegram(telegram_pau)
    telegram_pau.dispatcher.send_deadline = 1.0
    yield telegram_pau


def outbox_rows(pau: Pau) -> list[tuple[str, str, int, bool]]:
    with pau.engine.connect() as connection:
        return [
            (row.address, row.status, row.attempts, bool(row.outcome_unknown))
            for row in connection.execute(
                sa.text("SELECT address, status, attempts, outcome_unknown FROM outbox ORDER BY id")
            )
        ]


async def metric(client: httpx.AsyncClient, outcome: str) -> float:
    text = (await client.get("/metrics")).text
    line = f'pau_deliveries_total{{channel="telegram",outcome="{outcome}"}}'
    values = [float(row.split()[-1]) for row in text.splitlines() if row.startswith(line)]
    return values[0] if values else 0.0


def write(pau: Pau, user_id: int, text: str, update_id: int) -> None:
    """A message stored as the webhook stores it, then processed (its replies in the outbox)."""
    pau.ingest(channel="telegram", sender_id=str(user_id), platform_message_id=f"{user_id}:{update_id}",
               event=InboundEvent.text_message(text))  # fmt: skip
    pau.process_pending()


# --- a timed-out send may have arrived ---------------------------------------------------------


def test_a_read_time_out_means_the_outcome_is_unknown_but_a_connect_time_out_does_not() -> None:
    def failed(cause: Exception) -> NetworkError:
        error = TimedOut() if isinstance(cause, httpx.TimeoutException) else NetworkError("x")
        error.__cause__ = cause
        return error

    for maybe_sent in (httpx.ReadTimeout("slow"), httpx.WriteTimeout("slow"),
                       httpx.RemoteProtocolError("Server disconnected without sending a response")):  # fmt: skip
        assert isinstance(classify(failed(maybe_sent)), DeliveryOutcomeUnknown)
    for nothing_sent in (httpx.ConnectTimeout("no route"), httpx.PoolTimeout("pool full"),
                         httpx.ConnectError("refused")):  # fmt: skip
        error = classify(failed(nothing_sent))
        assert isinstance(error, RetryableDelivery)
        assert not isinstance(error, DeliveryOutcomeUnknown)


async def test_a_reply_delivered_but_answered_after_the_timeout_is_resent_only_after_a_delay(
    quick_timeouts: Pau, ada: TelegramLearner, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    possible_duplicates = await metric(client, "possible_duplicate")
    ada.fake.answer_late("sendMessage", 1.0)  # Telegram has it; PTB gives up after 0.3 s
    await ada.say("/start")
    welcome = ada.fake.sent_texts(LEARNER_ID)
    assert len(welcome) == 1 and welcome[0].startswith("Hi! I'm PAU")
    assert outbox_rows(quick_timeouts)[0][1:] == ("pending", 1, True)  # retried later, flagged
    assert quick_timeouts.dispatcher.outcomes["outcome_unknown"] == 1

    ada.fake.answer_late("sendMessage", 0)
    clock.advance(seconds=UNKNOWN_OUTCOME_DELAY_SECONDS - 1)
    await quick_timeouts.drain()
    assert len(ada.fake.sent_texts(LEARNER_ID)) == 1  # not resent at once
    clock.advance(seconds=2)
    await quick_timeouts.drain()
    texts = ada.fake.sent_texts(LEARNER_ID)
    assert texts[:2] == [welcome[0], welcome[0]]  # the learner saw it twice: and it is counted
    assert "Is that OK" in texts[2]
    assert await metric(client, "possible_duplicate") == possible_duplicates + 1


# --- one chat never holds up the others --------------------------------------------------------


async def test_a_hanging_chat_does_not_delay_other_learners_or_the_work_loop(
    quick_timeouts: Pau, fake: FakeBotApi, clock: FixedClock
) -> None:
    pau = quick_timeouts
    fake.hang(LEARNER_ID)
    pau.dispatcher.start()
    try:
        write(pau, LEARNER_ID, "/start", 1)
        write(pau, BOB, "/start", 2)
        started = time.monotonic()
        await asyncio.wait_for(pau.work_once(), timeout=0.5)  # the tick does not wait for sends
        await fake.await_calls(
            lambda calls: (
                sum(1 for c in calls if c.chat_id == BOB and c.method == "sendMessage") >= 2
            ),
            timeout=3,
        )
        bob_waited = time.monotonic() - started
        assert fake.sent_texts(LEARNER_ID) == []
        assert bob_waited < 0.9  # Bob's replies did not wait for Ada's send (1 s deadline)
        await asyncio.sleep(1.2)  # Ada's send reached its deadline: outcome unknown, tried later
        assert outbox_rows(pau)[0] == (str(LEARNER_ID), "pending", 1, True)
        fake.hang(LEARNER_ID, False)
        clock.advance(seconds=UNKNOWN_OUTCOME_DELAY_SECONDS + 1)
        pau.dispatcher.poke()
        await fake.await_calls(lambda calls: len([c for c in calls if c.chat_id == LEARNER_ID]) >= 2,
                               timeout=3)  # fmt: skip
        assert fake.sent_texts(LEARNER_ID)[0].startswith("Hi! I'm PAU")
    finally:
        await pau.dispatcher.close()


async def test_sends_to_different_learners_run_at_the_same_time(
    telegram_pau: Pau, fake: FakeBotApi
) -> None:
    fake.delay("sendMessage", 0.3)  # a slow Bot API: one at a time would take 20 x 0.3 s
    learners = [LEARNER_ID + n for n in range(20)]
    for number, user_id in enumerate(learners):
        write(telegram_pau, user_id, "/start", number)
    await telegram_pau.dispatcher.deliver_due()
    firsts = {}
    for call in fake.calls_to("sendMessage"):
        firsts.setdefault(call.chat_id, call.timestamp)
    assert sorted(firsts) == learners
    assert max(firsts.values()) - min(firsts.values()) < 0.3  # all 20 were in flight together


# --- after a crash ---------------------------------------------------------------------------


async def test_a_crashed_workers_messages_go_out_seconds_later_not_a_minute(
    telegram_pau: Pau, fake: FakeBotApi, clock: FixedClock
) -> None:
    write(telegram_pau, LEARNER_ID, "/start", 1)
    claimed = telegram_pau.dispatcher._claim(5)  # a worker claims, then dies before sending
    assert claimed
    await telegram_pau.dispatcher.deliver_due()
    assert fake.sent_texts(LEARNER_ID) == []  # leased: nobody else sends it yet
    clock.advance(seconds=LEASE_SECONDS + 1)
    assert LEASE_SECONDS <= 10
    await telegram_pau.drain()
    assert fake.sent_texts(LEARNER_ID)[0].startswith("Hi! I'm PAU")
    # the dead worker may have sent it before it died: the resend is counted as possible twice
    assert telegram_pau.dispatcher.outcomes["possible_duplicate"] == 1


async def test_a_send_slower_than_the_lease_keeps_its_claim(
    telegram_pau: Pau, fake: FakeBotApi, clock: FixedClock
) -> None:
    """The short lease is renewed while a send lasts: a live worker's slow send is never taken
    over by another worker (which would send it twice)."""
    fake.delay("sendMessage", 3.0)  # a slow moment of the Bot API, inside the client's timeout
    write(telegram_pau, LEARNER_ID, "/start", 1)
    sending = asyncio.create_task(telegram_pau.dispatcher.deliver_due())
    await asyncio.sleep(0.2)
    clock.advance(seconds=LEASE_SECONDS + 1)  # by the clock, the first lease has run out
    await asyncio.sleep(RENEW_EVERY_SECONDS + 0.5)  # ... but it was renewed meanwhile
    another_worker = Dispatcher(telegram_pau._outbox, telegram_pau.senders, clock)
    assert another_worker._claim(5) == []
    fake.delay("sendMessage", 0)
    await sending
    assert fake.sent_texts(LEARNER_ID)[0].startswith("Hi! I'm PAU")
    assert len(fake.sent_texts(LEARNER_ID)) == 2  # welcome and consent, once each
    another_worker.shutdown()


# --- blocked -----------------------------------------------------------------------------------


async def test_a_learner_who_blocked_the_bot_gets_nothing_until_they_write_again(
    ada: TelegramLearner, clock: FixedClock
) -> None:
    await ada.onboard()
    ada.fake.fail_next("sendMessage", status=403)
    await ada.say("/help")  # several replies: the first is refused, blocked
    rows = outbox_rows(ada.pau)
    assert rows[-1][1] == "failed" and all(status != "pending" for _, status, _, _ in rows)
    sent = len(ada.fake.calls_to("sendMessage"))
    clock.advance(hours=2)
    await ada.pau.drain()
    assert len(ada.fake.calls_to("sendMessage")) == sent  # nothing more tried
    reply = await ada.say("/help")  # she unblocked us and writes again
    assert "sendMessage" in reply


# --- measured ------------------------------------------------------------------------------------


async def test_duplicate_deliveries_of_an_update_are_counted_in_the_metrics(
    ada: TelegramLearner, client: httpx.AsyncClient
) -> None:
    def inbound(text: str, result: str) -> float:
        line = f'pau_inbound_total{{channel="telegram",result="{result}"}}'
        return sum(float(r.split()[-1]) for r in text.splitlines() if r.startswith(line))

    before = (await client.get("/metrics")).text
    for _ in range(3):  # Telegram redelivers an update it thinks we missed
        assert (await ada.post("message_text", text="/start", update_id=77)).status_code == 200
    after = (await client.get("/metrics")).text
    assert inbound(after, "stored") - inbound(before, "stored") == 1
    assert inbound(after, "duplicate") - inbound(before, "duplicate") == 2
    assert "http_requests_total" in after  # the HTTP side, from the instrumentator
