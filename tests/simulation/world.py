"""The simulation's world: a real PAU (runner, SQLite file, sweep, command worker, outbox,
delivery) on a clock moved in steps, and learners who act by habit between the sweeps.

Each step: the clock moves on; the sweep runs as of it (twice when the minute is :00, as two
workers or a retried tick would); the engine drains (nudge events become messages, delivered to a
recording channel); every nudge is matched with the internal event that made it (its key
`nudge:{learner}:{kind}:{slot}` stays on inbound_message after the payload is scrubbed); then
the learners who act now talk, all at once, one message each per round.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from core.content_loader import load_course
from core.events import InboundEvent
from core.replies import Reply
from storage.content_repo import import_course
from storage.db import make_engine, to_db, transaction
from storage.learner_store import INTERNAL
from storage.locks import LocalLocks
from storage.migrate import upgrade
from storage.models import CommandRecord, Conversation, InboundMessage, Learner
from storage.nudge_sweep import Outcome
from tests.simulation.answers import WAIT
from tests.simulation.learners import Delivered, SeenNudge, SimLearner
from tests.simulation.people import Persona
from tests.simulation.record import Run, is_nudge, nudge_text, wording_of
from webhooks.config import Settings
from webhooks.container import Pau

ROOT = Path(__file__).resolve().parents[2]
DEMO_COURSE = ROOT / "content" / "science-of-learning"
CHANNEL = "sim"
DAY = timedelta(days=1)
SECRET = "simulation-secret-key-0123456789"
START = datetime(2026, 3, 7, tzinfo=UTC)  # covers the US (8 March), Europe (29 March) and
# Australia and New Zealand (5 April) changing their clocks


class SimClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingChannel:
    """The learners' phones: each delivery lands with the learner it is addressed to."""

    def __init__(self, clock: SimClock, learners: dict[str, SimLearner], run: Run) -> None:
        self.clock, self.learners, self.run = clock, learners, run

    async def send(self, address: str, reply: Reply) -> None:
        self.run.messages_out += 1
        learner = self.learners.get(address)
        if learner is None:
            self.run.strays.append((self.clock(), address))
            return
        learner.received.append(Delivered(self.clock(), reply))


class World:
    def __init__(self, personas: list[Persona], *, start: datetime, days: int,
                 step: timedelta, directory: Path) -> None:  # fmt: skip
        url = f"sqlite:///{directory}/simulation.db"
        upgrade(url)
        engine = make_engine(url)
        with transaction(engine) as session:
            import_course(session, course=load_course(DEMO_COURSE), now=start)
        self.clock = SimClock(start)
        settings = Settings(_env_file=None, database_url=url, pau_secret_key=SECRET)  # type: ignore[call-arg]
        self.pau = Pau(settings=settings, engine=engine, locks=LocalLocks(), clock=self.clock)
        self.learners = [SimLearner(persona, start) for persona in personas]
        self.by_address = {learner.persona.user_id: learner for learner in self.learners}
        end = start + timedelta(days=days)
        self.run = Run(self.learners, start, end, step)
        self.pau.senders[CHANNEL] = RecordingChannel(self.clock, self.by_address, self.run)
        self.users: dict[int, str] = {}  # learner id -> the simulation's user id
        self.scanned: dict[str, int] = defaultdict(int)  # per learner: deliveries looked at
        self.taken: set[int] = set()  # nudge events matched with their message
        self.messages = 0

    async def simulate(self, progress: Callable[[str], None] | None = None) -> Run:
        """Live the whole run; `progress` hears a line at the end of each day."""
        began = time.perf_counter()
        run = self.run
        try:
            moment = run.start
            while moment <= run.end:
                await self.tick(moment)
                moment += run.step
                if progress is not None and not (moment - run.start) % DAY:
                    progress(self._progress(moment, began))
            run.keys_in_db = self._all_nudge_keys()
            self._compare_all_settings(run.end)
            self._describe_the_stuck()
        finally:
            await self.pau.stop_channels()
            self.pau.close()
        run.seconds = time.perf_counter() - began
        return run

    def _progress(self, moment: datetime, began: float) -> str:
        day, total = (moment - self.run.start) // DAY, (self.run.end - self.run.start) // DAY
        nudges = sum(len(learner.nudges) for learner in self.learners)
        return (f"day {day} of {total}: {nudges} nudges, {self.run.messages_in} learner "
                f"messages, {time.perf_counter() - began:.0f} s")  # fmt: skip

    async def tick(self, now: datetime) -> None:
        self.clock.now = now
        self.run.steps += 1
        outcomes = self.pau.sweep_nudges()
        if now.minute == 0:  # a second sweep in the same minute: nothing may go out twice
            outcomes += self.pau.sweep_nudges()
            self.run.sweeps += 1
        self.run.sweeps += 1
        for outcome in outcomes:
            self._note(now, outcome)
        await self.pau.drain()
        self._take_nudges(now, queued=any(outcome.queued for outcome in outcomes))
        for learner in self.learners:  # nudges are read; a conversation starts afresh
            learner.read = len(learner.received)
        await self._converse(now)

    def _note(self, now: datetime, outcome: Outcome) -> None:
        decision = outcome.decision
        key = self.named(decision.nudge.key(outcome.learner_id)) if decision.nudge else ""
        user = self.users.get(outcome.learner_id, f"learner {outcome.learner_id}")
        self.run.decisions.setdefault(user, []).append((now, key, decision.reason))

    def named(self, key: str) -> str:
        """`nudge:17:daily:2026-03-09` as `nudge:sim-004:daily:2026-03-09`: the same key, with
        the learner the simulation knows (learner ids start again in each database)."""
        _, learner_id, rest = key.split(":", 2)
        return f"nudge:{self.users.get(int(learner_id), learner_id)}:{rest}"

    # --- nudges: each message with the event that made it --------------------------------

    def _take_nudges(self, now: datetime, *, queued: bool = False) -> None:
        """Match the nudge messages delivered since the last look with the nudge events
        processed now (`queued`: the sweep queued some; else only if a nudge came)."""
        came = any(
            is_nudge(d.reply)
            for learner in self.learners
            for d in learner.received[self.scanned[learner.persona.user_id] :]
        )
        events: dict[int, list[str]] = defaultdict(list)
        for event_id, key in self._nudge_events_processed(now) if queued or came else []:
            self.taken.add(event_id)
            events[int(key.split(":")[1])].append(self.named(key))
        for learner in self.learners:
            new = learner.received[self.scanned[learner.persona.user_id] :]
            self.scanned[learner.persona.user_id] = len(learner.received)
            keys = events.pop(learner.learner_id or -1, [])
            for delivered in new:
                if is_nudge(delivered.reply):
                    self._seen(learner, delivered, keys.pop(0) if keys else "")
            for key in keys:
                reason = self.run.reason_before(learner.persona.user_id, now)
                self.run.withheld.append((now, key, reason))
        for keys in events.values():  # learners the simulation does not know
            self.run.withheld += [(now, key, "nobody's") for key in keys]

    def _seen(self, learner: SimLearner, delivered: Delivered, key: str) -> None:
        text = nudge_text(delivered.reply)
        if not key:
            self.run.orphans.append((delivered.at, learner.persona.user_id, text))
            return
        _, _, kind, slot = key.split(":", 3)
        looks = self.run.decisions.get(learner.persona.user_id, [])
        reason = next((why for _, said, why in reversed(looks) if said == key), "?")
        nudge = SeenNudge(delivered.at, kind, slot, key, text, wording_of(text, kind),
                          learner.prefs, reason)  # fmt: skip
        learner.nudges.append(nudge)
        learner.on_nudge(nudge)

    def _nudge_events_processed(self, now: datetime) -> list[tuple[int, str]]:
        with transaction(self.pau.engine) as session:
            rows = session.exec(
                select(InboundMessage.id, InboundMessage.platform_message_id).where(
                    col(InboundMessage.channel) == INTERNAL,
                    col(InboundMessage.platform_message_id).startswith("nudge:"),
                    col(InboundMessage.processed_at) == to_db(now),
                )
            ).all()
        return [(int(i), key) for i, key in rows if i is not None and i not in self.taken]

    def _all_nudge_keys(self) -> list[str]:
        with transaction(self.pau.engine) as session:
            keys = session.exec(
                select(InboundMessage.platform_message_id).where(
                    col(InboundMessage.channel) == INTERNAL,
                    col(InboundMessage.platform_message_id).startswith("nudge:"),
                )
            ).all()
        return [self.named(key) for key in keys]

    # --- conversations --------------------------------------------------------------------

    async def _converse(self, now: datetime) -> None:
        """Everyone who acts now, one message each per round, one drain per round."""
        talking: dict[SimLearner, InboundEvent] = {}
        for learner in self.learners:
            intent = learner.intent_at(now)
            if intent is not None:
                talking[learner] = learner.begin(intent, now)
        while talking:
            for learner, event in talking.items():
                if event is not WAIT:
                    self._send(learner, event, now)
            await self.pau.drain()
            self._take_nudges(now)
            states = self._states([lr.learner_id for lr in talking if lr.learner_id])
            still: dict[SimLearner, InboundEvent] = {}
            for learner, _ in talking.items():
                state, data = states.get(learner.learner_id or -1, (None, {}))
                answer = learner.next_event(state, data, learner.new_replies(), now)
                if answer is None:
                    self._finished(learner, state, now)
                else:
                    still[learner] = answer
            talking = still

    def _send(self, learner: SimLearner, event: InboundEvent, now: datetime) -> None:
        self.messages += 1
        self.run.messages_in += 1
        ingested = self.pau.ingest(
            channel=CHANNEL, sender_id=learner.persona.user_id,
            platform_message_id=f"{learner.persona.user_id}-{self.messages}", event=event,
        )  # fmt: skip
        learner.learner_id = ingested.learner_id
        self.users[ingested.learner_id] = learner.persona.user_id
        learner.wrote.append(now)

    def _states(self, ids: list[int]) -> dict[int, tuple[str, dict[str, Any]]]:
        with transaction(self.pau.engine) as session:
            rows = session.exec(
                select(Conversation.learner_id, Conversation.state, Conversation.data).where(
                    col(Conversation.learner_id).in_(ids)
                )
            ).all()
        return {int(lid): (state, dict(data or {})) for lid, state, data in rows}

    def _finished(self, learner: SimLearner, state: str | None, now: datetime) -> None:
        intent = learner.talking
        learner.talking = None
        if intent is None:
            return
        if intent.label == "delete":
            if state is None:
                learner.change(now, "deleted", deleted=True)
                learner.plans.clear()
            else:
                self.run.mismatches.append((now, learner.persona.user_id, "delete did not delete"))
            return
        changed = learner.prefs_log and learner.prefs_log[-1][0] == now
        if changed or intent.label == "set-up":
            self._compare_settings(learner, now)

    def _describe_the_stuck(self) -> None:
        """For a learner left waiting for a grade: their open commands, as stored."""
        for learner in self.learners:
            if learner.learner_id is None or not any(n.startswith("waited") for n in learner.notes):
                continue
            with transaction(self.pau.engine) as session:
                rows = session.exec(
                    select(CommandRecord).where(
                        col(CommandRecord.learner_id) == learner.learner_id,
                        col(CommandRecord.status) != "done",
                    )
                ).all()
            learner.notes += [
                f"command {row.kind} {row.status} after {row.attempts} tries, due "
                f"{row.available_at:%m-%d %H:%M}, lease {row.lease_until}, {row.last_error}"
                for row in rows
            ]

    def _compare_all_settings(self, now: datetime) -> None:
        for learner in self.learners:
            if not learner.prefs.deleted and learner.learner_id is not None:
                self._compare_settings(learner, now)

    def _compare_settings(self, learner: SimLearner, now: datetime) -> None:
        """What the learner asked for is what PAU keeps (else the rules would be checked
        against a wish PAU never heard)."""
        with transaction(self.pau.engine) as session:
            row = session.get(Learner, learner.learner_id)
            if row is None:
                return
            state = row.nudge_state or {}
            kept = (row.daily_time, row.timezone, (state.get("quiet_from", "21:00"),
                    state.get("quiet_until", "08:00")), int(state.get("every_days") or 1),
                    row.nudges, row.paused, row.stopped)  # fmt: skip
        prefs, person = learner.prefs, learner.persona
        asked = (prefs.daily_time, person.zone, prefs.quiet, prefs.every_days,
                 prefs.reminders, prefs.paused, prefs.stopped)  # fmt: skip
        if kept != asked:
            what = f"asked {asked}, PAU keeps {kept}"
            self.run.mismatches.append((now, person.user_id, what))
