"""GET /metrics for Prometheus: HTTP metrics from prometheus-fastapi-instrumentator, PAU's own
counters from prometheus-client, and gauges read from the database at scrape time.

Counted by each process (with several, see "Several processes" below):

    pau_deliveries_total{channel, outcome}   sent | retried | failed | unreachable |
        outcome_unknown (timed out after the request went out) |
        possible_duplicate (a message sent again after an unknown outcome) |
        unrecorded (sent, but its outcome could not be written: it will go again)
    pau_inbound_total{channel, result}       stored | duplicate | refused
    pau_events_processed_total{kind}         learners' events processed and committed, per
        event kind (text, choice, nudge, graded, mentor_replied, ...: core.events.EventKind)
    pau_command_seconds{kind, outcome}       histogram: a command try's start to its outcome
        stored, per command kind (grade_explanation, render_chart, ...) and outcome: done |
        retried (an error, tried again later) | timeout (timed out, tried again later) |
        failed (the last try: command_failed stored) | unsettled (its outcome could not be
        stored: the lease runs out and it is tried again)
    pau_nudges_total{kind}                   nudges QUEUED by the sweep (daily, reviews, ...)
    pau_nudges_sent_total{kind, outcome}     nudges the dialogue then sent (outcome "sent") or
        dropped on its re-check ("dropped": the learner wrote, paused or changed hours since)
    pau_nudge_looks_total                    learners the sweep looked at (due or not)

Read from the shared database at each scrape (a few aggregate queries on indexes, within
SCRAPE_BUDGET_SECONDS; if the database fails they are left out, logged once, and the rest of
/metrics still answers):

    pau_outbox_backlog{channel}              replies waiting to go out (status pending)
    pau_outbox_oldest_seconds{channel}       age of the oldest of them (0: none waiting)
    pau_escalations_open                     escalations not resolved (open, claimed, answered)
    pau_escalations_urgent_open              ... of which urgent
    pau_escalations_oldest_seconds           age of the oldest of them (0: none)

Several processes: set PROMETHEUS_MULTIPROC_DIR for all of them (one directory, emptied when the
whole set starts, never by a process of it: that would erase the others' counts). Each process
writes its counters there; /metrics adds them all up (prometheus_client's MultiProcessCollector,
a process that exited included, so totals never go backwards) and appends the database gauges
once. They are not prometheus Gauges, so nothing is summed over processes wrongly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from sqlalchemy.engine import Engine

from core.events import EventKind, InboundEvent
from core.logs import failure
from storage.db import from_db, reading
from storage.escalations import OPEN_STATUSES  # all but resolved: ix_escalation_inbox
from storage.models import Escalation, OutboxMessage

if TYPE_CHECKING:
    from webhooks.container import Pau

log = logging.getLogger(__name__)
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if MULTIPROCESS_DIR:  # each metric opens its file there as it is made: the folder must exist
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)

SCRAPE_BUDGET_SECONDS = 2.0
COMMAND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)

DELIVERIES = Counter(
    "pau_deliveries", "Outcomes of sending replies, per channel", ["channel", "outcome"]
)
INBOUND = Counter(
    "pau_inbound", "Platform messages received, per channel and result", ["channel", "result"]
)
EVENTS = Counter("pau_events_processed", "Learners' events processed, per event kind", ["kind"])
COMMAND_SECONDS = Histogram(
    "pau_command_seconds",
    "Commands' tries, start to outcome stored, per command kind and outcome",
    ["kind", "outcome"],
    buckets=COMMAND_BUCKETS,
)

NUDGES = Counter("pau_nudges", "Nudges queued by the sweep, per kind", ["kind"])
NUDGE_LOOKS = Counter("pau_nudge_looks", "Learners the nudge sweep looked at")
NUDGES_SENT = Counter(
    "pau_nudges_sent", "Nudges the dialogue sent (or dropped on its re-check), per kind",
    ["kind", "outcome"],
)  # fmt: skip


def count_nudges(looked_at: int, queued_kinds: list[str]) -> None:
    NUDGE_LOOKS.inc(looked_at)
    for kind in queued_kinds:
        NUDGES.labels(kind=kind).inc()


def count_delivery(channel: str, outcome: str) -> None:
    DELIVERIES.labels(channel=channel, outcome=outcome).inc()


def count_inbound(channel: str, result: str, count: int = 1) -> None:
    if count:
        INBOUND.labels(channel=channel, result=result).inc(count)


def count_event(event: InboundEvent, replied: bool) -> None:
    """The runner's observer: one event processed and committed; for a nudge, whether it went
    out (the step re-checks the rules: the learner may have written or paused since the sweep)."""
    EVENTS.labels(kind=event.kind.value).inc()
    if event.kind is EventKind.NUDGE:
        kind = str(event.data.get("nudge", "unknown"))
        NUDGES_SENT.labels(kind=kind, outcome="sent" if replied else "dropped").inc()


def observe_command(kind: str, seconds: float, outcome: str) -> None:
    """The command worker's observer: one try settled."""
    COMMAND_SECONDS.labels(kind=kind, outcome=outcome).observe(seconds)


class DatabaseGauges(Collector):
    """The outbox backlog and the open escalations, read from the database when scraped (the
    same figures whichever process answers)."""

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], channels: Collection[str] = ()
    ) -> None:
        self.engine, self.clock, self.channels = engine, clock, channels

    def collect(self) -> Iterator[Metric]:
        try:
            backlog, oldest, escalations = self._read()
        except Exception as error:  # the database is away: these are left out, the rest answers
            _database_failed(error)
            return
        _database_answered()
        now = self.clock()
        waiting = GaugeMetricFamily(
            "pau_outbox_backlog", "Replies waiting to go out, per channel", labels=["channel"]
        )
        age = GaugeMetricFamily(
            "pau_outbox_oldest_seconds",
            "Age of the oldest reply waiting to go out, per channel",
            labels=["channel"],
        )
        for channel in sorted({*self.channels, *backlog}):
            waiting.add_metric([channel], backlog.get(channel, 0))
            age.add_metric([channel], _age(now, oldest.get(channel)))
        count, urgent, oldest_open = escalations
        yield waiting
        yield age
        yield GaugeMetricFamily("pau_escalations_open", "Escalations not resolved yet", value=count)
        yield GaugeMetricFamily(
            "pau_escalations_urgent_open", "Urgent escalations not resolved yet", value=urgent
        )
        yield GaugeMetricFamily(
            "pau_escalations_oldest_seconds",
            "Age of the oldest escalation not resolved yet",
            value=_age(now, oldest_open),
        )

    def _read(
        self,
    ) -> tuple[dict[str, int], dict[str, datetime], tuple[int, int, datetime | None]]:
        outbox, escalation = OutboxMessage.__table__.c, Escalation.__table__.c
        with reading(self.engine) as connection:  # no write lock taken, never waits on writers
            if self.engine.dialect.name == "postgresql":  # a slow scrape gives up, never piles up
                milliseconds = int(SCRAPE_BUDGET_SECONDS * 1000)
                connection.execute(sa.text(f"SET LOCAL statement_timeout = {milliseconds}"))
            pending = outbox.status == "pending"
            backlog = {  # ix_outbox_due (status, channel, ...): counted on the index alone
                channel: count
                for channel, count in connection.execute(
                    sa.select(outbox.channel, sa.func.count())
                    .where(pending)
                    .group_by(outbox.channel)
                )
            }
            oldest = {}
            for channel in backlog:  # ix_outbox_settled (status, created_at): the first one found
                first = connection.execute(
                    sa.select(outbox.created_at)
                    .where(pending, outbox.channel == channel)
                    .order_by(outbox.created_at)
                    .limit(1)
                ).scalar()
                if first is not None:
                    oldest[channel] = first
            count, urgent, oldest_open = connection.execute(  # ix_escalation_inbox alone
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(sa.case((escalation.urgent, 1), else_=0)), 0),
                    sa.func.min(escalation.created_at),
                ).where(escalation.status.in_(OPEN_STATUSES))
            ).one()
        return backlog, oldest, (int(count), int(urgent), oldest_open)


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - from_db(since)).total_seconds()) if since is not None else 0.0


_database_failing = False  # log the first failed scrape of a run of them, not every one


def _database_failed(error: Exception) -> None:
    global _database_failing
    if not _database_failing:
        failure(log, "metrics from the database", error=error, next="left out until it answers")
    _database_failing = True


def _database_answered() -> None:
    global _database_failing
    _database_failing = False


def _counted() -> CollectorRegistry:
    """This process's metrics, or with PROMETHEUS_MULTIPROC_DIR every process's, added up."""
    if not MULTIPROCESS_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROCESS_DIR)
    return registry


def scrape(pau: Pau | None) -> bytes:
    """The text of GET /metrics: the counted metrics, then the database gauges once."""
    text = generate_latest(_counted())
    if pau is None:
        return text
    gauges = CollectorRegistry()
    gauges.register(DatabaseGauges(pau.engine, pau.clock, channels=pau.senders.keys()))
    return text + generate_latest(gauges)


def expose(app: FastAPI) -> None:
    """Instrument the app's requests and serve /metrics (ours, not the instrumentator's, so the
    database gauges go in exactly once in either mode)."""
    Instrumentator(excluded_handlers=["/metrics", "/healthz"]).instrument(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:  # a thread of its own: the queries never block
        body = scrape(getattr(request.app.state, "pau", None))
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def process_exiting() -> None:
    """At a process's end (with PROMETHEUS_MULTIPROC_DIR): drop its live gauges' files; its
    counters stay in the sum."""
    if MULTIPROCESS_DIR:
        multiprocess.mark_process_dead(os.getpid(), MULTIPROCESS_DIR)
