"""The WhatsApp channel, wired: the sender (bot/whatsapp.py) with the 24-hour window read from
storage, and the intake that turns stored webhook items into events and delivery statuses.

Intake runs in the work job, before events are processed: each item is parsed with pywa, then
stored as the learner's event (deduplicated again on the wamid) or applied to the outbox row it
is about, and emptied, in one transaction. An item pywa cannot read, or one without the
business-scoped user id, is set aside with its reason and logged, never dropped silently.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.whatsapp import WhatsAppClient, WhatsAppSender, make_client
from bot.whatsapp_templates import RECONNECT, TemplateKind, load_templates
from bot.whatsapp_updates import (
    CHANNEL,
    USER_ID,
    Item,
    WhatsAppInbound,
    WhatsAppStatus,
    parse_item,
    user_id_of,
)
from core.errors import ConfigurationError
from core.logs import failure
from core.replies import Reply
from storage import learner_store
from storage.db import reading, transaction
from storage.webhook_items import (
    finish_item,
    knock_waiting,
    last_message_ref,
    note_sender,
    note_status,
    unprocessed,
    window_open,
)
from webhooks.container import Pau

log = logging.getLogger(__name__)
INTAKE_BATCH = 200


class WhatsAppChannel:
    def __init__(
        self, pau: Pau, client: WhatsAppClient, templates: dict[str, TemplateKind]
    ) -> None:
        self.pau = pau
        self.client = client  # pywa's client: parses stored items, and sends (the sender)
        self.templates = templates
        self.batch = INTAKE_BATCH
        settings = pau.settings
        self.sender = WhatsAppSender(
            client, self.window_open, overall_per_second=settings.whatsapp_rate,
            per_recipient_per_second=settings.whatsapp_per_recipient_rate,
            last_message=self.last_message, templates=templates,
        )  # fmt: skip

    def window_open(self, address: str) -> bool:
        """Read without the write lock: the sender asks before each free-form message."""
        with reading(self.pau.engine) as session:
            return window_open(session, channel=CHANNEL, address=address, now=self.pau.clock())

    def last_message(self, address: str) -> str | None:
        """The learner's latest message: "typing…" is shown on it (grading, the tutor)."""
        with reading(self.pau.engine) as session:
            return last_message_ref(session, channel=CHANNEL, address=address)

    def knock(self, language: str) -> Reply:
        return self.templates[RECONNECT].for_language(language)

    async def mark_read_and_typing(self, wamid: str) -> None:
        """The learner sees their message read and PAU typing while the reply is prepared."""
        try:
            await self.sender.mark_read_and_typing(wamid)
        except Exception as error:  # cosmetic: never worth failing a delivery for
            failure(log, "marking a WhatsApp message read", error=error, level=logging.INFO)

    def intake(self) -> int:
        """Parse a batch of stored webhook items into events and statuses; how many."""
        pau = self.pau
        with transaction(pau.engine) as session:
            rows = unprocessed(session, channel=CHANNEL, limit=self.batch)
            for row in rows:
                assert row.id is not None
                item = Item(row.kind, row.dedupe_key, row.body)
                try:  # one item's failure (a value the database refuses) never stops the rest
                    with session.begin_nested():
                        error = self._take(session, item)
                except Exception as failed:  # anything pywa or storage raised: set aside
                    error = f"could not be taken in ({type(failed).__name__})"
                if error:
                    log.warning("WhatsApp item %s set aside: %s", row.id, error)
                finish_item(session, item_id=row.id, now=pau.clock(), error=error)
            knock_waiting(session, channel=CHANNEL, knock_for=self.knock, now=pau.clock())
        return len(rows)

    def _take(self, session: Any, item: Item) -> str | None:
        """Store one parsed item; the reason it was refused, or None."""
        if item.kind == "message" and not USER_ID.fullmatch(user_id_of(item.body)):
            return "no business-scoped user id (contacts[].user_id)"
        try:
            parsed = parse_item(self.client.wa, item)
        except (KeyError, ValueError, TypeError, IndexError) as error:
            return f"pywa could not read it ({type(error).__name__})"
        if isinstance(parsed, WhatsAppStatus):
            note_status(session, channel=CHANNEL, platform_message_id=parsed.message_id,
                        status=parsed.status, error_code=parsed.error_code,
                        now=self.pau.clock())  # fmt: skip
            return None
        if not isinstance(parsed, WhatsAppInbound):
            return None  # a reaction: ignored on purpose
        # the window runs from when the learner wrote (Meta may deliver it hours later)
        written = min(self.pau.clock(), parsed.at)
        ingested = learner_store.ingest(
            session, channel=CHANNEL, sender_id=parsed.sender_id,
            platform_message_id=parsed.message_id, event=parsed.event,
            received_at=written, secret=self.pau.settings.secret_key_bytes,
        )  # fmt: skip
        note_sender(session, learner_id=ingested.learner_id, phone=parsed.phone,
                    message_ref=parsed.message_id)  # fmt: skip
        return None

    async def stop(self) -> None:
        await self.sender.close()


def add_whatsapp(pau: Pau) -> None:
    """Turn the WhatsApp channel on when WHATSAPP_TOKEN is set (the phone id and the app secret
    must be set too)."""
    settings = pau.settings
    token, secret = settings.whatsapp_token, settings.whatsapp_app_secret
    if token is None or not token.get_secret_value():
        return
    missing = [name for name, value in (
        ("WHATSAPP_PHONE_ID", settings.whatsapp_phone_id),
        ("WHATSAPP_APP_SECRET", secret.get_secret_value() if secret else ""),
    ) if not value]  # fmt: skip
    if missing:  # without the secret no delivery could be checked: refuse to start half-way
        raise ConfigurationError(f"WHATSAPP_TOKEN is set; also set {' and '.join(missing)}")
    client = make_client(
        phone_id=settings.whatsapp_phone_id, token=token.get_secret_value(),
        api_version=settings.whatsapp_api_version, base_url=settings.whatsapp_api_base_url,
    )  # fmt: skip
    channel = WhatsAppChannel(pau, client, load_templates(settings.whatsapp_templates))
    pau.whatsapp = channel
    pau.senders[CHANNEL] = channel.sender
