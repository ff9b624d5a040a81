"""Webhook items stored raw (deduplicated) before they are parsed, and WhatsApp's channel state:
the phone number, the 24-hour window, the replies held until it opens, and delivery statuses.

Repositories take keyword arguments and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.replies import Reply, reply_to_dict
from storage.db import to_db
from storage.learner_store import _insert_ignoring_conflicts, dedupe_key, in_window
from storage.models import Learner, OutboxMessage, WebhookItem

WINDOW_CLOSED_CODE = 131047  # "re-engagement message": the window was closed after all
ITEM_TABLE: sa.Table = WebhookItem.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NewItem:
    kind: str  # message | status
    platform_id: str  # the wamid (and the status): hashed before it is stored
    body: dict[str, Any]


def store_items(
    session: Session, *, channel: str, items: Sequence[NewItem], now: datetime, secret: bytes
) -> tuple[int, int]:
    """Store each item once; (stored, duplicates). A redelivery is recognised by its id."""
    stored = 0
    for item in items:
        key = dedupe_key(secret, channel, item.platform_id)
        row = {"channel": channel, "dedupe_key": key, "kind": item.kind, "body": item.body,
               "received_at": to_db(now), "attempts": 0}  # fmt: skip
        stored += _insert_ignoring_conflicts(session, ITEM_TABLE, row) is not None
    return stored, len(items) - stored


def unprocessed(session: Session, *, channel: str, limit: int = 100) -> list[WebhookItem]:
    """Items not yet parsed, oldest first; on PostgreSQL rows another worker holds are skipped."""
    query = (
        select(WebhookItem)
        .where(col(WebhookItem.channel) == channel, col(WebhookItem.processed_at).is_(None))
        .order_by(col(WebhookItem.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query).all())


def finish_item(session: Session, *, item_id: int, now: datetime, error: str | None = None) -> None:
    """Parsed (or refused): the body is emptied, the dedupe key stays for redeliveries."""
    session.execute(
        sa.update(WebhookItem)
        .where(col(WebhookItem.id) == item_id)
        .values(processed_at=to_db(now), body={}, error=error[:500] if error else None)
    )


def note_sender(session: Session, *, learner_id: int, phone: str, message_ref: str) -> None:
    """The phone number, when WhatsApp sent one, and the learner's latest message (the typing
    indicator hangs on it)."""
    values: dict[str, Any] = {"last_message_ref": message_ref[:160]}
    if phone:
        values["phone"] = phone[:32]
    session.execute(sa.update(Learner).where(col(Learner.id) == learner_id).values(**values))


def last_message_ref(session: Session, *, channel: str, address: str) -> str | None:
    return session.exec(
        select(Learner.last_message_ref).where(
            col(Learner.channel) == channel, col(Learner.external_id) == address
        )
    ).first()


def window_open(session: Session, *, channel: str, address: str, now: datetime) -> bool:
    """Whether the learner wrote within 24 hours and WhatsApp has not said otherwise since."""
    row = session.exec(
        select(Learner.last_inbound_at, Learner.window_closed_at).where(
            col(Learner.channel) == channel, col(Learner.external_id) == address
        )
    ).first()
    if row is None:  # no learner any more: the goodbye after a delete, sent as they wrote
        return True
    return in_window(row[0], row[1], now)


def knock_waiting(
    session: Session, *, channel: str, knock_for: Callable[[str], Reply], now: datetime
) -> int:
    """Learners with replies held for the window and not yet asked to write get one approved
    template (in their language), until they write again."""
    waiting = session.exec(
        select(Learner)
        .where(
            col(Learner.channel) == channel,
            col(Learner.window_knocked_at).is_(None),
            sa.not_(col(Learner.unreachable)),
            sa.not_(col(Learner.stopped)),
            sa.exists().where(
                col(OutboxMessage.learner_id) == col(Learner.id),
                col(OutboxMessage.status) == "held",
            ),
        )
        .limit(500)
    ).all()
    asked = 0
    for learner in waiting:
        # a conditional update: of two workers looking at once, only one asks
        claimed = session.execute(
            sa.update(Learner)
            .where(col(Learner.id) == learner.id, col(Learner.window_knocked_at).is_(None))
            .values(window_knocked_at=to_db(now))
        )
        if not getattr(claimed, "rowcount", 0):
            continue
        asked += 1
        knock = reply_to_dict(knock_for(learner.language))
        session.add(
            OutboxMessage(
                learner_id=learner.id, channel=channel, address=learner.external_id,
                payload=knock, next_attempt_at=to_db(now), created_at=to_db(now),
            )
        )  # fmt: skip
    return asked


def note_status(
    session: Session, *, channel: str, platform_message_id: str, status: str,
    error_code: int | None, now: datetime,
) -> None:  # fmt: skip
    """A delivery status for a message PAU sent. Statuses arrive out of order: "read" is never
    undone by a late "delivered". A failed status for the window holds the message again (it
    goes when the learner writes; `knock_waiting` asks them to), unless the learner wrote since
    it was sent: then it simply goes again. A status never creates a learner."""
    row = session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.channel) == channel,
            col(OutboxMessage.platform_message_id) == platform_message_id,
        )
    ).first()
    if row is None:
        return
    row.platform_status = further(row.platform_status, status)
    learner = session.get(Learner, row.learner_id) if row.learner_id is not None else None
    if status == "failed" and error_code == WINDOW_CLOSED_CODE and learner is not None:
        last, sent = learner.last_inbound_at, row.sent_at
        if last is not None and sent is not None and last > sent:  # the window is open again
            row.status, row.next_attempt_at = "pending", to_db(now)
        else:
            learner.window_closed_at = to_db(now)
            session.add(learner)
            row.status, row.last_error = "held", "WhatsApp 131047: outside the 24-hour window"
    elif status == "failed":
        row.last_error = f"WhatsApp status failed ({error_code})"
    session.add(row)


STATUS_ORDER = ("sent", "delivered", "read")


def further(current: str | None, new: str) -> str:
    """The status to keep when `new` arrives: "read" is never undone by a late "delivered";
    "failed" always wins (the message did not arrive)."""
    if new == "failed" or current is None:
        return new
    if current == "failed":
        return current
    ranks = {name: rank for rank, name in enumerate(STATUS_ORDER)}
    return new if ranks.get(new, -1) > ranks.get(current, -1) else current
