"""Telegram Update JSON to PAU's InboundEvent, parsed by python-telegram-bot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.ext import ExtBot

from core.events import EventKind, InboundEvent

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


def parse_update(data: Mapping[str, Any], bot: ExtBot[Any] | None = None) -> TelegramInbound | None:
    """Our view of an Update; None for updates PAU ignores on purpose (edits, groups, channels).
    Raises ValueError when the body is not an Update."""
    if not isinstance(data, Mapping) or not isinstance(data.get("update_id"), int):
        raise ValueError("not a Telegram update: no integer update_id")
    try:
        update = Update.de_json(dict(data), bot)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"not a Telegram update: {error}") from error
    if update.callback_query is not None:
        query = update.callback_query
        event = InboundEvent(
            EventKind.CHOICE, choice_id=query.data or "", ref=_answer_ref(query.data)
        )
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


def _message_event(message: Message) -> InboundEvent:
    if message.text is not None:
        text = message.text
        is_command = (
            bool(message.entities)
            and message.entities[0].type == "bot_command"
            and message.entities[0].offset == 0
        )
        return InboundEvent(EventKind.COMMAND if is_command else EventKind.TEXT, text=text)
    media = next((name for name in MEDIA_FIELDS if getattr(message, name, None)), "message")
    return InboundEvent(EventKind.UNSUPPORTED, media_type=media)
