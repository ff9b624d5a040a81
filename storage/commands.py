"""The command table: claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, a conditional
update on both), settled only by the lease holder, the result stored as an internal event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.commands import CommandKind
from core.events import EventKind, InboundEvent
from core.ports import PendingCommand
from storage.db import to_db
from storage.learner_store import ingest_internal
from storage.models import CommandRecord


def result_key(command_id: int) -> str:
    """The dedupe key of a command's one result event."""
    return f"command:{command_id}"


class SqlCommandQueue:
    """Implements core.ports.CommandQueue on a session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(
        self, kind: CommandKind, now: datetime, limit: int, lease_seconds: float
    ) -> list[PendingCommand]:
        moment = to_db(now)
        lease_free = sa.or_(
            col(CommandRecord.lease_until).is_(None), col(CommandRecord.lease_until) < moment
        )
        due = sa.and_(
            col(CommandRecord.status) == "pending",
            col(CommandRecord.kind) == kind.value,
            col(CommandRecord.available_at) <= moment,
            lease_free,
        )
        rows = self.session.exec(
            select(CommandRecord)
            .where(due)
            .order_by(col(CommandRecord.available_at), col(CommandRecord.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        lease = to_db(now + timedelta(seconds=lease_seconds))
        claimed = []
        for row in rows:
            taken = self.session.execute(
                sa.update(CommandRecord)
                .where(col(CommandRecord.id) == row.id, due)
                .values(lease_until=lease)
            )
            if taken.rowcount == 1 and row.id is not None:  # type: ignore[attr-defined]
                pending = PendingCommand(
                    row.id, row.learner_id, kind, dict(row.args), row.ref, row.attempts, lease
                )
                claimed.append(pending)
        return claimed

    def _still_ours(self, command: PendingCommand) -> Any:
        return sa.and_(
            col(CommandRecord.id) == command.id,
            col(CommandRecord.status) == "pending",
            col(CommandRecord.lease_until) == to_db(command.lease),
        )

    def finish(self, command: PendingCommand, result: InboundEvent, now: datetime) -> bool:
        failed = result.kind is EventKind.COMMAND_FAILED
        settled = self.session.execute(
            sa.update(CommandRecord)
            .where(self._still_ours(command))
            .values(
                status="failed" if failed else "done",
                attempts=CommandRecord.attempts + 1,
                args={},  # the learner's text is not kept past its use
                lease_until=None,
                finished_at=to_db(now),
                last_error=str(result.data.get("reason", ""))[:500] if failed else None,
            )
        )
        if settled.rowcount != 1:  # type: ignore[attr-defined]
            return False  # our lease ran out and another worker took it (or the learner left)
        ingest_internal(self.session, learner_id=command.learner_id,
                        key=result_key(command.id), event=result, now=now)  # fmt: skip
        return True

    def retry(self, command: PendingCommand, at: datetime, error: str) -> None:
        self.session.execute(
            sa.update(CommandRecord)
            .where(self._still_ours(command))
            .values(
                attempts=CommandRecord.attempts + 1,
                available_at=to_db(at),
                lease_until=None,
                last_error=error[:500],
            )
        )
