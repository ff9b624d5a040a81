"""The outbox: replies in order per address, claimed with a lease so workers never double-send."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.ports import Address, OutgoingMessage
from core.replies import reply_from_dict
from storage.db import to_db
from storage.models import Learner, OutboxMessage


class SqlOutbox:
    """Implements core.ports.Outbox on a session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[OutgoingMessage]:
        """The oldest pending message of each address, if due and not leased by another worker."""
        moment = to_db(now)
        earlier = sa.orm.aliased(OutboxMessage)
        head_of_address = (
            select(sa.func.min(earlier.id))
            .where(
                earlier.channel == OutboxMessage.channel,
                earlier.address == OutboxMessage.address,
                earlier.status == "pending",
            )
            .scalar_subquery()
        )
        candidates = self.session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                col(OutboxMessage.next_attempt_at) <= moment,
                sa.or_(
                    col(OutboxMessage.lease_until).is_(None),
                    col(OutboxMessage.lease_until) < moment,
                ),
                col(OutboxMessage.id) == head_of_address,
            )
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        ).all()
        lease = to_db(now + timedelta(seconds=lease_seconds))
        claimed = []
        for row in candidates:
            result = self.session.execute(
                sa.update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row.id,
                    col(OutboxMessage.status) == "pending",
                    sa.or_(
                        col(OutboxMessage.lease_until).is_(None),
                        col(OutboxMessage.lease_until) < moment,
                    ),
                )
                .values(lease_until=lease)
            )
            if result.rowcount == 1 and row.id is not None:  # type: ignore[attr-defined]
                claimed.append(
                    OutgoingMessage(
                        row.id, row.learner_id, Address(row.channel, row.address),
                        reply_from_dict(row.payload), row.attempts,
                    )
                )  # fmt: skip
        return claimed

    def mark_sent(self, message_id: int, now: datetime) -> None:
        row = self.session.get(OutboxMessage, message_id)
        if row is None:
            return
        if row.learner_id is None:  # a goodbye after a delete: keep nothing
            self.session.delete(row)
            return
        row.status, row.sent_at, row.lease_until = "sent", to_db(now), None
        row.attempts += 1
        self.session.add(row)

    def mark_retry(self, message_id: int, next_attempt_at: datetime, error: str) -> None:
        self.session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=to_db(next_attempt_at),
                lease_until=None,
                last_error=error[:500],
            )
        )

    def mark_failed(self, message_id: int, error: str) -> None:
        self.session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(
                status="failed",
                attempts=OutboxMessage.attempts + 1,
                lease_until=None,
                last_error=error[:500],
            )
        )

    def mark_unreachable(self, learner_id: int, error: str) -> None:
        """The learner blocked us: fail everything still queued for them and stop nudges."""
        self.session.execute(
            sa.update(OutboxMessage)
            .where(
                col(OutboxMessage.learner_id) == learner_id, col(OutboxMessage.status) == "pending"
            )
            .values(status="failed", lease_until=None, last_error=error[:500])
        )
        self.session.execute(
            sa.update(Learner).where(col(Learner.id) == learner_id).values(unreachable=True)
        )

    def pending_count(self) -> int:
        return int(
            self.session.exec(
                select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            ).one()
        )
