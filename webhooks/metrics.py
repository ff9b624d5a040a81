"""GET /metrics for Prometheus: HTTP metrics from prometheus-fastapi-instrumentator, PAU's own
counters from prometheus-client. With several processes set PROMETHEUS_MULTIPROC_DIR (the
instrumentator then reads every process's files).

    pau_deliveries_total{channel, outcome}   sent | retried | failed | unreachable |
        outcome_unknown (timed out after the request went out) |
        possible_duplicate (a message sent again after an unknown outcome) |
        unrecorded (sent, but its outcome could not be written: it will go again)
    pau_inbound_total{channel, result}       stored | duplicate | refused
    pau_nudges_total{kind}                   nudges queued by the sweep (daily, reviews, ...)
    pau_nudge_looks_total                    learners the sweep looked at (due or not)
"""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import Counter
from prometheus_fastapi_instrumentator import Instrumentator

DELIVERIES = Counter(
    "pau_deliveries", "Outcomes of sending replies, per channel", ["channel", "outcome"]
)
INBOUND = Counter(
    "pau_inbound", "Platform messages received, per channel and result", ["channel", "result"]
)

NUDGES = Counter("pau_nudges", "Nudges queued by the sweep, per kind", ["kind"])
NUDGE_LOOKS = Counter("pau_nudge_looks", "Learners the nudge sweep looked at")


def count_nudges(looked_at: int, queued_kinds: list[str]) -> None:
    NUDGE_LOOKS.inc(looked_at)
    for kind in queued_kinds:
        NUDGES.labels(kind=kind).inc()


def count_delivery(channel: str, outcome: str) -> None:
    DELIVERIES.labels(channel=channel, outcome=outcome).inc()


def count_inbound(channel: str, result: str, count: int = 1) -> None:
    if count:
        INBOUND.labels(channel=channel, result=result).inc(count)


def expose(app: FastAPI) -> None:
    Instrumentator(excluded_handlers=["/metrics", "/healthz"]).instrument(app).expose(
        app, include_in_schema=False
    )
