"""WhatsApp webhook payloads in: checked, split into one item per message or status (so each is
stored and deduplicated on its own), and each stored item parsed with pywa into PAU's events.

One POST may carry several entries, changes, messages and statuses; pywa reads only the first of
each, so every item is re-wrapped as a payload of its own, with its contact, before it is stored.
What is ignored on purpose: reactions (a 👍 on a message is not an answer), changes other than
`messages` (template reviews, account updates), and statuses of messages PAU does not know.
Media (images, audio and voice notes, video, stickers, documents, locations, contacts) and types
PAU does not know (orders, system messages) get a short polite reply, as on Telegram.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pywa.types.base_update import RawUpdate
from pywa_async import WhatsApp, types

from core.events import EventKind, InboundEvent

CHANNEL = "whatsapp"
# A business-scoped user id: a country code, a dot, letters and digits ("US.1349…", "BR.ENT.…")
USER_ID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,100}")
WEBHOOK_OBJECT = "whatsapp_business_account"
MAX_ID_CHARS = 160
MEDIA_TYPES = frozenset({"image", "audio", "video", "sticker", "document", "location", "contacts"})
IGNORED_TYPES = frozenset({"reaction"})


@dataclass(frozen=True)
class Item:
    """One message or status, as a payload of its own that pywa can read."""

    kind: str  # "message" | "status"
    dedupe_key: str  # the wamid; for a status the wamid and the status
    body: dict[str, Any]

    @property
    def _value(self) -> dict[str, Any]:
        value: dict[str, Any] = self.body["entry"][0]["changes"][0]["value"]
        return value

    @property
    def platform_id(self) -> str:
        """The wamid of the message, or of the message a status is about."""
        thing = (self._value.get("messages") or self._value.get("statuses") or [{}])[0]
        return str(thing.get("id", ""))

    @property
    def body_type(self) -> str:
        """A message's type ("text", "interactive", "image"...); "" for a status."""
        return str((self._value.get("messages") or [{}])[0].get("type", ""))


@dataclass(frozen=True)
class WhatsAppInbound:
    sender_id: str  # the business-scoped user id
    phone: str  # the wa_id, when WhatsApp sends it
    message_id: str  # the wamid
    event: InboundEvent
    at: datetime


@dataclass(frozen=True)
class WhatsAppStatus:
    message_id: str  # the wamid of the message PAU sent
    status: str  # sent | delivered | read | failed
    error_code: int | None


def split_payload(data: Any) -> list[Item]:
    """The messages and statuses of a webhook payload; ValueError if it is not one."""
    if not isinstance(data, Mapping) or data.get("object") != WEBHOOK_OBJECT:
        raise ValueError("not a WhatsApp Business webhook (object)")
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        raise ValueError("no entry list")
    items: list[Item] = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, Mapping) else None
        if not isinstance(changes, list):
            raise ValueError("an entry without a changes list")
        for change in changes:
            if not isinstance(change, Mapping) or not isinstance(change.get("value"), Mapping):
                raise ValueError("a change without a value")
            if change.get("field") == "messages":
                items += _items_of(str(entry.get("id", "")), change["value"])
    return items


def _items_of(entry_id: str, value: Mapping[str, Any]) -> list[Item]:
    contacts = [c for c in value.get("contacts") or () if isinstance(c, Mapping)]
    base = {k: v for k, v in value.items() if k not in ("contacts", "messages", "statuses")}
    items = []
    for message in _list(value, "messages"):
        contact = _contact_for(contacts, message.get("from_user_id"), message.get("from"))
        body = _wrap(entry_id, {**base, "contacts": [contact], "messages": [message]})
        items.append(Item("message", _id(message), body))
    for status in _list(value, "statuses"):
        user_id = str(status.get("recipient_user_id") or "")
        contact = _contact_for(contacts, user_id, status.get("recipient_id"))
        body = _wrap(entry_id, {**base, "contacts": [contact], "statuses": [status]})
        key = f"{_id(status)}:{status.get('status', '')}"[:MAX_ID_CHARS]
        items.append(Item("status", key, body))
    return items


def _list(value: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    found = value.get(key) or []
    if not isinstance(found, list) or not all(isinstance(x, Mapping) for x in found):
        raise ValueError(f"{key} is not a list of objects")
    return found


def _id(thing: Mapping[str, Any]) -> str:
    wamid = thing.get("id")
    if not isinstance(wamid, str) or not 0 < len(wamid) <= MAX_ID_CHARS:
        raise ValueError("a message or status without a usable id")
    return wamid


def _contact_for(contacts: list[Mapping[str, Any]], user_id: Any, wa_id: Any) -> dict[str, Any]:
    """The message's contact (matched on the user id, then the phone number); pywa needs one,
    so a status without contacts gets one made from its recipient."""
    for contact in contacts:
        if (user_id and contact.get("user_id") == user_id) or (
            wa_id and contact.get("wa_id") == wa_id
        ):
            return dict(contact)
    if len(contacts) == 1:
        return dict(contacts[0])
    made: dict[str, Any] = {"profile": {"name": ""}}
    if user_id:
        made["user_id"] = user_id
    if wa_id:
        made["wa_id"] = wa_id
    return made


def _wrap(entry_id: str, value: dict[str, Any]) -> dict[str, Any]:
    change = {"field": "messages", "value": value}
    return {"object": WEBHOOK_OBJECT, "entry": [{"id": entry_id, "changes": [change]}]}


def user_id_of(body: Mapping[str, Any]) -> str:
    """The business-scoped user id of a stored message item ("" if it has none)."""
    value = body["entry"][0]["changes"][0]["value"]
    contact = (value.get("contacts") or [{}])[0]
    message = (value.get("messages") or [{}])[0]
    return str(contact.get("user_id") or message.get("from_user_id") or "")


def parse_item(client: WhatsApp, item: Item) -> WhatsAppInbound | WhatsAppStatus | None:
    """A stored item as PAU's event (None: ignored on purpose). Raises KeyError, ValueError or
    TypeError when pywa cannot read it."""
    raw = RawUpdate(json.dumps(item.body).encode(), hmac_header=None, update_hash=item.dedupe_key)
    if item.kind == "status":
        status = types.MessageStatus.from_update(client=client, update=raw)
        code = status.error.code if status.error else None
        return WhatsAppStatus(status.id, str(status.status.value), code)
    message = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    kind = str(message.get("type", ""))
    if kind in IGNORED_TYPES:
        return None
    try:
        return _message(client, raw, message, kind, item)
    except (KeyError, ValueError, TypeError, IndexError):
        if kind == "text" or kind == "interactive" or kind == "button":
            raise  # what PAU must understand: set aside with the reason, never guessed
        # a media message pywa cannot read (a field it expects is missing): still an answer
        return _unreadable_media(raw, message, kind, item)


def _unreadable_media(
    raw: RawUpdate, message: Mapping[str, Any], kind: str, item: Item
) -> WhatsAppInbound:
    contact = (raw["entry"][0]["changes"][0]["value"].get("contacts") or [{}])[0]
    sender = str(contact.get("user_id") or message.get("from_user_id") or "")
    phone = str(contact.get("wa_id") or message.get("from") or "")
    media = kind if kind in MEDIA_TYPES else "message"
    at = datetime.fromtimestamp(int(message.get("timestamp") or 0), UTC)
    return WhatsAppInbound(
        sender, phone, str(message["id"]), InboundEvent(EventKind.UNSUPPORTED, media_type=media), at
    )


def _message(
    client: WhatsApp, raw: RawUpdate, message: Mapping[str, Any], kind: str, item: Item
) -> WhatsAppInbound:
    if kind == "interactive":
        reply_type = message.get("interactive", {}).get("type")
        update: Any = (
            types.CallbackSelection.from_update(client=client, update=raw)
            if reply_type == "list_reply"
            else types.CallbackButton.from_update(client=client, update=raw)
        )
        data = str(update.data)
        event = InboundEvent(EventKind.CHOICE, choice_id=data, ref=_answer_ref(data))
    elif kind == "button":  # a template's quick-reply button: its payload, else its text
        update = types.CallbackButton.from_update(client=client, update=raw)
        event = InboundEvent(EventKind.CHOICE, choice_id=str(update.data))
    else:
        update = types.Message.from_update(client=client, update=raw)
        if kind == "text" and update.text is not None:
            event = InboundEvent.text_message(update.text)
        else:
            media = kind if kind in MEDIA_TYPES else "message"
            event = InboundEvent(EventKind.UNSUPPORTED, media_type=media)
    user = update.from_user
    sender = str(user.bsuid or user_id_of(item.body))
    return WhatsAppInbound(sender, str(user.wa_id or ""), update.id, event, update.timestamp)


def _answer_ref(data: str) -> str:
    """The quiz item an "answer:<item>:<index>" button refers to (as on Telegram)."""
    return data.split(":")[1] if data.startswith("answer:") and data.count(":") >= 2 else ""
