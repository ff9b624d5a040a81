"""Telegram Update JSON to PAU's InboundEvent, parsed by python-telegram-bot.

Everything is checked here, before anything is stored: ids are real integers in Telegram's range,
the poll and callback fields have their types and lengths, and learner text that storage cannot
hold (lone surrogates, NUL) is cleaned. What cannot be a valid update raises ValueError (the
webhook answers 400); nothing authenticated can reach a 5xx from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.ext import ExtBot

from core.events import EventKind, InboundEvent

MAX_ID = 2**53  # Telegram's ids fit in 52 bits; update ids are positive and smaller still
MAX_POLL_ID_CHARS = 128
MAX_CALLBACK_DATA_CHARS = 64
MAX_POLL_OPTIONS = 12
MEDIA_FIELDS = ("sticker", "photo", "voice", "video", "video_note", "audio", "document",
                "location", "venue", "contact", "animation", "dice", "poll")  # fmt: skip


@dataclass(frozen=True)
class TelegramInbound:
    """One update, parsed: who sent it, our event, and what to do at once besides storing it."""

    sender_id: str  # the private chat id (equal to the user id)
    update_id: int
    event: InboundEvent
    callback_query_id: str | None = None
    poll_id: str | None = None
    blocked: bool | None = None  # my_chat_member: True when the user blocked the bot


def clean_text(text: str) -> str:
    """Learner text as storage can hold it: lone surrogates become U+FFFD, NUL characters go."""
    cleaned = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return cleaned.replace("\x00", "")


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -MAX_ID < value < MAX_ID


def _check_ids(update: Update) -> None:
    """Every id PAU keeps or answers to is an integer in Telegram's range."""
    user = update.effective_user
    chat = update.effective_chat
    for value in (user.id if user else 0, chat.id if chat else 0):
        if not _is_id(value):
            raise ValueError("an id out of Telegram's range")
    if update.poll_answer is not None:
        answer = update.poll_answer
        if not isinstance(answer.poll_id, str) or len(answer.poll_id) > MAX_POLL_ID_CHARS:
            raise ValueError("poll_id is not a short string")
        options = answer.option_ids
        if not all(_is_id(o) and 0 <= o < MAX_POLL_OPTIONS for o in options):
            raise ValueError("option_ids are not poll options")
    if update.callback_query is not None:
        data = update.callback_query.data
        if data is not None and (not isinstance(data, str) or len(data) > MAX_CALLBACK_DATA_CHARS):
            raise ValueError("callback data is not a string of at most 64 characters")


def parse_update(data: Mapping[str, Any], bot: ExtBot[Any] | None = None) -> TelegramInbound | None:
    """Our view of an Update; None for updates PAU ignores on purpose (edits, groups, channels).
    Raises ValueError when the body is not an Update."""
    if not isinstance(data, Mapping) or not _is_id(data.get("update_id")):
        raise ValueError("not a Telegram update: no integer update_id")
    if data["update_id"] < 0:
        raise ValueError("not a Telegram update: a negative update_id")
    try:
        update = Update.de_json(dict(data), bot)
        _check_ids(update)
        return _inbound(update)
    except ValueError:
        raise
    except (AttributeError, KeyError, TypeError, OverflowError, OSError, IndexError) as error:
        # python-telegram-bot trusts the shape it is given: a message without a chat, a date
        # out of range or a list where a string belongs surface as these
        raise ValueError(f"not a Telegram update: {type(error).__name__}") from error


def _inbound(update: Update) -> TelegramInbound | None:
    if update.callback_query is not None:
        query = update.callback_query
        choice = clean_text(query.data or "")
        event = InboundEvent(EventKind.CHOICE, choice_id=choice, ref=_answer_ref(choice))
        return TelegramInbound(str(query.from_user.id), update.update_id, event, query.id)
    if update.poll_answer is not None:
        answer = update.poll_answer
        if answer.user is None or not answer.option_ids:
            return None  # a retracted vote or an anonymous poll: nothing to grade
        event = InboundEvent(EventKind.POLL_ANSWER, option_index=answer.option_ids[0])
        return TelegramInbound(str(answer.user.id), update.update_id, event, poll_id=answer.poll_id)
    if update.my_chat_member is not None and update.my_chat_member.chat.type == "private":
        status = update.my_chat_member.new_chat_member.status
        event = InboundEvent(EventKind.STATUS, text=f"member:{status}")
        blocked = status in ("kicked", "left")
        return TelegramInbound(
            str(update.my_chat_member.chat.id), update.update_id, event, blocked=blocked
        )
    message = update.message
    if message is None or message.chat.type != "private":
        return None  # edited messages, channel posts and groups are ignored on purpose
    return TelegramInbound(str(message.chat.id), update.update_id, _message_event(message))


def _answer_ref(data: str | None) -> str:
    """The quiz item an "answer:<item>:<index>" button refers to."""
    if data and data.startswith("answer:") and data.count(":") >= 2:
        return data.split(":")[1]
    return ""


def _language_of(message: Message) -> str:
    """The learner's app language (an IETF tag such as "de" or "pt-br"), as Telegram reports it."""
    user = message.from_user
    return clean_text(user.language_code or "")[:16] if user else ""


def _message_event(message: Message) -> InboundEvent:
    if message.text is not None:
        text = message.text
        is_command = (
            bool(message.entities)
            and message.entities[0].type == "bot_command"
            and message.entities[0].offset == 0
        )
        kind = EventKind.COMMAND if is_command else EventKind.TEXT
        return InboundEvent(kind, text=clean_text(text), language=_language_of(message))
    media = next((name for name in MEDIA_FIELDS if getattr(message, name, None)), "message")
    return InboundEvent(EventKind.UNSUPPORTED, media_type=media)
