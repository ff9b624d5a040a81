"""Export everything about a learner, or erase it. The tests scan every table after a delete."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import (
    Activity,
    CommandRecord,
    Conversation,
    Enrollment,
    InboundMessage,
    Learner,
    OutboxMessage,
    ReviewCardRecord,
    SentPoll,
)


def _rows(session: Session, model: Any, learner_id: int) -> list[dict[str, Any]]:
    rows = session.exec(
        select(model).where(model.learner_id == learner_id).order_by(model.id)
    ).all()
    return [row.model_dump(mode="json") for row in rows]


def export_learner(session: Session, *, learner_id: int) -> dict[str, Any]:
    learner = session.get(Learner, learner_id)
    conversation = session.get(Conversation, learner_id)
    return {
        "learner": learner.model_dump(mode="json") if learner else None,
        "conversation": conversation.model_dump(mode="json") if conversation else None,
        "enrollments": _rows(session, Enrollment, learner_id),
        "activities": _rows(session, Activity, learner_id),
        "review_cards": [
            row.model_dump(mode="json")
            for row in session.exec(
                select(ReviewCardRecord).where(ReviewCardRecord.learner_id == learner_id)
            )
        ],
        "messages_received": _rows(session, InboundMessage, learner_id),
        "messages_sent": [
            _without_attachment(m) for m in _rows(session, OutboxMessage, learner_id)
        ],
        "work_in_progress": _rows(session, CommandRecord, learner_id),
    }


def _without_attachment(message: dict[str, Any]) -> dict[str, Any]:
    """A sent file or chart is listed, not repeated: old exports would nest in every new one."""
    payload = dict(message.get("payload") or {})
    for field in ("content", "png"):
        if field in payload:
            payload[field] = f"({len(payload[field]) * 3 // 4} bytes, not repeated here)"
    return {**message, "payload": payload}


def delete_learner(session: Session, *, learner_id: int) -> None:
    """Remove every personal row. Inbound dedupe keys stay (keyed hashes, with no sender, text or
    platform sequence) so a late redelivery is still recognised; pending events are dropped."""
    session.execute(
        sa.update(InboundMessage)
        .where(col(InboundMessage.learner_id) == learner_id)
        .values(
            learner_id=None,
            payload={},
            sequence=None,
            error=None,
            processed_at=sa.func.coalesce(InboundMessage.processed_at, InboundMessage.received_at),
        )
    )
    for model in (OutboxMessage, Activity, Enrollment, Conversation, ReviewCardRecord, SentPoll,
                  CommandRecord):  # fmt: skip
        session.execute(sa.delete(model).where(col(model.learner_id) == learner_id))
    session.execute(sa.delete(Learner).where(col(Learner.id) == learner_id))
