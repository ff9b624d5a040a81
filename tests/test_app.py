"""`pau serve`: health and readiness, in-process and as a real process; `pau chat` scripted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from storage.db import make_engine
from tests.conftest import DEMO_COURSE
from tests.load import free_port
from webhooks.app import create_app
from webhooks.config import Settings
from webhooks.container import Pau


def test_healthz_and_readyz(pau: Pau) -> None:
    with TestClient(create_app(Settings(), pau=pau, scheduler=False)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"ready": True, "database": "ok"}


def test_readyz_says_503_when_the_database_is_unreachable(pau: Pau) -> None:
    pau.engine = make_engine("postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    with TestClient(create_app(Settings(), pau=pau, scheduler=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "error: OperationalError"


def pau_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "webhooks.cli", *args]


@contextmanager
def pau_serve(tmp_path: Path, **env_vars: str) -> Iterator[int]:
    """A real `pau serve` process on a free port, up and answering /healthz; yields the port."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "PAU_LOG_LEVEL": "WARNING",
        **env_vars,
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            pau_command("serve", "--port", str(port)),
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, "pau serve did not start within 30 s"
                    time.sleep(0.2)
            yield port
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_pau_serve_runs_as_a_real_process(tmp_path: Path) -> None:
    with pau_serve(tmp_path) as port:
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}


def test_pau_chat_reads_a_scripted_session_from_stdin(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/chat.db",
        "PAU_LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        pau_command("content", "import", str(DEMO_COURSE)),
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    script = "hi\n1\nSam\n1\n1\n3\nLisbon\n2\n1\nhow does sleep help memory?\nprogress\n"
    result = subprocess.run(pau_command("chat"), cwd=tmp_path, env=env, input=script, capture_output=True,
                            text=True, timeout=60, check=True)  # fmt: skip
    out = result.stdout
    for expected in ("Is that OK with you?", "Nice to meet you, Sam!", "Europe/Lisbon", "No reminders",
                     "Step 1 of 3", "Step 2 of 3", "From the lesson", "📊"):  # fmt: skip
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert "Traceback" not in result.stderr


async def test_messages_arriving_during_a_tick_make_it_go_round_again_without_scheduler_warnings(
    pau: Pau, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 saw APScheduler log "maximum number of running instances reached" for one
    webhook in three: each stored message poked the job while it ran."""
    import asyncio
    import logging

    from scheduler.jobs import start_scheduler

    rounds = []

    def slow_processing(*args: object, **kwargs: object) -> int:
        rounds.append(time.monotonic())
        time.sleep(0.3)
        return 0

    monkeypatch.setattr(pau, "process_pending", slow_processing)
    caplog.set_level(logging.INFO, logger="apscheduler")
    jobs = start_scheduler(pau, interval_seconds=60)
    try:
        await asyncio.sleep(0.1)  # the first tick is running
        for _ in range(5):  # five webhooks store a message meanwhile
            pau.request_work()
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.8)
    finally:
        jobs.shutdown(wait=False)
        await pau.stop_channels()
    assert not [r for r in caplog.records if "maximum number of running instances" in r.message]
    assert len(rounds) == 2  # the tick went round once more for what came in, then stopped
