"""The outbox: replies in order per address, claimed with a lease so workers never double-send."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

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

    def claim_due(
        self, now: datetime, limit: int, lease_seconds: float, channels: Collection[str]
    ) -> list[OutgoingMessage]:
        """The oldest pending message of each address on `channels`, if due and not leased."""
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
        lease_free = sa.or_(
            col(OutboxMessage.lease_until).is_(None), col(OutboxMessage.lease_until) < moment
        )
        candidates = self.session.exec(
            select(OutboxMessage)
            .outerjoin(Learner, col(Learner.id) == col(OutboxMessage.learner_id))
            .where(
                # nothing goes to a learner who blocked the bot (their rows are failed as
                # soon as we learn it; this guards the moment in between)
                sa.or_(col(Learner.id).is_(None), sa.not_(col(Learner.unreachable))),
                col(OutboxMessage.status) == "pending",
                col(OutboxMessage.channel).in_(list(channels)),
                col(OutboxMessage.next_attempt_at) <= moment,
                lease_free,
                col(OutboxMessage.id) == head_of_address,
            )
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        ).all()
        lease = to_db(now + timedelta(seconds=lease_seconds))
        claimed = []
        for row in candidates:
            # a lease that ran out unsettled: its worker died, perhaps after sending
            abandoned = row.lease_until is not None
            claim = uuid.uuid4().hex
            result = self.session.execute(
                sa.update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row.id,
                    col(OutboxMessage.status) == "pending",
                    lease_free,
                )
                .values(lease_until=lease, claim=claim)
            )
            if result.rowcount == 1 and row.id is not None:  # type: ignore[attr-defined]
                claimed.append(
                    OutgoingMessage(
                        row.id, row.learner_id, Address(row.channel, row.address),
                        reply_from_dict(row.payload), row.attempts, lease,
                        row.outcome_unknown or abandoned, claim,
                    )
                )  # fmt: skip
        return claimed

    def _still_ours(self, message: OutgoingMessage) -> Any:
        """Only the worker that holds the claim may renew or settle a message (a send whose
        lease ran out must not overwrite what the next worker did)."""
        return sa.and_(
            col(OutboxMessage.id) == message.id,
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.claim) == message.claim,
        )

    def renew(self, messages: Collection[OutgoingMessage], until: datetime) -> None:
        """Keep the claims of sends still in flight."""
        for message in messages:
            self.session.execute(
                sa.update(OutboxMessage)
                .where(self._still_ours(message))
                .values(lease_until=to_db(until))
            )

    def mark_sent(
        self, message: OutgoingMessage, now: datetime, platform_message_id: str | None = None
    ) -> None:
        if message.learner_id is None:  # a goodbye after a delete: keep nothing
            self.session.execute(sa.delete(OutboxMessage).where(self._still_ours(message)))
            return
        self.session.execute(
            sa.update(OutboxMessage)
            .where(self._still_ours(message))
            .values(
                status="sent",
                sent_at=to_db(now),
                lease_until=None,
                claim=None,
                attempts=OutboxMessage.attempts + 1,
                platform_message_id=platform_message_id,
            )
        )

    def mark_held(self, message: OutgoingMessage, reason: str) -> None:
        self.session.execute(
            sa.update(OutboxMessage)
            .where(self._still_ours(message))
            .values(status="held", lease_until=None, claim=None, last_error=reason[:500])
        )

    def mark_retry(
        self, message: OutgoingMessage, next_attempt_at: datetime, error: str,
        *, outcome_unknown: bool = False,
    ) -> None:  # fmt: skip
        self.session.execute(
            sa.update(OutboxMessage)
            .where(self._still_ours(message))
            .values(
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=to_db(next_attempt_at),
                lease_until=None,
                claim=None,
                last_error=error[:500],
                outcome_unknown=outcome_unknown,
            )
        )

    def mark_failed(self, message: OutgoingMessage, error: str) -> None:
        if message.learner_id is None:  # a goodbye after a delete: keep nothing, sent or not
            self.session.execute(sa.delete(OutboxMessage).where(self._still_ours(message)))
            return
        self.session.execute(
            sa.update(OutboxMessage)
            .where(self._still_ours(message))
            .values(
                status="failed",
                attempts=OutboxMessage.attempts + 1,
                lease_until=None,
                claim=None,
                last_error=error[:500],
            )
        )

    def mark_unreachable(self, learner_id: int, error: str) -> None:
        """The learner blocked us: fail everything still queued for them and stop nudges."""
        mark_unreachable(self.session, learner_id=learner_id, error=error)


def mark_unreachable(session: Session, *, learner_id: int, error: str) -> None:
    session.execute(
        sa.update(OutboxMessage)
        .where(col(OutboxMessage.learner_id) == learner_id, col(OutboxMessage.status) == "pending")
        .values(status="failed", lease_until=None, claim=None, last_error=error[:500])
    )
    session.execute(
        sa.update(Learner).where(col(Learner.id) == learner_id).values(unreachable=True)
    )
