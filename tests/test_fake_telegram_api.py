"""The loopback Bot API fake, driven by the real python-telegram-bot client, and the recorded
Update payloads. These tests also pin what PTB 22.8 does with Telegram's answers: the exception
types the adapter relies on, and the deprecations that warnings-as-errors turns into failures."""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatAction, MessageEntityType, PollType
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.fakes.telegram_api import (
    DATA_DIR,
    LEARNER_ID,
    FakeBotApi,
    _max_in_window,
    update_payload,
)

PAYLOADS = sorted(path.stem for path in DATA_DIR.glob("*.json"))


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture
def fake(server: FakeBotApi, monkeypatch: pytest.MonkeyPatch) -> FakeBotApi:
    # Without it, PTB 22.8 warns when RetryAfter is built (see the test below).
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    server.reset()
    return server


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
        yield bot


# -- the real client against the fake ------------------------------------------------------------


async def test_initialize_calls_get_me_only(fake: FakeBotApi) -> None:
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
        assert bot.username == "pau_test_bot" and bot.id == 123456789
    assert [call.method for call in fake.calls] == ["getMe"]


async def test_send_message_echoes_the_inline_keyboard_and_numbers_messages_per_chat(
    fake: FakeBotApi, bot: telegram.Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("I agree", callback_data="yes")]])
    first = await bot.send_message(LEARNER_ID, "Welcome", reply_markup=keyboard)
    second = await bot.send_message(LEARNER_ID, "Second")
    other = await bot.send_message(42, "Elsewhere")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.id == LEARNER_ID and first.chat.type == "private" and first.text == "Welcome"
    assert first.reply_markup == keyboard and second.reply_markup is None
    assert fake.sent_texts(LEARNER_ID) == ["Welcome", "Second"]
    assert fake.sent_texts() == ["Welcome", "Second", "Elsewhere"]
    call = fake.calls_to("sendMessage")[0]
    assert call.chat_id == LEARNER_ID and call.params["reply_markup"] == keyboard.to_dict()


async def test_send_quiz_poll(fake: FakeBotApi, bot: telegram.Bot) -> None:
    message = await bot.send_poll(
        LEARNER_ID, "What helps recall most?", ["Re-reading", "Self-testing", "Highlighting"],
        type=PollType.QUIZ, is_anonymous=False, correct_option_ids=[1],
        explanation="Retrieval practice strengthens memory.",
    )  # fmt: skip
    poll = message.poll
    assert poll is not None and poll.type == PollType.QUIZ and not poll.is_anonymous
    assert [o.text for o in poll.options] == ["Re-reading", "Self-testing", "Highlighting"]
    assert [o.voter_count for o in poll.options] == [0, 0, 0] and poll.total_voter_count == 0
    assert poll.correct_option_ids == (1,) and not poll.is_closed
    assert poll.explanation == "Retrieval practice strengthens memory."
    params = fake.calls_to("sendPoll")[0].params
    assert params["options"] == [
        {"text": "Re-reading"},
        {"text": "Self-testing"},
        {"text": "Highlighting"},
    ]
    assert params["correct_option_ids"] == [1] and params["is_anonymous"] is False
    again = await bot.send_poll(
        LEARNER_ID, "Again?", ["a", "b"], type="quiz", correct_option_ids=[0]
    )
    assert again.poll is not None and again.poll.id != poll.id


async def test_callback_answer_and_chat_action(fake: FakeBotApi, bot: telegram.Bot) -> None:
    assert await bot.answer_callback_query("4766240926517163029", text="Saved") is True
    assert await bot.send_chat_action(LEARNER_ID, ChatAction.TYPING) is True
    assert fake.calls_to("answerCallbackQuery")[0].params == {
        "callback_query_id": "4766240926517163029", "text": "Saved",
    }  # fmt: skip
    assert fake.calls_to("sendChatAction")[0].params == {"chat_id": LEARNER_ID, "action": "typing"}


async def test_send_photo_is_a_multipart_upload(fake: FakeBotApi, bot: telegram.Bot) -> None:
    image = png(640, 480)
    message = await bot.send_photo(LEARNER_ID, image, caption="Your week", filename="progress.png")
    assert [(p.width, p.height) for p in message.photo] == [(90, 68), (320, 240), (640, 480)]
    assert message.caption == "Your week"
    call = fake.calls_to("sendPhoto")[0]
    upload = call.files["photo"]
    assert upload.size == len(image) and upload.data == image
    assert (upload.filename, upload.content_type) == ("progress.png", "image/png")
    assert call.params["caption"] == "Your week" and call.chat_id == LEARNER_ID


async def test_send_document(fake: FakeBotApi, bot: telegram.Bot) -> None:
    content = b'{"learner": "Ada"}\r\n' * 100
    message = await bot.send_document(LEARNER_ID, content, filename="export.json")
    document = message.document
    assert document is not None and document.file_name == "export.json"
    assert document.mime_type == "application/json" and document.file_size == len(content)
    assert fake.calls_to("sendDocument")[0].files["document"].data == content


async def test_commands_and_webhook(fake: FakeBotApi, bot: telegram.Bot) -> None:
    assert await bot.set_my_commands([("start", "Start"), ("quiz", "A quiz now")]) is True
    assert [c.command for c in await bot.get_my_commands()] == ["start", "quiz"]
    assert fake.my_commands[("default", "")][1] == {"command": "quiz", "description": "A quiz now"}
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Quiz!", "bad")])

    url = "https://pau.example.org/webhooks/telegram"
    assert await bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"]) is True
    assert fake.webhook["secret_token"] == "s3cret"
    info = await bot.get_webhook_info()
    assert (
        info.url == url and info.allowed_updates == ("message",) and info.pending_update_count == 0
    )
    assert await bot.delete_webhook() is True
    assert (await bot.get_webhook_info()).url == ""


# -- Telegram's errors, as PTB 22.8 raises them ----------------------------------------------------


async def test_429_is_retry_after_with_a_timedelta(fake: FakeBotApi, bot: telegram.Bot) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(LEARNER_ID, "Hi")
    assert caught.value.retry_after == timedelta(
        seconds=7
    )  # an int (and a warning) without PTB_TIMEDELTA
    assert fake.calls[-1].response == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }  # fmt: skip
    await bot.send_message(LEARNER_ID, "Hi")  # only the next call failed
    assert fake.sent_texts() == ["Hi"]


@pytest.mark.parametrize(
    ("status", "exception", "message"),
    [
        (403, Forbidden, "Forbidden: bot was blocked by the user"),
        (400, BadRequest, "Chat not found"),  # PTB strips "Bad Request: " and capitalises
        (500, NetworkError, "Internal Server Error"),
        (502, NetworkError, "Bad Gateway"),
        (401, InvalidToken, "Unauthorized"),
    ],
)
async def test_error_statuses_become_ptb_exceptions(
    fake: FakeBotApi, bot: telegram.Bot, status: int, exception: type[Exception], message: str
) -> None:
    fake.fail_next("sendMessage", status=status)
    with pytest.raises(exception) as caught:
        await bot.send_message(LEARNER_ID, "Hi")
    assert type(caught.value) is exception and str(caught.value) == message
    assert fake.calls[-1].status == status and fake.calls[-1].response["error_code"] == status


async def test_failures_can_target_one_chat_and_persist(
    fake: FakeBotApi, bot: telegram.Bot
) -> None:
    fake.fail_next("*", status=403, chat_id=LEARNER_ID, times=None)
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(LEARNER_ID, "Hi")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(LEARNER_ID, ChatAction.TYPING)
    await bot.send_message(42, "Fine")
    assert fake.sent_texts() == ["Fine"]
    fake.reset()
    await bot.send_message(LEARNER_ID, "Back")


async def test_bad_requests_for_platform_limits(fake: FakeBotApi, bot: telegram.Bot) -> None:
    await bot.send_message(LEARNER_ID, "x" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(LEARNER_ID, "x" * 4096 + "!")
    with pytest.raises(BadRequest, match="Message is too long"):  # 2,048 emoji are 4,096 + 2 units
        await bot.send_message(LEARNER_ID, "🙂" * 2049)
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])
        await bot.send_message(LEARNER_ID, "Pick", reply_markup=markup)
    with pytest.raises(BadRequest, match="12 options"):
        await bot.send_poll(LEARNER_ID, "Q?", [str(i) for i in range(13)])
    with pytest.raises(BadRequest, match=r"(?i)explanation"):
        await bot.send_poll(
            LEARNER_ID, "Q?", ["a", "b"], type="quiz", correct_option_ids=[0], explanation="e" * 201
        )


async def test_timeouts_unknown_methods_and_bad_tokens(fake: FakeBotApi, bot: telegram.Bot) -> None:
    fake.delay("sendMessage", 0.3)
    with pytest.raises(TimedOut):
        await bot.send_message(LEARNER_ID, "Slow", read_timeout=0.05)
    fake.delay("sendMessage", 0)
    # Telegram may deliver a message whose answer timed out: a retry can send it twice.
    await fake.await_calls(method="sendMessage")
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    with pytest.raises(InvalidToken, match="was rejected by the server"):
        async with telegram.Bot("987:wrong", base_url=fake.base_url):
            pass


async def test_server_down_is_a_network_error() -> None:
    with FakeBotApi() as gone:
        base_url, thread_name = gone.base_url, f"FakeBotApi:{gone.port}"
    assert thread_name not in {thread.name for thread in threading.enumerate()}
    bot = telegram.Bot("1:x", base_url=base_url)
    with pytest.raises(NetworkError, match=r"httpx\.ConnectError") as caught:
        await bot.initialize()
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    await bot.shutdown()


# -- the fake's own HTTP surface ----------------------------------------------------------------


def test_json_form_and_query_bodies_and_error_shapes(fake: FakeBotApi) -> None:
    base = f"{fake.base_url}{fake.token}"
    with httpx.Client() as client:
        sent = client.post(
            f"{base}/sendmessage", json={"chat_id": LEARNER_ID, "text": "123"}
        ).json()
        assert sent["ok"] and sent["result"]["text"] == "123"
        form = client.post(f"{base}/sendMessage", data={"chat_id": "42", "text": "true"}).json()
        assert form["result"]["chat"]["id"] == 42 and form["result"]["text"] == "true"
        assert client.get(f"{base}/getMe").json()["result"]["username"] == "pau_test_bot"
        unknown = client.post(f"{base}/noSuchMethod")
        assert (unknown.status_code, unknown.json()) == (404, {
            "ok": False, "error_code": 404, "description": "Not Found: method not found"})  # fmt: skip
        wrong = client.post(f"{fake.base_url}1:nope/getMe")
        assert (wrong.status_code, wrong.json()) == (401, {
            "ok": False, "error_code": 401, "description": "Unauthorized"})  # fmt: skip
    assert [call.method for call in fake.calls][:2] == ["sendMessage", "sendMessage"]
    assert fake.sent_texts() == ["123", "true"]


async def test_waiting_for_calls(fake: FakeBotApi, bot: telegram.Bot) -> None:
    tasks = [asyncio.create_task(bot.send_message(LEARNER_ID, f"#{i}")) for i in range(3)]
    calls = await fake.await_calls(3, method="sendMessage")
    assert sorted(call.params["text"] for call in calls) == ["#0", "#1", "#2"]
    await asyncio.gather(*tasks)
    waited = await asyncio.to_thread(
        fake.wait_for, lambda calls: len(calls) == 3, method="sendMessage"
    )
    assert len(waited) == 3
    with pytest.raises(AssertionError, match="timed out"):
        fake.wait_for(1, method="sendPoll", timeout=0.01)


async def test_rates_per_chat_and_overall(fake: FakeBotApi, bot: telegram.Bot) -> None:
    for chat_id in (LEARNER_ID, LEARNER_ID, LEARNER_ID, 42):
        await bot.send_message(chat_id, "Hi")
    await bot.send_chat_action(42, ChatAction.TYPING)  # not a message: not counted
    assert fake.max_rate_per_chat() == 3 and fake.max_rate_overall() == 4
    assert fake.max_rate_overall(methods=["sendChatAction"]) == 1


def test_max_in_window_is_a_half_open_sliding_window() -> None:
    assert _max_in_window([], 1.0) == 0
    assert _max_in_window([0.0, 0.5, 0.99, 1.0, 1.2], 1.0) == 4
    assert _max_in_window([0.0, 1.0, 2.0, 3.0], 1.0) == 1


# -- recorded payloads ---------------------------------------------------------------------------

EXPECTED = {
    "message_text": lambda u: u.message.text.startswith("I'd like"),
    "command_start": lambda u: (
        u.message.text == "/start" and u.message.entities[0].type == MessageEntityType.BOT_COMMAND
    ),
    "command_help": lambda u: u.message.parse_entities([MessageEntityType.BOT_COMMAND]),
    "callback_query": lambda u: (
        u.callback_query.data == "yes"
        and u.callback_query.message.reply_markup.inline_keyboard[0][0].callback_data == "yes"
    ),
    "poll_answer": lambda u: (
        u.poll_answer.option_ids == (1,) and u.poll_answer.user.id == LEARNER_ID
    ),
    "sticker": lambda u: u.message.sticker.emoji == "👍",
    "photo": lambda u: u.message.photo[-1].width == 1280 and u.message.caption,
    "voice": lambda u: u.message.voice.mime_type == "audio/ogg",
    "location": lambda u: round(u.message.location.latitude, 2) == 51.51,
    "document": lambda u: u.message.document.file_name == "reading-notes.pdf",
    "edited_message": lambda u: u.edited_message.edit_date > u.edited_message.date,
    "my_chat_member_blocked": lambda u: u.my_chat_member.new_chat_member.status == "kicked",
    "channel_post": lambda u: u.channel_post.chat.type == "channel" and u.effective_user is None,
    "group_message": lambda u: (
        u.effective_chat.type == "group" and u.effective_user.id == LEARNER_ID
    ),
}


def test_every_payload_is_checked_and_update_ids_are_distinct() -> None:
    assert sorted(EXPECTED) == PAYLOADS
    ids = [json.loads((DATA_DIR / f"{name}.json").read_text())["update_id"] for name in PAYLOADS]
    assert len(set(ids)) == len(ids)


@pytest.fixture(scope="module")
def offline_bot() -> telegram.Bot:
    return telegram.Bot("123:ABC")  # never initialised: de_json needs no network


@pytest.mark.parametrize("name", PAYLOADS)
def test_payload_parses_with_ptb(name: str, offline_bot: telegram.Bot) -> None:
    update = telegram.Update.de_json(update_payload(name), offline_bot)
    assert update.api_kwargs == {}  # no field PTB does not know at the top level
    assert EXPECTED[name](update)
    user = update.effective_user
    if user is not None:
        assert (user.id, user.first_name, user.language_code) == (LEARNER_ID, "Ada", "en")
    if update.effective_chat is not None and update.effective_chat.type == "private":
        assert update.effective_chat.id == LEARNER_ID


def test_update_payload_overrides(offline_bot: telegram.Bot) -> None:
    quiz = telegram.Update.de_json(
        update_payload("command_start", text="/quiz now", update_id=7), offline_bot
    )
    assert quiz.update_id == 7 and quiz.message.text == "/quiz now"
    assert quiz.message.parse_entities() == {quiz.message.entities[0]: "/quiz"}
    plain = update_payload("command_help", text="hello")
    assert plain["message"]["text"] == "hello" and "entities" not in plain["message"]
    assert update_payload("photo", text="new caption")["message"]["caption"] == "new caption"

    answer = update_payload("poll_answer", poll_id="p1", option_ids=[0, 2])["poll_answer"]
    assert (answer["poll_id"], answer["option_ids"], answer["option_persistent_ids"]) == (
        "p1",
        [0, 2],
        ["0", "2"],
    )
    assert update_payload("callback_query", data="no")["callback_query"]["data"] == "no"

    moved = update_payload("message_text", user_id=5, message__chat__first_name="Bo")
    assert moved["message"]["from"]["id"] == moved["message"]["chat"]["id"] == 5
    assert moved["message"]["chat"]["first_name"] == "Bo"
    assert update_payload("message_text", chat_id=9, message_id=3)["message"]["chat"]["id"] == 9
    assert (
        update_payload("group_message", message__entities__0__length=4)["message"]["entities"][0][
            "length"
        ]
        == 4
    )
    assert update_payload("message_text")["message"]["from"]["id"] == LEARNER_ID  # fresh copies

    with pytest.raises(TypeError):
        update_payload("message_text", colour="blue")
    with pytest.raises(KeyError):
        update_payload("message_text", data="yes")
