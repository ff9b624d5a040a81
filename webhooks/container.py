"""The composition root: builds the engine, stores, runner and dispatcher from Settings."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy.engine import Engine

from bot.playground import add_playground
from bot.telegram import CHANNEL as TELEGRAM
from bot.telegram import TelegramSender, make_bot
from core.command_worker import CommandWorker, Performer
from core.commands import CommandKind
from core.content import Course
from core.delivery import Dispatcher
from core.dialogue import World
from core.errors import ConfigurationError
from core.escalations import MentorHours
from core.events import InboundEvent
from core.logs import failure
from core.performers import CORE_PERFORMERS, grade_explanation_with
from core.ports import Clock, Locks, Sender
from core.retrieval import index_for
from core.review import MIN_REVIEWS_FOR_OPTIMISATION, fit_learner_parameters
from core.runner import Runner
from core.tutor.budget import Budget
from core.tutor.grading import LlmGrader
from core.tutor.llm import Llm
from core.tutor.performer import TutorPerformer
from storage import learner_store
from storage.channel_state import remember_poll
from storage.commands import SqlCommandQueue
from storage.content_repo import course_revisions, load_courses
from storage.db import make_engine, reading, transaction, utcnow
from storage.export import export_learner, export_summary
from storage.housekeeping import purge_old_messages
from storage.learner_store import Ingested, SqlLearnerStore
from storage.llm_usage import SqlAnswerCache, SqlUsageLedger
from storage.locks import LocalLocks, RedisLocks
from storage.migrate import upgrade
from storage.models import Learner
from storage.nudge_sweep import Outcome, sweep
from storage.outbox import SqlOutbox
from storage.review_cards import learners_due_for_refit, review_history, save_parameters
from webhooks import metrics
from webhooks.config import Settings
from webhooks.llm_setup import make_llm
from webhooks.mentor_alerts import send_alert, urgent_alert

log = logging.getLogger(__name__)
NUDGE_BATCH = 500  # learners per sweep transaction


@dataclass
class Pau:
    """Everything one PAU process needs, wired once."""

    settings: Settings
    engine: Engine
    locks: Locks
    clock: Clock = utcnow
    senders: dict[str, Sender] = field(default_factory=dict)
    redis_client: redis.Redis | None = None
    telegram: TelegramSender | None = None
    whatsapp: Any = None  # webhooks.whatsapp_channel.WhatsAppChannel, when configured
    llm: Llm | None = None  # the tutor's model, when one is configured (webhooks/llm_setup.py)

    content_revisions: dict[str, tuple[int, int]] = field(default_factory=dict)
    wake: Callable[[], None] | None = None  # run the work job now (set by the scheduler)
    _working: bool = False  # a tick is running
    _again: bool = False  # ... and something came in meanwhile: it goes round once more

    def __post_init__(self) -> None:
        self.mentor_hours = MentorHours.parse(self.settings.pau_mentor_hours)
        self.world = self._world()
        self.runner = Runner(
            self._learner_store, self.world, self.clock, self.locks, on_event=metrics.count_event
        )
        self.dispatcher = Dispatcher(
            self._outbox, self.senders, self.clock, observe=metrics.count_delivery
        )
        self.answer_cache = SqlAnswerCache(self.engine, clock=self.clock)  # the tutor's
        performers = {
            **CORE_PERFORMERS,
            **self._tutor_performers(),
            CommandKind.EXPORT_DATA: self._export,
            CommandKind.NOTIFY_MENTORS: self._notify_mentors,
        }
        self.commands = CommandWorker(self._command_queue, performers, self.clock)
        self.commands.on_result = self.request_work
        self.commands.on_finished = metrics.observe_command

    def _world(self) -> World:
        return World(
            courses=self.load_courses(), mentor_hours=self.mentor_hours,
            tutor_on=self.llm is not None,
        )  # fmt: skip

    def _tutor_performers(self) -> dict[CommandKind, Performer]:
        """The tutor's commands: the model first, the offline paths on any failure (and all the
        time when no model is configured)."""
        settings = self.settings
        budget = Budget(
            per_learner=settings.pau_llm_daily_tokens_per_learner,
            overall=settings.pau_llm_daily_tokens,
        )
        ledger = SqlUsageLedger(self.engine)
        grader = LlmGrader(self.llm, ledger, budget, self.clock) if self.llm else None
        tutor = TutorPerformer(
            self.llm, lambda: self.world.courses, ledger, self.answer_cache, budget, self.clock,
        )  # fmt: skip
        return {CommandKind.GRADE_EXPLANATION: grade_explanation_with(grader),
                CommandKind.ASK_TUTOR: tutor}  # fmt: skip

    def request_work(self) -> None:
        """Something new to do (a message stored, a command's result in): the tick running now
        goes round once more, or the next one starts now. (Poking APScheduler while its job runs
        would only log "maximum number of running instances reached".)"""
        if self._working:
            self._again = True
        elif self.wake is not None:
            self.wake()

    @contextmanager
    def _learner_store(self) -> Iterator[SqlLearnerStore]:
        with transaction(self.engine) as session:
            yield SqlLearnerStore(session, desired_retention=self.settings.pau_desired_retention)

    @contextmanager
    def _outbox(self) -> Iterator[SqlOutbox]:
        with transaction(self.engine, urgent=True) as session:
            yield SqlOutbox(session)

    @contextmanager
    def _command_queue(self) -> Iterator[SqlCommandQueue]:
        with transaction(self.engine) as session:
            yield SqlCommandQueue(session)

    def _export(self, learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        """The export command: everything kept about the learner, read in its own transaction,
        and the figures of the summary sent with it (the dialogue words it in their language)."""
        with transaction(self.engine) as session:
            document = export_learner(
                session, learner_id=learner_id, now=self.clock(),
                chat_history_days=self.settings.pau_message_retention_days,
            )  # fmt: skip
        return {
            "json": json.dumps(document, indent=2, ensure_ascii=False),
            "summary": export_summary(document),
        }

    def _notify_mentors(self, learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        """An urgent escalation: ping the on-duty mentors (PAU_MENTOR_ALERT_URL or _COMMAND)."""
        with reading(self.engine) as session:
            alert = urgent_alert(
                session, escalation_id=int(args["escalation_id"]),
                base_url=self.settings.pau_base_url,
            )  # fmt: skip
        return send_alert(alert, self.settings)

    def load_courses(self) -> dict[str, Course]:
        with transaction(self.engine) as session:
            self.content_revisions = course_revisions(session)
            return load_courses(session)

    def prepare_retrieval(self) -> None:
        """Embed every course's passages for the retrieval now (a second or two per course),
        rather than during the first question's dialogue step."""
        for course in self.world.courses.values():
            index_for(course).prepare()

    def reload_courses_if_changed(self) -> bool:
        """Pick up a `pau content import` done while this process runs (one small query)."""
        with transaction(self.engine) as session:
            if course_revisions(session) == self.content_revisions:
                return False
        self.world = self._world()
        self.runner.world = self.world
        self.prepare_retrieval()  # in the job's thread: the new content's passages
        return True

    def ingest(
        self, *, channel: str, sender_id: str, platform_message_id: str, event: InboundEvent,
        received_at: datetime | None = None, sequence: int | None = None,
    ) -> Ingested:  # fmt: skip
        """Store an inbound event (deduplicated) in its own transaction, before processing it."""
        with transaction(self.engine) as session:
            return learner_store.ingest(
                session,
                channel=channel,
                sender_id=sender_id,
                platform_message_id=platform_message_id,
                event=event,
                received_at=received_at or self.clock(),
                secret=self.settings.secret_key_bytes,
                sequence=sequence,
            )

    def process_pending(self, batch: int = 100, budget_seconds: float = 5.0) -> int:
        """Process learners with due events, a batch at a time, until none is left or the time
        budget is spent (so replies already written go out in between)."""
        handled = 0
        deadline = time.monotonic() + budget_seconds
        while time.monotonic() < deadline:
            with transaction(self.engine) as session:
                learner_ids = learner_store.learners_with_pending(
                    session, now=self.clock(), limit=batch
                )
            handled_in_batch = 0
            for learner_id in learner_ids:
                try:
                    handled_in_batch += self.runner.process_learner(learner_id)
                except Exception as error:  # a lock time-out: the event stays pending
                    failure(log, "processing", learner=learner_id, error=error,
                            next="tried again")  # fmt: skip
            handled += handled_in_batch
            # learners that failed are held back now; a full batch of them may hide others
            if handled_in_batch == 0 and len(learner_ids) < batch:
                break
        return handled

    def take_in(self, budget_seconds: float = 2.0) -> int:
        """Parse what channels stored raw (WhatsApp's webhook items) into learners' events, a
        batch at a time, until none is left or the time budget is spent."""
        if self.whatsapp is None:
            return 0
        taken = 0
        deadline = time.monotonic() + budget_seconds
        try:
            while time.monotonic() < deadline:
                batch = int(self.whatsapp.intake())
                taken += batch
                if batch < self.whatsapp.batch:
                    break
        except Exception as error:  # the database is away: the items wait, nothing is lost
            failure(log, "WhatsApp intake", error=error, next="tried again")
        return taken

    def refit_review_parameters(self) -> int:
        """Fit FSRS parameters for learners with enough new history; keep them only if better."""
        with transaction(self.engine) as session:
            learner_ids = learners_due_for_refit(session, min_reviews=MIN_REVIEWS_FOR_OPTIMISATION)
        for learner_id in learner_ids:
            with transaction(self.engine) as session:
                history = review_history(session, learner_id=learner_id)
                learner = session.get(Learner, learner_id)
                zone = ZoneInfo(learner.timezone if learner and learner.timezone else "UTC")
            choice = fit_learner_parameters(history, zone=zone)
            log.info("learner %s: FSRS parameters %s (%s)", learner_id,
                     "fitted" if choice.parameters else "default", choice.reason)  # fmt: skip
            with transaction(self.engine) as session:
                save_parameters(
                    session,
                    learner_id=learner_id,
                    parameters=choice.parameters,
                    reviews=len(history),
                )
        return len(learner_ids)

    def sweep_nudges(
        self, now: datetime | None = None, *, dry_run: bool = False, everyone: bool = False,
        budget_seconds: float = 20.0,
    ) -> list[Outcome]:  # fmt: skip
        """One nudge sweep as of `now`: the learners due for a look, batch by batch, until none
        is left or the time budget is spent. A dry run writes nothing; `everyone` looks at every
        learner who gave consent (what each would get, and why not)."""
        moment = now or self.clock()
        outcomes: list[Outcome] = []
        deadline = time.monotonic() + budget_seconds
        while True:
            if dry_run:
                with reading(self.engine) as session:
                    return sweep(session, now=moment, dry_run=True, everyone=everyone)
            with transaction(self.engine) as session:
                batch = sweep(session, now=moment, limit=NUDGE_BATCH)
            outcomes += batch
            if len(batch) < NUDGE_BATCH or time.monotonic() >= deadline:
                break
        kinds = [str(o.decision.nudge.kind) for o in outcomes if o.queued and o.decision.nudge]
        metrics.count_nudges(len(outcomes), kinds)
        if kinds:
            log.info(
                "nudge sweep: %s nudges queued, %s learners looked at", len(kinds), len(outcomes)
            )
            self.request_work()
        else:
            log.debug("nudge sweep: %s learners looked at, nothing due", len(outcomes))
        return outcomes

    def purge_old_messages(self) -> tuple[int, int]:
        with transaction(self.engine) as session:
            purged = purge_old_messages(
                session, now=self.clock(), keep_days=self.settings.pau_message_retention_days
            )
        log.info("housekeeping: %s inbound and %s outbound messages purged", *purged)
        expired = self.answer_cache.purge_expired()
        if expired:
            log.info("housekeeping: %s expired tutor answers dropped from the cache", expired)
        return purged

    async def work_once(self, max_rounds: int = 20) -> int:
        """One tick: process due events, start due commands (they finish in the background),
        hand the outbox to delivery (its own loop when running, else sent here); again at once
        while commands' results keep coming in."""
        handled = 0
        self._working = True
        try:
            for _ in range(max_rounds):
                self._again = False
                try:
                    await asyncio.to_thread(self.take_in)
                    handled += await asyncio.to_thread(self.process_pending)
                    await self.commands.start_due()
                finally:  # replies already written go out regardless
                    if self.dispatcher.running:
                        self.dispatcher.poke()
                    else:
                        await self.dispatcher.deliver_due()
                if not self._again:
                    break
        finally:
            self._working = False
        return handled

    async def drain(self) -> None:
        """Work until nothing is left to do now: events, commands and their results, delivery
        (the terminal chat and the tests; the scheduler does the same, tick by tick)."""
        while True:
            await asyncio.to_thread(self.take_in)
            handled = await asyncio.to_thread(self.process_pending)
            ran = await self.commands.run_until_idle()
            await self.dispatcher.deliver_due()
            if not handled and not ran:
                return

    def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            checks["database"] = "ok"
        except Exception as error:  # any driver error means not ready
            checks["database"] = f"error: {type(error).__name__}"
        if self.redis_client is not None:
            try:
                self.redis_client.ping()
                checks["redis"] = "ok"
            except redis.RedisError as error:
                checks["redis"] = f"error: {type(error).__name__}"
        return checks

    async def stop_channels(self) -> None:
        """Stop the background work of this process: running commands, delivery (sends in
        flight get a moment to finish), then the channels."""
        await self.commands.close()
        await self.dispatcher.close()
        if self.telegram is not None:
            await self.telegram.stop()
        if self.whatsapp is not None:
            await self.whatsapp.stop()

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
        self.dispatcher.shutdown()
        self.engine.dispose()
        if self.redis_client is not None:
            self.redis_client.close()


def add_telegram(pau: Pau) -> None:
    """Turn the Telegram channel on (when TELEGRAM_BOT_TOKEN is set)."""
    token = pau.settings.telegram_bot_token
    if token is None or not token.get_secret_value():
        return

    async def remember(poll_id: str, chat_id: str, item_id: str) -> None:
        def write() -> None:
            with transaction(pau.engine) as session:
                remember_poll(session, poll_id=poll_id, channel=TELEGRAM, address=chat_id,
                              item_id=item_id, now=pau.clock())  # fmt: skip

        await asyncio.to_thread(write)

    settings = pau.settings
    bot = make_bot(
        token.get_secret_value(), settings.telegram_api_base_url, settings.telegram_overall_rate,
        read_timeout=settings.telegram_read_timeout,
    )  # fmt: skip
    pau.telegram = TelegramSender(bot, remember, pau.settings.telegram_per_chat_rate)
    pau.senders[TELEGRAM] = pau.telegram


def check_settings(settings: Settings) -> None:
    """Refuse to run a real channel with a guessable secret key (it keys the dedupe hashes and,
    later, the admin sessions)."""
    if settings.channels_on and settings.secret_key_is_default:
        raise ConfigurationError(
            f"PAU_SECRET_KEY is unset or a default, and {' and '.join(settings.channels_on)} "
            "is configured. Set PAU_SECRET_KEY to a long random value, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    try:
        MentorHours.parse(settings.pau_mentor_hours)
    except ValueError as error:
        raise ConfigurationError(f"PAU_MENTOR_HOURS: {error}") from error


def build(settings: Settings, *, migrate: bool | None = None, clock: Clock = utcnow) -> Pau:
    """Wire a PAU process. SQLite is migrated on start; PostgreSQL by `pau db upgrade`."""
    check_settings(settings)
    if migrate if migrate is not None else settings.is_sqlite:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    redis_client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    locks: Locks = RedisLocks(redis_client) if redis_client is not None else LocalLocks()
    pau = Pau(
        settings=settings, engine=engine, locks=locks, clock=clock, redis_client=redis_client,
        llm=make_llm(settings),
    )  # fmt: skip
    add_telegram(pau)
    from webhooks.whatsapp_channel import add_whatsapp  # it builds on Pau

    add_whatsapp(pau)
    add_playground(pau)
    return pau
