"""Telegram through python-telegram-bot: replies out as Bot API calls (DESIGN.md §3).
Updates come in through bot/telegram_updates.py.

PAU's engine keeps the conversation; the library parses updates, talks to the Bot API and
limits the overall rate. Errors map onto core.errors so the outbox knows what to retry:

    RetryAfter (429)              -> RetryableDelivery(retry_after)
    TimedOut reading or writing,  -> DeliveryOutcomeUnknown (the request may have arrived)
      connection dropped waiting
    NetworkError, TimedOut, 5xx   -> RetryableDelivery (connect, pool: nothing went out)
    Forbidden (blocked, kicked)   -> LearnerUnreachable
    BadRequest, other 4xx         -> PermanentDelivery

Messages go out with parse_mode HTML: the texts' *emphasis* and **strong** become <i> and <b>
(bot/markup.py), each piece converted after splitting. Telegram counts its 4,096 limit after
parsing the HTML, so a piece measured as plain text before conversion stays within it. Polls
show no formatting: their question, options and explanation lose the markers instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
from aiolimiter import AsyncLimiter
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
)
from telegram.constants import ChatAction, ParseMode, PollLimit, PollType
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.markup import to_plain, to_telegram_html
from core.errors import (
    DeliveryOutcomeUnknown,
    LearnerUnreachable,
    PermanentDelivery,
    RetryableDelivery,
)
from core.logs import debug_details, failure
from core.replies import (
    Choices,
    File,
    Image,
    Quiz,
    Reply,
    Template,
    Text,
    Typing,
    split_long_texts,
)

log = logging.getLogger(__name__)
# python-telegram-bot 22 gives RetryAfter.retry_after as a timedelta with this set (the int form
# is deprecated and warns on every 429); it is read at call time, so setting it here suffices.
os.environ.setdefault("PTB_TIMEDELTA", "true")

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64  # bytes
# Per-call timeouts, explicit: the Bot API usually answers in well under a second, but has slow
# moments; twice python-telegram-bot's 5 s default for reading the answer. core/delivery.py's
# 15 s deadline per reply is the last guard.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 10.0
POOL_TIMEOUT = 5.0
CONNECTIONS = 64  # more than the sends the dispatcher has in flight
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "poll_answer", "my_chat_member"]
# The menu lists what the engine answers (every word works typed too, in English or German).
COMMANDS = {
    "start": "Start or restart", "today": "Today's session", "quiz": "A quick quiz question",
    "ask": "Ask a question", "progress": "Your progress", "goal": "Pick a topic to work towards",
    "pause": "Pause reminders", "resume": "Resume reminders", "stop": "Stop all messages",
    "export": "Get your data", "delete": "Delete your data", "help": "What I can do",
    "cancel": "End the current session", "lang": "Change the language",
    "mentor": "Ask for a real person",
}  # fmt: skip


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` UTF-16 units (Telegram's measure: an emoji counts two), cut at
    paragraph, then line, then word boundaries. (The runner already keeps texts under 4,000
    units; this is the platform's own guard.)"""
    return [
        piece.text for piece in split_long_texts([Text(text)], limit) if isinstance(piece, Text)
    ]


def callback_data(option_id: str) -> str:
    """Option ids are short by design; an id over 64 bytes is a bug, so it fails loudly here."""
    if len(option_id.encode("utf-8")) > MAX_CALLBACK_DATA:
        raise PermanentDelivery(
            f"callback_data over {MAX_CALLBACK_DATA} bytes: {option_id[:20]}..."
        )
    return option_id


def keyboard(options: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(label[:64], callback_data=callback_data(data))]
        for data, label in options
    ]
    return InlineKeyboardMarkup(rows)


def fits_native_quiz(quiz: Quiz) -> bool:
    return (
        2 <= len(quiz.options) <= PollLimit.MAX_OPTION_NUMBER
        and len(quiz.question) <= PollLimit.MAX_QUESTION_LENGTH
        and all(len(o) <= PollLimit.MAX_OPTION_LENGTH for o in quiz.options)
        and len(quiz.explanation) <= PollLimit.MAX_EXPLANATION_LENGTH
        and quiz.explanation.count("\n") <= PollLimit.MAX_EXPLANATION_LINE_FEEDS
    )


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about the int form; we take either
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def outcome_unknown(error: NetworkError) -> bool:
    """The request went out and no answer came back: a read or write time-out, or the
    connection dropped while waiting. The Bot API may have the message. (A connect or pool
    time-out, or a refused connection: nothing was sent.)"""
    if isinstance(error, TimedOut):
        return not isinstance(error.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)
    return isinstance(error.__cause__, httpx.ReadError | httpx.RemoteProtocolError)


# Telegram's error descriptions as PAU logs and stores them: a known phrase is kept, anything
# else is hidden, because a description may quote what was sent (PAU_DEBUG_LOGS shows it all).
KNOWN_DESCRIPTIONS = (
    "chat not found", "bot was blocked by the user", "user is deactivated", "bot was kicked",
    "message is too long", "message text is empty", "can't parse entities", "not enough rights",
    "have no rights to send a message", "wrong file identifier", "file is too big",
    "button_data_invalid", "query is too old", "poll has already been closed",
    "group chat was upgraded", "too many requests", "bad gateway", "internal server error",
    "gateway timeout", "service unavailable", "unauthorized", "not found", "conflict",
)  # fmt: skip


def public_description(description: str) -> str:
    if debug_details():
        return description
    lowered = description.lower()
    known = [phrase for phrase in KNOWN_DESCRIPTIONS if phrase in lowered]
    return known[0] if known else "(description hidden)"


def classify(error: TelegramError) -> Exception:
    if isinstance(error, RetryAfter):
        return RetryableDelivery(f"429: {error}", retry_after=retry_seconds(error))
    if isinstance(error, NetworkError) and outcome_unknown(error):
        return DeliveryOutcomeUnknown(f"no answer: {type(error.__cause__).__name__}")
    if isinstance(error, Forbidden):
        return LearnerUnreachable(f"403: {public_description(error.message)}")
    if isinstance(error, BadRequest):
        return PermanentDelivery(f"400: {public_description(error.message)}")
    if isinstance(error, NetworkError):
        cause = f" ({type(error.__cause__).__name__})" if error.__cause__ is not None else ""
        return RetryableDelivery(f"network: {public_description(error.message)}{cause}")
    return PermanentDelivery(f"{type(error).__name__}: {public_description(error.message)}")


PollSaver = Callable[[str, str, str], Awaitable[None]]  # (poll id, chat id, quiz item id)


class TelegramSender:
    """Renders channel-neutral replies as Bot API calls, at most ~1 message a second per chat."""

    def __init__(
        self, bot: ExtBot[Any], remember_poll: PollSaver, per_chat_per_second: float = 1.0
    ) -> None:
        self.bot = bot
        self.remember_poll = remember_poll
        self.per_chat_per_second = per_chat_per_second
        self._chat_limiters: dict[str, AsyncLimiter] = {}
        self._starting = asyncio.Lock()

    def _limiter(self, chat_id: str) -> AsyncLimiter:
        if chat_id not in self._chat_limiters:
            if len(self._chat_limiters) > 10_000:
                self._chat_limiters.clear()  # idle limiters are full again anyway
            self._chat_limiters[chat_id] = AsyncLimiter(1, 1 / self.per_chat_per_second)
        return self._chat_limiters[chat_id]

    async def start(self) -> None:
        """Open the HTTP client and check the token (getMe) once; safe to call again."""
        async with self._starting:
            await self.bot.initialize()

    async def stop(self) -> None:
        await self.bot.shutdown()

    async def send(self, address: str, reply: Reply) -> None:
        try:
            await self.start()
            await self._send(address, reply)
        except TelegramError as error:
            raise classify(error) from error

    async def _send(self, chat_id: str, reply: Reply) -> None:
        limiter = self._limiter(chat_id)
        if isinstance(reply, Typing):
            await self.typing(chat_id)  # not a message: no pacing, and failures are harmless
        elif isinstance(reply, Text | Template):
            text = (
                reply.text if isinstance(reply, Text) else " ".join((reply.name, *reply.parameters))
            )
            await self._send_pieces(chat_id, split_text(text), limiter)
        elif isinstance(reply, Choices):
            markup = keyboard([(o.id, to_plain(o.label)) for o in reply.options])
            async with limiter:
                await self._send_message(chat_id, split_text(reply.prompt)[0], markup)
        elif isinstance(reply, Quiz):
            await self._send_quiz(chat_id, reply, limiter)
        elif isinstance(reply, Image):
            async with limiter:
                await self.bot.send_photo(
                    chat_id,
                    InputFile(reply.png, filename="progress.png"),
                    caption=reply.caption or None,
                )
        elif isinstance(reply, File):
            async with limiter:
                await self.bot.send_document(
                    chat_id,
                    InputFile(reply.content, filename=reply.filename),
                    caption=reply.caption or None,
                )

    async def _send_pieces(self, chat_id: str, pieces: list[str], limiter: AsyncLimiter) -> None:
        """Every piece is tried: one refused for good is reported at the end, with its reason,
        and never keeps the pieces after it from going out."""
        refused = []
        for number, piece in enumerate(pieces, 1):
            try:
                async with limiter:
                    await self._send_message(chat_id, piece)
            except BadRequest as error:
                refused.append(
                    f"piece {number} of {len(pieces)}: {public_description(error.message)}"
                )
        if refused:
            raise PermanentDelivery("400: " + "; ".join(refused))

    async def _send_quiz(self, chat_id: str, quiz: Quiz, limiter: AsyncLimiter) -> None:
        if not quiz.options:  # cloze or short answer: the learner types
            async with limiter:
                await self._send_message(chat_id, f"❓ {quiz.question}")
            return
        if fits_native_quiz(quiz):
            async with limiter:
                message = await self.bot.send_poll(
                    chat_id,
                    to_plain(quiz.question),
                    [to_plain(option) for option in quiz.options],
                    is_anonymous=False,
                    type=PollType.QUIZ,
                    correct_option_ids=[quiz.correct_index],
                    explanation=to_plain(quiz.explanation) or None,
                )
            if message.poll is not None:
                try:
                    await self.remember_poll(message.poll.id, chat_id, quiz.item_id)
                except Exception as error:  # the poll is out: resending it would be worse
                    failure(log, "remembering a poll", error=error, next="answers read as closed")
            return
        # Too long for a native poll: the same choice as buttons; grading is the same.
        lines = [quiz.question, *(f"{chr(65 + i)}. {o}" for i, o in enumerate(quiz.options))]
        buttons = [(f"answer:{quiz.item_id}:{i}", chr(65 + i)) for i in range(len(quiz.options))]
        async with limiter:
            await self._send_message(chat_id, split_text("\n".join(lines))[0], keyboard(buttons))

    async def _send_message(
        self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """One message of at most 4,096 units of plain text, sent as Telegram HTML."""
        await self.bot.send_message(
            chat_id, to_telegram_html(text), parse_mode=ParseMode.HTML, reply_markup=markup
        )

    async def typing(self, chat_id: str) -> None:
        """Show "typing…" while a reply is prepared; failures here are harmless."""
        try:
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as error:
            log.debug("typing action failed: %s", classify(error))

    async def answer_callback(self, callback_query_id: str) -> None:
        """Stop the button's spinner. Best effort: Telegram stops it by itself after a while."""
        try:
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as error:
            log.debug("answerCallbackQuery failed: %s", classify(error))


def make_bot(
    token: str, base_url: str, overall_per_second: float = 30, read_timeout: float = READ_TIMEOUT
) -> ExtBot[Any]:
    """The python-telegram-bot client: `base_url` in PTB's form (the token is appended), the
    explicit timeouts above, and the library's limiter for the bot-wide ~30 messages a second
    (the outbox does the retries)."""
    base = base_url.rstrip("/")
    file_base = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file"
    limiter = AIORateLimiter(
        overall_max_rate=overall_per_second, overall_time_period=1, max_retries=0
    )
    request = HTTPXRequest(
        connection_pool_size=CONNECTIONS, connect_timeout=CONNECT_TIMEOUT,
        read_timeout=read_timeout, write_timeout=WRITE_TIMEOUT, media_write_timeout=WRITE_TIMEOUT,
        pool_timeout=POOL_TIMEOUT,
    )  # fmt: skip
    return ExtBot(
        token, base_url=base, base_file_url=file_base, rate_limiter=limiter, request=request
    )


async def register_webhook(bot: ExtBot[Any], url: str, secret: str) -> None:
    """setWebhook with our secret and the updates PAU handles, then the command menu."""
    await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    await register_commands(bot)


async def register_commands(bot: ExtBot[Any]) -> None:
    await bot.set_my_commands(
        [BotCommand(name, description) for name, description in COMMANDS.items()]
    )
