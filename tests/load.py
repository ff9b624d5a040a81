"""A real `pau serve` under load from many Telegram learners, with the fake Bot API outside it, so
the server can be killed with SIGKILL and started again while the learners keep writing.

Used by tests/test_crash_delivery.py and bench/reliability.py. Each learner goes through
onboarding one update at a time, like a person: the next update is posted once a reply to the
last one arrived (or after `patience` seconds). A post that fails (the server is down, or
answers 5xx) is posted again, as Telegram does. At the end every update must have been
accepted and processed, and every reply the database says was sent is matched against what the
fake Bot API received: a reply it received more often is a duplicate, less often a loss.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from storage.db import make_engine
from tests.fakes.telegram_api import BOT_TOKEN, Call, FakeBotApi, update_payload

ROOT = Path(__file__).resolve().parent.parent
SECRET = "load-test-webhook-secret"
ONBOARDING: list[tuple[str, dict[str, Any]]] = [
    ("command_start", {"text": "/start"}), ("callback_query", {"data": "yes"}),
    ("message_text", {"text": "Ada"}), ("callback_query", {"data": "course:science-of-learning"}),
    ("callback_query", {"data": "level:new"}), ("callback_query", {"data": "time:morning"}),
    ("message_text", {"text": "Berlin"}), ("callback_query", {"data": "no"}),
]  # fmt: skip
SENDING = ("sendMessage", "sendPoll", "sendPhoto", "sendDocument")
FIRST_LEARNER = 700_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until the server on `port` answers /healthz (60 s at most)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def stop_process(process: subprocess.Popen[Any], timeout: float = 10) -> None:
    """Ask a child process to end; kill it if it has not within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Server:
    """`pau serve` in a child process, on one port across restarts."""

    def __init__(
        self, database_url: str, fake: FakeBotApi, workdir: Path, *, code: Path = ROOT, **env: str
    ) -> None:
        self.port = free_port()
        self.workdir, self.code = workdir, code
        self.env = {
            **os.environ, "PYTHONPATH": str(code), "DATABASE_URL": database_url,
            "PAU_LOG_LEVEL": "WARNING", "PAU_SECRET_KEY": "load-test-secret-key-0123456789",
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": fake.base_url, "TELEGRAM_PER_CHAT_RATE": "1000",
            "TELEGRAM_OVERALL_RATE": "100000", **env,
        }  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0
        cli = [sys.executable, "-m", "webhooks.cli"]
        for command in (["db", "upgrade"], ["content", "import", str(code / "content")]):
            subprocess.run([*cli, *command], cwd=code, env=self.env, check=True,
                           capture_output=True)  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with (self.workdir / "server.log").open("ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [sys.executable, "-m", "webhooks.cli", "serve", "--port", str(self.port)],
                cwd=self.code, env=self.env, stdout=log, stderr=log,
            )  # fmt: skip
        wait_until_up(self.port, self.process)  # its output: server.log in the workdir

    def kill(self) -> None:
        """kill -9: no shutdown, no flush, whatever was in flight is cut."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@dataclass
class LoadResult:
    updates: int = 0
    reply_delays: list[float] = field(default_factory=list)  # post accepted -> first reply
    replies: int = 0  # replies the database says were sent
    lost: int = 0
    duplicated: int = 0
    unsettled: int = 0  # inbound not processed, or replies still pending, at the end
    seconds: float = 0.0


class Load:
    def __init__(
        self, server: Server, fake: FakeBotApi, learners: int, *, patience: float = 30.0
    ) -> None:
        self.server, self.fake = server, fake
        self.learners = [FIRST_LEARNER + n for n in range(learners)]
        self.patience = patience
        self.result = LoadResult()
        self._update_ids = itertools.count(1)

    async def run(
        self, *, quiet: frozenset[int] = frozenset(), kills: int = 0, kill_every: float = 3.0
    ) -> LoadResult:
        """Every learner onboards; `kills` times, `kill_every` seconds apart, the server is
        killed -9 and started again. Learners in `quiet` post without waiting for replies."""
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.server.url, timeout=10) as client:
            learners = [asyncio.create_task(self._learner(client, user_id, user_id in quiet))
                        for user_id in self.learners]  # fmt: skip
            for _ in range(kills):
                await asyncio.sleep(kill_every)
                await asyncio.to_thread(self.server.kill)
                await asyncio.to_thread(self.server.start)
            await asyncio.gather(*learners)
        self.result.seconds = time.monotonic() - started
        return self.result

    async def _learner(self, client: httpx.AsyncClient, user_id: int, quiet: bool) -> None:
        for name, overrides in ONBOARDING:
            payload = update_payload(name, update_id=next(self._update_ids), user_id=user_id,
                                     **overrides)  # fmt: skip
            before = self._sends_to(user_id)
            await self._post_until_accepted(client, payload)
            accepted = time.monotonic()
            self.result.updates += 1
            if quiet:
                continue
            while time.monotonic() - accepted < self.patience:
                if self._sends_to(user_id) > before:
                    self.result.reply_delays.append(
                        self._first_send_after(user_id, before) - accepted
                    )
                    break
                await asyncio.sleep(0.02)

    async def _post_until_accepted(
        self, client: httpx.AsyncClient, payload: dict[str, Any]
    ) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        for _ in range(600):
            try:
                response = await client.post("/webhooks/telegram", json=payload, headers=headers)
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("an update was never accepted")

    def _sends(self, user_id: int) -> list[Call]:
        return [c for c in self.fake.calls if c.method in SENDING and c.ok and c.chat_id == user_id]

    def _sends_to(self, user_id: int) -> int:
        return len(self._sends(user_id))

    def _first_send_after(self, user_id: int, before: int) -> float:
        return self._sends(user_id)[before].timestamp


def settle(database_url: str, seconds: float = 120.0, excluding: list[str] | None = None) -> int:
    """Wait until every inbound update is processed and no reply is pending (to any chat but
    `excluding`); return what is left."""
    engine = make_engine(database_url)
    others = sa.bindparam("excluding", expanding=True)
    query = sa.text(
        "SELECT (SELECT count(*) FROM inbound_message WHERE processed_at IS NULL)"
        " + (SELECT count(*) FROM outbox WHERE status = 'pending' AND address NOT IN :excluding)"
    ).bindparams(others)
    deadline = time.monotonic() + seconds
    left = -1
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                left = int(connection.execute(query, {"excluding": excluding or [""]}).scalar_one())
            if left == 0:
                return 0
            time.sleep(0.5)
        return left
    finally:
        engine.dispose()


def count_replies(
    database_url: str, fake: FakeBotApi, learners: list[int], result: LoadResult
) -> None:
    """Match the replies the database marked sent against what the Bot API received."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT address, payload, status FROM outbox WHERE address IN :chats"
            ).bindparams(sa.bindparam("chats", expanding=True)), {"chats": [str(u) for u in learners]}).all()  # fmt: skip
            inbound = int(
                connection.execute(
                    sa.text("SELECT count(*) FROM inbound_message WHERE channel = 'telegram'")
                ).scalar_one()
            )
    finally:
        engine.dispose()
    expected: Counter[tuple[str, str]] = Counter()
    for address, payload, status in rows:
        key = _row_key(payload if isinstance(payload, dict) else json.loads(payload))
        if key is not None and status == "sent":
            expected[(address, key)] += 1
    received: Counter[tuple[str, str]] = Counter()
    for call in fake.calls:
        if call.method in SENDING and call.ok and str(call.chat_id) in {str(u) for u in learners}:
            received[(str(call.chat_id), _call_key(call))] += 1
    result.replies = sum(expected.values())
    result.duplicated = sum(max(0, n - expected[key]) for key, n in received.items())
    result.lost = sum(max(0, n - received[key]) for key, n in expected.items())
    result.lost += max(0, result.updates - inbound)  # accepted with 200, then gone


def _row_key(payload: dict[str, Any]) -> str | None:
    kind = payload["type"]
    text = {"text": "text", "choices": "prompt", "quiz": "question", "image": "caption",
            "file": "caption", "template": "name"}.get(kind)  # fmt: skip
    return None if text is None else str(payload[text]).strip()[:60]


def _call_key(call: Call) -> str:
    params = call.params
    text = params.get("text") or params.get("question") or params.get("caption") or ""
    return str(text).removeprefix("❓ ").strip()[:60]
