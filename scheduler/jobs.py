"""The background jobs of a PAU process, on APScheduler's asyncio scheduler."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from webhooks.container import Pau

log = logging.getLogger(__name__)
WORK_JOB = "process-and-deliver"
REFIT_JOB = "refit-review-parameters"
CONTENT_JOB = "reload-changed-content"
HOUSEKEEPING_JOB = "purge-old-messages"
NUDGE_JOB = "nudge-sweep"
PREPARE_JOB = "prepare-retrieval"


def start_scheduler(pau: Pau, *, interval_seconds: float = 1.0) -> AsyncIOScheduler:
    """Every second (and at once on `wake`, and when a command's result is in): process stored
    events, start due commands, hand new replies to delivery (which runs alongside).
    Every 30 s: pick up re-imported courses. Every hour: fit FSRS parameters for learners with
    enough new review history. Every 6 hours: purge chat messages past their retention. Every
    minute, on the minute: the nudge sweep (a sync job, in APScheduler's thread pool). Once, at
    start: the courses' retrieval indexes embedded."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        pau.work_once,
        "interval",
        seconds=interval_seconds,
        id=WORK_JOB,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        pau.reload_courses_if_changed,
        "interval",
        seconds=30,
        id=CONTENT_JOB,
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        pau.refit_review_parameters,  # a sync job: APScheduler runs it in its thread pool
        "interval",
        hours=1,
        id=REFIT_JOB,
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        pau.sweep_nudges,
        "cron",
        second=0,
        id=NUDGE_JOB,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=50,
    )
    scheduler.add_job(
        pau.purge_old_messages,
        "interval",
        hours=6,
        id=HOUSEKEEPING_JOB,
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(  # once, at start: the first question needs no embedding wait
        pau.prepare_retrieval, "date", run_date=datetime.now(UTC), id=PREPARE_JOB
    )
    scheduler.start()
    pau.dispatcher.start()  # delivery runs in its own loop: a slow chat never holds the tick
    pau.wake = lambda: wake(scheduler)
    return scheduler


def wake(scheduler: AsyncIOScheduler) -> None:
    """Run the work job now instead of at its next tick (a new message just arrived)."""
    job = scheduler.get_job(WORK_JOB)
    if job is not None:
        job.modify(next_run_time=datetime.now(UTC))
