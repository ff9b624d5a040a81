"""Housekeeping: processed inbound messages and sent replies are kept for a retention period only.

Long enough for platform redeliveries (WhatsApp retries for days) to be recognised, for an
export to show recent chat history and for a mentor to read the context; not forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from storage.db import to_db
from storage.models import CommandRecord, InboundMessage, OutboxMessage, WebhookItem

HELD_AT_MOST = timedelta(days=7)  # a reminder held longer than this is no news any more


def purge_old_messages(session: Session, *, now: datetime, keep_days: int) -> tuple[int, int]:
    """Delete processed inbound rows and settled outbox rows older than `keep_days`."""
    cutoff = to_db(now - timedelta(days=keep_days))
    inbound = session.execute(
        sa.delete(InboundMessage).where(
            col(InboundMessage.processed_at).is_not(None), col(InboundMessage.received_at) < cutoff
        )
    )
    outbox = session.execute(
        sa.delete(OutboxMessage).where(
            col(OutboxMessage.status).in_(["sent", "failed"]),
            col(OutboxMessage.created_at) < cutoff,
        )
    )
    session.execute(
        sa.delete(CommandRecord).where(
            col(CommandRecord.status).in_(["done", "failed"]),
            col(CommandRecord.created_at) < cutoff,
        )
    )
    session.execute(  # WhatsApp replies held for a window that never opened again: too late now
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.status) == "held",
               col(OutboxMessage.created_at) < to_db(now - HELD_AT_MOST))
        .values(status="failed", last_error="held for the 24-hour window too long")
    )  # fmt: skip
    session.execute(  # webhook items are empty once parsed; their keys catch redeliveries
        sa.delete(WebhookItem).where(
            col(WebhookItem.processed_at).is_not(None), col(WebhookItem.received_at) < cutoff
        )
    )
    return int(inbound.rowcount), int(outbox.rowcount)  # type: ignore[attr-defined]
