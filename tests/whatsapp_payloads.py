"""WhatsApp webhook payloads of Meta's shape (as tests/data/whatsapp/ records them), built for
tests: a message of any kind from a learner, statuses, several in one delivery, and signing."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any

from tests.fakes.graph_api import LEARNER_USER_ID, LEARNER_WA_ID, PHONE_ID, WABA_ID

APP_SECRET = "whatsapp-app-secret-for-pau-tests"
VERIFY_TOKEN = "verify-me-please"
DATA_DIR = Path(__file__).resolve().parent / "data" / "whatsapp"
_numbers = itertools.count(1)


def recorded(name: str) -> dict[str, Any]:
    """A recorded payload, its messages' timestamps set to now (the window runs from them; the
    tests' fixed clock is earlier than now, so PAU takes the clock's time)."""
    data: dict[str, Any] = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    for entry in data["entry"]:
        for change in entry["changes"]:
            for found in change["value"].get("messages", []):
                found["timestamp"] = _now()
    return data


def _now() -> str:
    return str(int(time.time()))


def new_wamid() -> str:
    return f"wamid.TEST{next(_numbers):08d}"


def _value(**lists: Any) -> dict[str, Any]:
    meta = {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID}
    return {"messaging_product": "whatsapp", "metadata": meta, **lists}


def delivery(*values: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    """A webhook delivery: the values as changes of `entries` entries (spread round-robin)."""
    entry_list: list[dict[str, Any]] = [{"id": WABA_ID, "changes": []} for _ in range(entries)]
    for number, value in enumerate(values):
        entry_list[number % entries]["changes"].append({"field": "messages", "value": value})
    return {"object": "whatsapp_business_account", "entry": entry_list}


def contact(user_id: str = LEARNER_USER_ID, wa_id: str | None = LEARNER_WA_ID) -> dict[str, Any]:
    found: dict[str, Any] = {"profile": {"name": "Ada"}, "user_id": user_id}
    if wa_id:
        found["wa_id"] = wa_id
    return found


def message(
    kind: str = "text", *, text: str = "hi", choice: str = "", title: str = "",
    wamid: str | None = None, user_id: str = LEARNER_USER_ID, wa_id: str | None = LEARNER_WA_ID,
) -> dict[str, Any]:  # fmt: skip
    """One message object: text, button (a reply button), list (a list row), template (a
    template's quick-reply button), image, sticker, voice, location, reaction..."""
    found: dict[str, Any] = {"from_user_id": user_id, "id": wamid or new_wamid(),
                             "timestamp": _now()}  # fmt: skip
    if wa_id:
        found["from"] = wa_id
    context = {"from": "15550783881", "id": "wamid.PREVIOUS"}
    if kind == "text":
        found.update(type="text", text={"body": text})
    elif kind == "button":
        reply = {"type": "button_reply", "button_reply": {"id": choice, "title": title or choice}}
        found.update(type="interactive", interactive=reply, context=context)
    elif kind == "list":
        row = {"id": choice, "title": title or choice[:24], "description": ""}
        found.update(type="interactive", interactive={"type": "list_reply", "list_reply": row},
                     context=context)  # fmt: skip
    elif kind == "template":
        found.update(type="button", button={"payload": choice, "text": title or choice},
                     context=context)  # fmt: skip
    elif kind == "reaction":
        found.update(type="reaction", reaction={"message_id": "wamid.PREVIOUS", "emoji": "👍"})
    elif kind == "location":
        found.update(type="location", location={"latitude": 51.5, "longitude": -0.12})
    elif kind == "contacts":
        found.update(type="contacts", contacts=[{"name": {"formatted_name": "Bo"}, "phones": []}])
    else:  # media, as Meta sends it
        media = {"id": "media-1", "mime_type": "image/jpeg", "sha256": "c2hhMjU2"}
        found.update(
            type=kind, **{kind: {**media, **({"animated": False} if kind == "sticker" else {})}}
        )
    return found


def messages_value(*found: dict[str, Any], with_contact: bool = True) -> dict[str, Any]:
    contacts = [contact(m.get("from_user_id", ""), m.get("from")) for m in found]
    unique = list({c["user_id"]: c for c in contacts}.values())
    return (
        _value(contacts=unique, messages=list(found))
        if with_contact
        else _value(messages=list(found))
    )


def status(
    wamid: str, state: str, *, code: int | None = None, user_id: str = LEARNER_USER_ID
) -> dict[str, Any]:
    found: dict[str, Any] = {"id": wamid, "status": state, "timestamp": "1764579600",
                             "recipient_id": LEARNER_WA_ID, "recipient_user_id": user_id}  # fmt: skip
    if code is not None:
        found["errors"] = [{"code": code, "title": "error", "message": "error",
                            "error_data": {"details": "from the tests"}}]  # fmt: skip
    return found


def statuses_value(*found: dict[str, Any]) -> dict[str, Any]:
    return _value(statuses=list(found))


def text_delivery(text: str, **options: Any) -> dict[str, Any]:
    return delivery(messages_value(message("text", text=text, **options)))


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encoded(payload: Any) -> bytes:
    return json.dumps(copy.deepcopy(payload)).encode()
