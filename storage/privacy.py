"""Erase everything about a learner; the tests scan every table after a delete.
(The export is storage/export.py.)"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col

from storage.models import (
    Activity,
    CommandRecord,
    Conversation,
    Enrollment,
    Escalation,
    InboundMessage,
    Learner,
    LlmUsageRecord,
    OutboxMessage,
    ReviewCardRecord,
    SentPoll,
)


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
                  CommandRecord, Escalation, LlmUsageRecord):  # fmt: skip
        session.execute(sa.delete(model).where(col(model.learner_id) == learner_id))
    session.execute(sa.delete(Learner).where(col(Learner.id) == learner_id))
