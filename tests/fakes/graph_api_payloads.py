"""Status webhooks of Meta's shape for the fake Graph API's tests and the webhook tests, and the
identities they carry (tests/fakes/graph_api.py re-exports all of it).

With business-scoped user ids (Meta's BSUIDs), a "sent", "delivered" or "read" status carries a
``contacts`` entry (``user_id``, and ``wa_id`` when Meta shares the phone number) and the status
itself ``recipient_id`` (the phone number, when known) and ``recipient_user_id``; a "failed" one
carries ``errors[]`` and no ``contacts``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from tests.fakes.graph_api_rules import meta_error

PHONE_ID = "1234567890"
WABA_ID = "102290129340398"
DISPLAY_PHONE_NUMBER = "15550783881"
LEARNER_USER_ID = "US.13491208655302741918"  # the fake learner's business-scoped user id
LEARNER_WA_ID = "16315551181"  # and phone number, where a payload carries one
BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?\d+")


def status_payload(
    wamid: str, recipient: str, status: str, *, phone_id: str = PHONE_ID,
    wa_id: str | None = None, timestamp: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A "sent", "delivered" or "read" status webhook for ``wamid`` as Meta sends it: the
    ``contacts`` entry (``user_id``, and ``wa_id`` when a phone number is known) and one status
    with ``recipient_id`` (the phone number, when known) and ``recipient_user_id`` (the user id,
    when the message went to one) and the per-message pricing."""
    user_id, phone = _identities(recipient, wa_id)
    contact = {"user_id": user_id} if user_id else {}
    if phone:
        contact["wa_id"] = phone
    entry = _status(wamid, status, user_id, phone, timestamp)
    entry["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular",
                        "category": "service"}  # fmt: skip
    return _webhook(phone_id, [entry], contacts=[contact])


def failed_status_payload(
    wamid: str, recipient: str, code: int = 131047, *, phone_id: str = PHONE_ID,
    wa_id: str | None = None, timestamp: int | None = None, with_contacts: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """A "failed" status webhook with the error ``code`` in ``errors[]``. Meta leaves the
    ``contacts`` array out of failed statuses, and pywa 4.5's MessageStatus needs it (KeyError):
    ``with_contacts=True`` adds it, for code that parses with pywa."""
    user_id, phone = _identities(recipient, wa_id)
    entry = _status(wamid, "failed", user_id, phone, timestamp)
    error = meta_error(code).body["error"]
    entry["errors"] = [{
        "code": code, "title": error["message"].split(") ", 1)[-1], "message": error["message"],
        "error_data": {"details": error["error_data"]["details"]},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }]  # fmt: skip
    contacts = None
    if with_contacts:
        contacts = [{k: v for k, v in (("user_id", user_id), ("wa_id", phone)) if v}]
    return _webhook(phone_id, [entry], contacts=contacts)


def _identities(recipient: str, wa_id: str | None) -> tuple[str | None, str | None]:
    if BSUID.fullmatch(recipient):
        return recipient, wa_id
    return None, wa_id or re.sub(r"\D", "", recipient)


def _status(
    wamid: str, status: str, user_id: str | None, phone: str | None, timestamp: int | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": wamid, "status": status,
                             "timestamp": str(timestamp or int(time.time()))}  # fmt: skip
    if phone:
        entry["recipient_id"] = phone
    if user_id:
        entry["recipient_user_id"] = user_id
    return entry


def _webhook(
    phone_id: str, statuses: list[dict[str, Any]], *, contacts: list[dict[str, Any]] | None
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_id},
    }
    if contacts is not None:
        value["contacts"] = contacts
    value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }
