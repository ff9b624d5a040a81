"""Real `pau worker` processes on one PostgreSQL database, with the fake Bot API in the test
process, for tests/test_nudge_workers.py: learners seeded straight into the database, due for
their daily reminder on the real clock; workers started, killed -9 and started again; the nudges
each chat received, counted from the calls the fake carried out and answered.

    prepare_database(url)
    chats = seed_learners(url, 200)
    with CountingBotApi() as fake:
        worker = Worker("a", url, fake, tmp_path).start()
        ...
        worker.kill()
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self, TypeVar

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from storage.db import make_engine, reading, transaction
from storage.models import Conversation, Enrollment, Learner
from storage.nudge_sweep import sweep
from tests.fakes.telegram_api import BOT_TOKEN, FakeBotApi
from tests.load import ROOT, stop_process

COURSE = "science-of-learning"  # the demo course
FIRST_CHAT = 900_000_000
NUDGE_BUTTONS = ("Start today's three", "Fewer reminders", "Stop reminders")
DAILY_TIME = "09:00"
LOCAL_HOUR = 10  # the learners' local hour now: within three hours after their reminder time
SWEEP_JOB = "Pau.sweep_nudges"
T = TypeVar("T")


def prepare_database(url: str) -> None:
    """`pau db upgrade` and `pau content import content/`, as an operator runs them."""
    env = {**os.environ, "DATABASE_URL": url}
    for command in (["db", "upgrade"], ["content", "import", str(ROOT / "content")]):
        subprocess.run([str(pau_command()), *command], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip


def pau_command() -> Path:
    """The `pau` console script of the environment the tests run in (.venv/bin/pau)."""
    return Path(sys.executable).parent / "pau"


def zone_at_local_hour(now: datetime, hour: int = LOCAL_HOUR) -> str:
    """A fixed-offset zone whose wall clock shows `hour` (and `now`'s minutes) at `now`."""
    offset = hour - now.astimezone(UTC).hour
    offset = offset - 24 if offset > 14 else offset + 24 if offset < -12 else offset
    # POSIX signs: Etc/GMT-3 is three hours ahead of UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def seed_learners(
    url: str, count: int, *, due: bool = True, first_chat: int = FIRST_CHAT
) -> list[int]:
    """`count` onboarded Telegram learners, idle in the demo course, reminders on at 09:00 local
    (it is 10:xx there now), last heard from yesterday; due for a look by the sweep now, or
    (`due=False`) once `make_due` says so. Their chat ids."""
    now = datetime.now(UTC)
    zone = zone_at_local_hour(now)
    chats = [first_chat + n for n in range(count)]
    engine = make_engine(url)
    try:
        with transaction(engine) as session:
            learners = [_learner(chat, zone, now, due) for chat in chats]
            session.add_all(learners)
            session.flush()
            for learner in learners:
                assert learner.id is not None
                session.add(Conversation(learner_id=learner.id, state="idle", updated_at=now))
                session.add(Enrollment(learner_id=learner.id, course_slug=COURSE,
                                       enrolled_at=now - timedelta(days=3)))  # fmt: skip
    finally:
        engine.dispose()
    return chats


def _learner(chat: int, zone: str, now: datetime, due: bool) -> Learner:
    return Learner(
        channel="telegram", external_id=str(chat), name=f"Learner {chat}", level="new",
        daily_time=DAILY_TIME, timezone=zone, nudges=True, consented_at=now - timedelta(days=3),
        created_at=now - timedelta(days=3), last_inbound_at=now - timedelta(days=1),
        next_nudge_at=now if due else None,
    )  # fmt: skip


def make_due(url: str) -> None:
    """Every learner due for a look now, in one statement (a sweep sees all of them or none)."""
    run_sql(url, "UPDATE learner SET next_nudge_at = now()")


def run_sql(url: str, sql: str) -> list[Any]:
    """One statement in a transaction of its own; its rows (if it returns any)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(sa.text(sql))
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def reasons_now(url: str) -> Counter[str]:
    """What a dry-run sweep says now for every learner, by reason ("reminder time": a daily
    reminder is due), so that a test fails saying why when its learners are not due."""
    engine = make_engine(url)
    try:
        with reading(engine) as session:
            outcomes = sweep(session, now=datetime.now(UTC), dry_run=True, everyone=True)
    finally:
        engine.dispose()
    return Counter(f"{'' if o.decision.nudge else 'none: '}{o.decision.reason}" for o in outcomes)


def nudge_events(url: str) -> Counter[str]:
    """The nudge events queued so far, by dedupe key (`nudge:{learner}:{kind}:{slot}`)."""
    rows = run_sql(url, "SELECT platform_message_id FROM inbound_message"
                        " WHERE channel = 'internal' AND platform_message_id LIKE 'nudge:%'")  # fmt: skip
    return Counter(key for (key,) in rows)


class CountingBotApi(FakeBotApi):
    """The fake Bot API, also counting the sendMessage requests that reached it, answered or not
    (a hung one is never recorded as a call: it was never carried out)."""

    def __init__(self) -> None:
        super().__init__()
        self.sends_arrived = 0
        self.sends_in_flight = 0

    async def _endpoint(self, request: Request) -> Response:
        sending = request.path_params["method"].lower() == "sendmessage"
        self.sends_arrived += sending  # one event loop thread: no lock needed
        self.sends_in_flight += sending
        try:
            return await super()._endpoint(request)
        finally:
            self.sends_in_flight -= sending


def is_nudge(params: dict[str, Any]) -> bool:
    """A nudge: a text with the three inline buttons in, fewer and out."""
    markup = params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    labels = tuple(button.get("text") for row in rows for button in row)
    return labels == NUDGE_BUTTONS


def nudges_by_chat(fake: FakeBotApi) -> Counter[int]:
    """How many nudges each chat received (sendMessage calls the fake carried out and answered)."""
    return Counter(
        int(call.chat_id)
        for call in fake.calls_to("sendMessage")
        if call.ok and call.chat_id is not None and is_nudge(call.params)
    )


def wait_until(check: Callable[[], T], what: str, *, timeout: float, every: float = 0.2) -> T:
    """Poll `check` until it returns something true; return it, or fail saying `what`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


class Worker:
    """`pau worker` in a child process, configured by its environment, its output in a file.

    With `debug_logs`, APScheduler's lines say each time the sweep ran (PAU's own line comes only
    when a sweep queued something); they cost the worker about half its speed (SQL is logged)."""

    def __init__(
        self, name: str, database_url: str, fake: FakeBotApi, workdir: Path,
        *, debug_logs: bool = False,
    ) -> None:  # fmt: skip
        self.name = name
        self.log_path = workdir / f"worker-{name}.log"
        self.workdir = workdir
        self.env = {
            **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url,
            "PAU_LOG_LEVEL": "INFO",
            "PAU_DEBUG_LOGS": str(debug_logs).lower(),
            "PAU_SECRET_KEY": "worker-test-secret-key-0123456789",
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_PER_CHAT_RATE": "1000", "TELEGRAM_OVERALL_RATE": "100000",
        }  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> Self:
        # its directory has no .env; the child keeps its own copy of the log file
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([str(pau_command()), "worker"], cwd=self.workdir,
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        return self

    def wait_started(self, timeout: float = 30.0) -> Self:
        """Until its scheduler runs."""
        process = self.process
        assert process is not None

        def started() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log()[-3000:]}")
            return "Scheduler started" in self.log()

        wait_until(started, f"worker {self.name} to start", timeout=timeout)
        return self

    def start(self) -> Self:
        return self.launch().wait_started()

    def kill(self) -> None:
        """kill -9: no shutdown, no rollback sent, whatever was in flight is cut."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def sweeps_finished(self) -> int:
        """Sweep runs that ended (APScheduler's "executed successfully" lines; debug logs)."""
        return len(re.findall(rf'Job "{SWEEP_JOB} [^\n]* executed successfully', self.log()))

    def sweep_minutes(self) -> list[str]:
        """When each sweep run was scheduled: one a minute, at second 0 (debug logs)."""
        return re.findall(rf'Running job "{SWEEP_JOB} [^\n]*\(scheduled at ([^)]+)\)', self.log())

    def nudges_queued(self) -> list[int]:
        """What each of its sweeps queued, by its "nudge sweep: N nudges queued" lines."""
        return [int(n) for n in re.findall(r"nudge sweep: (\d+) nudges queued", self.log())]

    def errors(self) -> list[str]:
        return [
            line for line in self.log().splitlines() if " ERROR " in line or "Traceback" in line
        ]
