"""The tutor's token ledger and answer cache on the database (the ports in core/tutor/budget.py).

Both are given an engine and open their own short transactions: they are called from command
performers, around an LLM call, never inside another unit of work. Writes are single upserts
(INSERT ... ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike), so two workers recording at
once both count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from core.tutor.llm import LlmUsage
from storage.db import reading, to_db, transaction, utcnow
from storage.models import LlmAnswerCacheEntry, LlmUsageRecord

USAGE_TABLE: Any = LlmUsageRecord.__table__  # type: ignore[attr-defined]
CACHE_TABLE: Any = LlmAnswerCacheEntry.__table__  # type: ignore[attr-defined]

# A learner id below 1 is nobody: the CLI's calls (author drafts, batch grading) are recorded
# without a learner, and count towards the day's total only.
NO_LEARNER = 0


def _insert(session: Session) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert


class SqlUsageLedger:
    """Tokens per learner, UTC day and purpose (`UsageLedger`)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def spent(self, *, learner_id: int, day: date) -> tuple[int, int]:
        """Tokens (input + output) used that day: (by this learner, by everyone), one query."""
        used = USAGE_TABLE.c.input_tokens + USAGE_TABLE.c.output_tokens
        mine = sa.case((USAGE_TABLE.c.learner_id == learner_id, used), else_=0)
        query = sa.select(
            sa.func.coalesce(sa.func.sum(mine), 0), sa.func.coalesce(sa.func.sum(used), 0)
        ).where(USAGE_TABLE.c.day == day)
        with reading(self._engine) as session:
            by_learner, overall = session.execute(query).one()
        return int(by_learner), int(overall)

    def record(self, *, learner_id: int, day: date, purpose: str, usage: LlmUsage) -> None:
        """Add one call's tokens to the learner's row for the day and purpose."""
        learner = learner_id if learner_id > NO_LEARNER else None
        row = {
            "learner_id": learner,
            "day": day,
            "purpose": purpose[:16],
            "calls": 1,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens,
        }
        with transaction(self._engine) as session:
            statement = _insert(session)(USAGE_TABLE).values(row)
            added = statement.excluded
            increments = {
                name: USAGE_TABLE.c[name] + added[name]
                for name in ("calls", "input_tokens", "output_tokens", "cached_tokens")
            }
            if learner is None:
                statement = statement.on_conflict_do_update(
                    index_elements=["day", "purpose"],
                    index_where=USAGE_TABLE.c.learner_id.is_(None),
                    set_=increments,
                )
            else:
                statement = statement.on_conflict_do_update(
                    index_elements=["learner_id", "day", "purpose"], set_=increments
                )
            session.execute(statement)

    def usage_of(self, *, learner_id: int) -> list[dict[str, Any]]:
        """One learner's rows, oldest day first (see `learner_usage`)."""
        with reading(self._engine) as session:
            return learner_usage(session, learner_id=learner_id)


def learner_usage(session: Session, *, learner_id: int) -> list[dict[str, Any]]:
    """One learner's token use, JSON-able, oldest day first: {day (ISO date), purpose, calls,
    input_tokens, output_tokens, cached_tokens} (for the export and the admin page)."""
    query = (
        sa.select(LlmUsageRecord)
        .where(col(LlmUsageRecord.learner_id) == learner_id)
        .order_by(col(LlmUsageRecord.day), col(LlmUsageRecord.purpose))
    )
    rows = session.execute(query).scalars().all()
    return [
        {**row.model_dump(exclude={"id", "learner_id", "day"}), "day": row.day.isoformat()}
        for row in rows
    ]


class SqlAnswerCache:
    """Checked answers by cache key (`AnswerCache`), each kept `ttl_days` from when it was put.
    A get that finds one counts a hit; a put replaces the text and restarts the clock."""

    def __init__(
        self, engine: Engine, *, ttl_days: int = 30, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._engine = engine
        self._ttl = timedelta(days=ttl_days)
        self._clock = clock

    def _fresh_since(self) -> datetime:
        return to_db(self._clock()) - self._ttl

    def get(self, key: str) -> str | None:
        """The cached text, or None if there is none or it expired."""
        # looked up without the write lock: most lookups of a new question miss
        with reading(self._engine) as session:
            found = session.execute(
                sa.select(CACHE_TABLE.c.text).where(
                    CACHE_TABLE.c.key == key, CACHE_TABLE.c.created_at >= self._fresh_since()
                )
            ).first()
        if found is None:
            return None
        with transaction(self._engine) as session:
            session.execute(
                sa.update(CACHE_TABLE)
                .where(CACHE_TABLE.c.key == key)
                .values(hits=CACHE_TABLE.c.hits + 1)
            )
        return str(found[0])

    def put(self, key: str, text: str) -> None:
        """Store (or replace) the answer for the key."""
        row = {"key": key, "text": text, "created_at": to_db(self._clock()), "hits": 0}
        with transaction(self._engine) as session:
            statement = _insert(session)(CACHE_TABLE).values(row)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["key"],
                    set_={
                        "text": statement.excluded.text,
                        "created_at": statement.excluded.created_at,
                        "hits": 0,
                    },
                )
            )

    def hits(self, key: str) -> int:
        """How often the entry was served (0 if there is none)."""
        with reading(self._engine) as session:
            found = session.execute(
                sa.select(CACHE_TABLE.c.hits).where(CACHE_TABLE.c.key == key)
            ).first()
        return int(found[0]) if found else 0

    def purge_expired(self) -> int:
        """Delete the expired entries; how many went (for housekeeping)."""
        with transaction(self._engine) as session:
            result = session.execute(
                sa.delete(CACHE_TABLE).where(CACHE_TABLE.c.created_at < self._fresh_since())
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
