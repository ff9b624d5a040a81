"""Telegram end to end: Update JSON of the real shape into POST /webhooks/telegram, the real
python-telegram-bot client out to a loopback fake of the Bot API."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.telegram import split_text
from core.content import Course
from core.replies import Quiz
from tests.conftest import TEST_SECRET_KEY, FixedClock, fresh_sqlite, make_pau
from tests.fakes.telegram_api import BOT_TOKEN, LEARNER_ID, FakeBotApi, update_payload
from webhooks.app import create_app
from webhooks.config import Settings
from webhooks.container import Pau, add_telegram

SECRET = "s3cret-Token_for-tests"
update_ids = itertools.count(1000)


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture
async def telegram_pau(
    fake: FakeBotApi, demo_course: Course, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[Pau]:
    pau = make_pau(fresh_sqlite(tmp_path / "tg.db"), demo_course, clock)
    # Chats are paced at 20 messages a second here so the suite stays quick; the pacing test
    # below checks the real default of one a second.
    pau.settings = Settings(telegram_bot_token=BOT_TOKEN, telegram_webhook_secret=SECRET,
                            pau_secret_key=TEST_SECRET_KEY,
                            telegram_api_base_url=fake.base_url, telegram_per_chat_rate=20)  # fmt: skip
    add_telegram(pau)
    yield pau
    await pau.stop_channels()
    pau.close()


@pytest.fixture
async def client(telegram_pau: Pau) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(telegram_pau.settings, pau=telegram_pau, scheduler=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pau"
    ) as http:
        yield http


async def post(
    client: httpx.AsyncClient, payload: Any, *, secret: str | None = SECRET
) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    if isinstance(payload, (bytes, str)):
        return await client.post("/webhooks/telegram", content=payload, headers=headers)
    return await client.post("/webhooks/telegram", json=payload, headers=headers)


class TelegramLearner:
    """Ada in her Telegram app: sends updates, reads what the fake Bot API was asked to show."""

    def __init__(
        self, client: httpx.AsyncClient, pau: Pau, fake: FakeBotApi, user_id: int = LEARNER_ID
    ) -> None:
        self.client, self.pau, self.fake, self.user_id = client, pau, fake, user_id

    async def post(self, name: str, **overrides: Any) -> httpx.Response:
        """Deliver one update, without processing it."""
        if self.user_id != LEARNER_ID:
            overrides["user_id"] = self.user_id
        overrides.setdefault("update_id", next(update_ids))
        return await post(self.client, update_payload(name, **overrides))

    async def send(self, name: str, **overrides: Any) -> list[str]:
        before = len(self.fake.calls)
        response = await self.post(name, **overrides)
        assert response.status_code == 200, response.text
        await self.pau.drain()
        return [describe(call) for call in self.fake.calls[before:]]

    async def say(self, text: str) -> str:
        return "\n".join(await self.send("message_text", text=text))

    async def tap(self, data: str) -> str:
        return "\n".join(await self.send("callback_query", data=data))

    async def vote(self, option: int) -> str:
        poll = self.fake.calls_to("sendPoll")[-1].result["poll"]
        return "\n".join(await self.send("poll_answer", poll_id=poll["id"], option_ids=[option]))

    async def onboard(self) -> None:
        await self.say("/start")
        await self.tap("yes")
        await self.say("Ada")
        await self.tap("course:science-of-learning")
        await self.tap("level:new")
        await self.tap("time:morning")
        await self.say("Berlin")
        await self.tap("no")


def describe(call: Any) -> str:
    params = call.params
    if call.method == "sendMessage":
        buttons = params.get("reply_markup", {}).get("inline_keyboard", [])
        labels = " ".join(f"[{row[0]['text']}|{row[0]['callback_data']}]" for row in buttons)
        return f"sendMessage: {params['text']} {labels}".strip()
    if call.method == "sendPoll":
        return f"sendPoll: {params['question']} options={params['options']} anonymous={params.get('is_anonymous')}"
    return f"{call.method}"


@pytest.fixture
def ada(client: httpx.AsyncClient, telegram_pau: Pau, fake: FakeBotApi) -> TelegramLearner:
    return TelegramLearner(client, telegram_pau, fake)


def stored(pau: Pau) -> int:
    with pau.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM inbound_message")).scalar_one())


# --- the webhook's front door ----------------------------------------------------------------


async def test_a_missing_or_wrong_secret_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, telegram_pau: Pau
) -> None:
    payload = update_payload("message_text")
    assert (await post(client, payload, secret=None)).status_code == 401
    assert (await post(client, payload, secret="wrong")).status_code == 403
    assert stored(telegram_pau) == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}',
                                  b'{"update_id": 7, "message": {"text": 5}}', b'{"update_id": 1, "message": "x"}', "\udcff".encode("utf-8", "surrogatepass")])  # fmt: skip
async def test_malformed_bodies_get_400(
    client: httpx.AsyncClient, telegram_pau: Pau, body: bytes
) -> None:
    response = await post(client, body)
    assert response.status_code == 400, response.text
    assert stored(telegram_pau) == 0


@pytest.mark.parametrize("name", ["edited_message", "channel_post", "group_message"])
async def test_updates_pau_ignores_on_purpose_get_200_and_no_reply(
    ada: TelegramLearner, name: str
) -> None:
    assert await ada.send(name) == []
    assert stored(ada.pau) == 0


async def test_a_redelivered_update_has_no_second_effect(
    client: httpx.AsyncClient, telegram_pau: Pau, fake: FakeBotApi
) -> None:
    payload = update_payload("command_start", update_id=5000)
    first, again = await post(client, payload), await post(client, payload)
    assert first.json() == {"ok": True, "duplicate": False}
    assert again.json() == {"ok": True, "duplicate": True}
    await telegram_pau.work_once()
    assert len(fake.calls_to("sendMessage")) == 2  # welcome + consent question, once


async def test_ten_concurrent_copies_are_stored_once(
    client: httpx.AsyncClient, telegram_pau: Pau, fake: FakeBotApi
) -> None:
    payload = update_payload("command_start", update_id=6000)
    responses = await asyncio.gather(*(post(client, payload) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    await telegram_pau.work_once()
    assert stored(telegram_pau) == 1
    assert len(fake.calls_to("sendMessage")) == 2


async def test_out_of_order_updates_are_processed_in_update_id_order(ada: TelegramLearner) -> None:
    await ada.say("/start")
    later = update_payload("message_text", update_id=7001, text="Ada")
    earlier = update_payload("callback_query", update_id=7000, data="yes")
    assert (await post(ada.client, later)).status_code == 200
    assert (await post(ada.client, earlier)).status_code == 200
    before = len(ada.fake.calls)
    await ada.pau.work_once()
    texts = [describe(c) for c in ada.fake.calls[before:]]
    assert any("Nice to meet you, Ada!" in t for t in texts), texts


# --- a learner's journey ------------------------------------------------------------------------


async def test_a_learner_onboards_learns_answers_a_quiz_poll_and_stops(
    ada: TelegramLearner,
) -> None:
    start = await ada.say("/start")
    assert "Is that OK with you?" in start and "[Yes, let's go|yes]" in start
    consent = await ada.tap("yes")
    assert "answerCallbackQuery" in consent and "What should I call you?" in consent
    await ada.say("Ada")
    await ada.tap("course:science-of-learning")
    await ada.tap("level:new")
    await ada.tap("time:morning")
    assert "Europe/Berlin" in await ada.say("Berlin")
    lesson = await ada.tap("no")
    assert "📘" in lesson and "[Continue|continue]" in lesson
    quiz = await ada.tap("continue")
    assert "sendPoll:" in quiz and "anonymous=False" in quiz
    poll = ada.fake.calls_to("sendPoll")[-1]
    assert poll.params["type"] == "quiz" and poll.params["correct_option_ids"] == [0]
    graded = await ada.vote(0)
    assert "✅ Right!" in graded and "💭" in graded
    assert "Thanks for reflecting" in await ada.say(
        "I would quiz myself on the bus instead of rereading"
    )
    assert "From the lesson" in await ada.say("why do we forget so fast?")
    assert "unsubscribed" in await ada.say("/stop")


async def test_a_stale_poll_vote_is_not_graded_against_the_open_question(
    ada: TelegramLearner,
) -> None:
    await ada.onboard()
    await ada.tap("continue")
    reply = "\n".join(await ada.send("poll_answer", poll_id="some-old-poll", option_ids=[1]))
    assert "closed" in reply


async def test_progress_comes_with_a_chart_photo(ada: TelegramLearner) -> None:
    await ada.onboard()
    calls = await ada.send("command_start", text="/progress")
    assert any(c.startswith("sendMessage: 📊") for c in calls)
    [photo] = ada.fake.calls_to("sendPhoto")
    [upload] = photo.files.values()
    assert upload.content_type == "image/png" and upload.size > 2000


@pytest.mark.parametrize("name", ["sticker", "photo", "voice", "location", "document"])
async def test_media_gets_a_short_polite_reply(ada: TelegramLearner, name: str) -> None:
    await ada.onboard()
    reply = "\n".join(await ada.send(name))
    assert "can't open" in reply and "yet — text works best" in reply


async def test_text_messages_show_typing_while_the_reply_is_prepared(ada: TelegramLearner) -> None:
    calls = await ada.send("command_start")
    assert calls[0] == "sendChatAction"
    assert ada.fake.calls_to("sendChatAction")[0].params["action"] == "typing"


async def test_a_learner_who_blocks_the_bot_is_marked_unreachable(ada: TelegramLearner) -> None:
    await ada.onboard()
    assert await ada.send("my_chat_member_blocked") == []
    with ada.pau.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT unreachable FROM learner")).scalar() in (1, True)


# --- delivery: limits, retries, blocked users ----------------------------------------------------


async def test_429_is_retried_after_retry_after(ada: TelegramLearner, clock: FixedClock) -> None:
    ada.fake.fail_next("sendMessage", status=429, retry_after=7)
    await ada.say("/start")
    assert ada.fake.sent_texts(LEARNER_ID) == []
    clock.advance(seconds=6)
    await ada.pau.work_once()
    assert ada.fake.sent_texts(LEARNER_ID) == []
    clock.advance(seconds=2)
    await ada.pau.work_once()
    texts = ada.fake.sent_texts(LEARNER_ID)
    assert texts[0].startswith("Hi! I'm PAU") and "Is that OK" in texts[1]  # in order


async def test_server_errors_and_network_trouble_are_retried_with_backoff(
    ada: TelegramLearner, clock: FixedClock
) -> None:
    ada.fake.fail_next("sendMessage", status=502, times=2)
    await ada.say("/start")
    for seconds in (2, 4):
        assert ada.fake.sent_texts(LEARNER_ID) == []
        clock.advance(seconds=seconds)
        await ada.pau.work_once()
    assert len(ada.fake.sent_texts(LEARNER_ID)) == 2


async def test_403_blocked_stops_retries_and_marks_the_learner(
    ada: TelegramLearner, clock: FixedClock
) -> None:
    ada.fake.fail_next("sendMessage", status=403)
    await ada.say("/start")
    clock.advance(hours=1)
    await ada.pau.work_once()
    assert len(ada.fake.calls_to("sendMessage")) == 1  # the refused one; nothing after it
    with ada.pau.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT unreachable FROM learner")).scalar() in (1, True)
        statuses = connection.execute(sa.text("SELECT DISTINCT status FROM outbox")).scalars().all()
    assert statuses == ["failed"]


async def test_about_one_message_a_second_per_chat_by_default(fake: FakeBotApi) -> None:
    from bot.telegram import TelegramSender, make_bot
    from core.replies import Text

    async def no_polls(*_: str) -> None:
        return None

    sender = TelegramSender(make_bot(BOT_TOKEN, fake.base_url), no_polls)
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(sender.send(str(LEARNER_ID), Text(f"bubble {n}")) for n in range(3)),
                         sender.send("999", Text("another chat is not held up")))  # fmt: skip
    elapsed = asyncio.get_running_loop().time() - started
    await sender.stop()
    assert fake.max_rate_per_chat(window=0.9) <= 1 and elapsed >= 1.8
    sends = fake.calls_to("sendMessage")
    other = next(c for c in sends if c.chat_id == 999)
    assert other.timestamp - sends[0].timestamp < 0.5  # another chat is not held up


# --- rendering limits ------------------------------------------------------------------------


def test_long_texts_split_at_paragraphs_within_4096() -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 300 for n in range(10)]
    pieces = split_text("\n\n".join(paragraphs))
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) > 1
    assert all(p.startswith("Paragraph") for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == "".join(paragraphs).replace(
        " ", ""
    )
    assert all(len(p) <= 4096 for p in split_text("x" * 10000))


def test_every_button_the_course_can_produce_fits_callback_data(demo_course: Course) -> None:
    ids = [f"course:{demo_course.slug}", *(f"goal:{c.id}" for c in demo_course.concepts)]
    ids += [
        f"answer:{i.id}:{n}"
        for c in demo_course.concepts
        for i in c.quiz
        for n in range(len(i.options))
    ]
    assert max(len(i.encode()) for i in ids) <= 64


async def test_a_quiz_over_telegrams_poll_limits_falls_back_to_buttons(
    telegram_pau: Pau, fake: FakeBotApi
) -> None:
    assert telegram_pau.telegram is not None
    long_quiz = Quiz("Which one?", ("short", "x" * 150), 1, "Because.", "spacing-1")
    await telegram_pau.telegram.send(str(LEARNER_ID), long_quiz)
    [message] = fake.calls_to("sendMessage")
    buttons = [row[0]["callback_data"] for row in message.params["reply_markup"]["inline_keyboard"]]
    assert (
        buttons == ["answer:spacing-1:0", "answer:spacing-1:1"] and fake.calls_to("sendPoll") == []
    )


async def test_set_webhook_registers_secret_updates_and_commands(
    fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webhooks.cli import _set_telegram_webhook
    from webhooks.config import get_settings

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake.base_url)
    get_settings.cache_clear()
    try:
        assert await _set_telegram_webhook("https://pau.example.org/webhooks/telegram") == 0
    finally:
        get_settings.cache_clear()
    [call] = fake.calls_to("setWebhook")
    assert call.params["secret_token"] == SECRET
    assert set(call.params["allowed_updates"]) >= {"message", "callback_query", "poll_answer"}
    commands = [c["command"] for c in fake.my_commands[("default", "")]]
    assert {"start", "today", "progress", "stop", "help"} <= set(commands)


def test_pau_serve_answers_200_before_the_dialogue_and_the_bot_api(
    fake: FakeBotApi, tmp_path: Path
) -> None:
    """A real `pau serve` process: the Bot API is slow (2 s a call), the webhook is not."""
    import os
    import subprocess
    import time

    from tests.conftest import DEMO_COURSE
    from tests.test_app import pau_command, pau_serve

    fake.delay("*", 2.0)
    env = {
        "PAU_SECRET_KEY": TEST_SECRET_KEY,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": fake.base_url,
    }
    import_env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/serve.db"}
    subprocess.run(
        pau_command("content", "import", str(DEMO_COURSE)),
        env=import_env,
        check=True,
        capture_output=True,
    )
    with pau_serve(tmp_path, **env) as port:
        started = time.monotonic()
        response = httpx.post(f"http://127.0.0.1:{port}/webhooks/telegram", json=update_payload("command_start"),
                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=10)  # fmt: skip
        answered_in = time.monotonic() - started
        assert response.status_code == 200 and answered_in < 1.0
        fake.wait_for(
            lambda calls: any(c.method == "sendMessage" and c.ok for c in calls), timeout=20
        )


async def test_an_unreachable_bot_api_is_a_retryable_network_error() -> None:
    from bot.telegram import TelegramSender, make_bot
    from core.errors import RetryableDelivery
    from core.replies import Text
    from tests.load import free_port

    async def no_polls(*_: str) -> None:
        return None

    closed = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    sender = TelegramSender(make_bot(BOT_TOKEN, closed), no_polls)
    with pytest.raises(RetryableDelivery, match="network"):
        await sender.send(str(LEARNER_ID), Text("hello"))
    await sender.stop()


async def test_an_empty_secret_means_no_webhook_not_an_open_one(telegram_pau: Pau) -> None:
    from pydantic import SecretStr

    telegram_pau.settings.telegram_webhook_secret = SecretStr("")  # as a copied .env.example has it
    app = create_app(telegram_pau.settings, pau=telegram_pau, scheduler=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pau"
    ) as http:
        response = await post(http, update_payload("message_text"), secret="")
    assert response.status_code == 404
    assert stored(telegram_pau) == 0


async def test_a_declared_oversized_body_is_refused_before_reading(
    client: httpx.AsyncClient, telegram_pau: Pau
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Length": "5000000"}
    response = await client.post("/webhooks/telegram", content=b"{}", headers=headers)
    assert response.status_code == 413 and stored(telegram_pau) == 0


async def test_a_block_after_delete_does_not_bring_the_learner_back(ada: TelegramLearner) -> None:
    await ada.onboard()
    await ada.say("/delete")
    await ada.tap("yes")
    assert await ada.send("my_chat_member_blocked") == []
    with ada.pau.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM learner")).scalar() == 0


async def test_a_learner_whose_app_speaks_german_is_welcomed_in_german(
    ada: TelegramLearner,
) -> None:
    reply = "\n".join(
        await ada.send("message_text", text="Hallo", message__from__language_code="de")
    )
    assert "Datenschutz" in reply and "privacy" not in reply
    assert "privacy" in await ada.say("lang en")  # `lang` changes it any time
