"""Small per-channel records: quiz polls we sent, and learners who blocked the bot."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.db import to_db
from storage.models import Learner, SentPoll
from storage.outbox import mark_unreachable


def remember_poll(
    session: Session, *, poll_id: str, channel: str, address: str, item_id: str, now: datetime
) -> None:
    learner_id = session.exec(
        select(Learner.id).where(Learner.channel == channel, Learner.external_id == address)
    ).first()
    if learner_id is None or session.get(SentPoll, poll_id) is not None:
        return
    session.add(SentPoll(poll_id=poll_id, channel=channel, learner_id=learner_id, item_id=item_id,
                         created_at=to_db(now)))  # fmt: skip


def poll_item(session: Session, *, poll_id: str) -> str | None:
    poll = session.get(SentPoll, poll_id)
    return poll.item_id if poll else None


def set_reachable(session: Session, *, channel: str, address: str, reachable: bool) -> None:
    """The learner blocked (or unblocked) the bot: no more sends (what is queued is failed), or
    sends again."""
    learner_id = session.exec(
        select(Learner.id).where(Learner.channel == channel, Learner.external_id == address)
    ).first()
    if learner_id is None:
        return
    if reachable:
        session.execute(
            sa.update(Learner).where(col(Learner.id) == learner_id).values(unreachable=False)
        )
    else:
        mark_unreachable(session, learner_id=learner_id, error="the learner blocked the bot")
