"""The engine's commands seen from Telegram: "typing…" at once and the feedback when the grade is
in; webhooks acknowledged while explanations are graded; texts split by Telegram's own measure;
nothing sent to a learner who blocked the bot; nothing about a deleted learner left anywhere."""

from __future__ import annotations

import asyncio
import time

import httpx
import sqlalchemy as sa

from core.commands import POLICIES, CommandKind
from core.dialogue.states import State
from core.events import InboundEvent
from tests.chat import ChatLearner, state_of
from tests.conftest import FixedClock
from tests.fakes.telegram_api import FakeBotApi
from tests.test_engine_commands import EXPLANATION, Gate, reach_explain_back, use_worker
from tests.test_privacy import rows_mentioning
from tests.test_telegram import TelegramLearner, ada, client, fake, telegram_pau  # noqa: F401  (fixtures)
from webhooks.container import Pau


async def reach_explain_back_on_telegram(ada: TelegramLearner) -> None:
    await ada.onboard()
    await ada.tap("continue")
    await ada.vote(0)
    await ada.say("skip")
    await ada.tap("cmd:more")
    await ada.tap("continue")
    await ada.say("skip")  # the check question
    assert state_of(ada.pau, str(ada.user_id)) == State.EXPLAIN


async def until_started(gate: Gate, count: int) -> None:
    for _ in range(500):
        if gate.started >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{gate.started} of {count} gradings started")


async def test_typing_shows_at_once_and_the_feedback_follows_the_grade(
    ada: TelegramLearner,
) -> None:
    await reach_explain_back_on_telegram(ada)
    gate = Gate()
    use_worker(ada.pau, grade_explanation=gate)
    before = len(ada.fake.calls)
    assert (await ada.post("message_text", text=EXPLANATION)).status_code == 200
    await ada.pau.work_once()  # the step commits, grading starts (and waits), typing goes out
    await until_started(gate, 1)
    await ada.pau.dispatcher.deliver_due()
    seen = [call.method for call in ada.fake.calls[before:]]
    assert "sendChatAction" in seen and "sendMessage" not in seen
    gate.open.set()
    await ada.pau.drain()
    after = ada.fake.calls[before:]
    feedback = [c.params["text"] for c in after if c.method == "sendMessage"]
    assert "explanation" in feedback[0] or "covered" in feedback[0]
    assert [c.method for c in after].index("sendChatAction") < [c.method for c in after].index(
        "sendMessage"
    )


async def test_a_new_learners_webhook_does_not_wait_for_twenty_gradings(
    telegram_pau: Pau,
    client: httpx.AsyncClient,
    fake: FakeBotApi,
    clock: FixedClock,
) -> None:
    gate = Gate()
    use_worker(telegram_pau, grade_explanation=gate)

    def twenty_learners_explain() -> None:  # on the test channel, each up to the explain-back
        learners = [ChatLearner(telegram_pau, f"busy-{number}", clock) for number in range(20)]
        for learner in learners:
            learner.onboard()
            reach_explain_back(learner)
        for learner in learners:  # and then all at once
            telegram_pau.ingest(channel="test", sender_id=learner.user_id,
                                platform_message_id=f"explain-{learner.user_id}",
                                event=InboundEvent.text_message(EXPLANATION))  # fmt: skip
        telegram_pau.process_pending()

    await asyncio.to_thread(twenty_learners_explain)
    await telegram_pau.commands.start_due()  # the grader's slots are busy, the rest queued
    slots = POLICIES[CommandKind.GRADE_EXPLANATION].concurrency
    await until_started(gate, slots)

    newcomer = TelegramLearner(client, telegram_pau, fake, user_id=424242)
    started = time.monotonic()
    response = await newcomer.post("command_start", text="/start")
    acknowledged_in = time.monotonic() - started
    assert response.status_code == 200 and acknowledged_in < 1.0
    await telegram_pau.work_once()  # and the newcomer is answered while grading still waits
    assert any("I'm PAU" in text for text in fake.sent_texts(424242))
    assert not gate.open.is_set() and gate.started == slots

    gate.open.set()
    await telegram_pau.drain()
    with telegram_pau.engine.connect() as connection:
        done = connection.execute(
            sa.text("SELECT count(*) FROM command WHERE status = 'done'")
        ).scalar()
    assert done == 20


async def test_emoji_texts_are_split_by_telegrams_own_measure(ada: TelegramLearner) -> None:
    """3,300 emoji are 6,600 UTF-16 units: two messages, both accepted by the (strict) fake."""
    from core.replies import Text, split_long_texts

    pieces = split_long_texts([Text("🙂" * 3300)])
    assert len(pieces) == 2
    assert all(isinstance(p, Text) and len(p.text.encode("utf-16-le")) // 2 <= 4000 for p in pieces)
    await ada.say("/start")
    telegram = ada.pau.senders["telegram"]
    for piece in pieces:
        await telegram.send(str(ada.user_id), piece)
    assert sum(text.count("🙂") for text in ada.fake.sent_texts(ada.user_id)) == 3300


async def test_a_refused_piece_is_recorded_and_the_rest_still_go_out(ada: TelegramLearner) -> None:
    import pytest

    from bot.telegram import TelegramSender
    from core.errors import PermanentDelivery

    telegram = ada.pau.senders["telegram"]
    assert isinstance(telegram, TelegramSender)
    ada.fake.fail_next("sendMessage", status=400, description="Bad Request: message is too long")
    with pytest.raises(PermanentDelivery, match="piece 1 of 2"):
        await telegram._send_pieces(str(ada.user_id), ["one", "two"], telegram._limiter("x"))
    assert ada.fake.sent_texts(ada.user_id)[-1] == "two"


async def test_nothing_is_sent_to_a_learner_who_blocked_the_bot(
    ada: TelegramLearner, clock: FixedClock
) -> None:
    await ada.onboard()
    await ada.tap("continue")  # a quiz is open: its "still there?" timer is set
    await ada.send("my_chat_member_blocked")
    before = len(ada.fake.calls)
    clock.advance(minutes=16)  # the timer fires and the step says "Still there?" ...
    await ada.pau.drain()
    assert ada.fake.calls[before:] == []  # ... but nothing goes out
    assert "Back to the question" in await ada.say("help")  # until they write again
    with ada.pau.engine.connect() as connection:
        pending = connection.execute(
            sa.text("SELECT count(*) FROM outbox WHERE status = 'pending'")
        ).scalar()
        reasons = (
            connection.execute(
                sa.text("SELECT DISTINCT last_error FROM outbox WHERE status='failed'")
            )
            .scalars()
            .all()
        )
    assert pending == 0 and any("blocked" in (r or "") for r in reasons)


async def test_delete_leaves_no_trace_of_a_telegram_learner(ada: TelegramLearner) -> None:
    await ada.onboard()
    await ada.tap("continue")
    await ada.say("why does spacing work?")
    chat_id = str(ada.user_id)
    with ada.pau.engine.connect() as connection:
        learner_id = connection.execute(sa.text("SELECT id FROM learner")).scalar_one()
    assert rows_mentioning(ada.pau.engine, [chat_id, "Ada"], learner_id)  # found before
    await ada.say("/delete")
    await ada.tap("yes")
    assert rows_mentioning(ada.pau.engine, [chat_id, "Ada"], learner_id) == []
    # the dedupe keys that stay are keyed hashes: a redelivery is still recognised
    response = await ada.post("message_text", text="hello again", update_id=999_000)
    again = await ada.post("message_text", text="hello again", update_id=999_000)
    assert response.json()["duplicate"] is False and again.json()["duplicate"] is True
