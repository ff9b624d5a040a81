"""GET /metrics: events processed, command latency, the outbox backlog and the open escalations
as Prometheus reads them, in one process and added up over several real ones."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from core.content import Course
from core.events import InboundEvent
from storage.content_repo import import_course
from storage.db import make_engine, transaction, utcnow
from storage.migrate import upgrade
from storage.models import Escalation, Learner, OutboxMessage
from tests.chat import ChatLearner
from tests.conftest import FixedClock
from tests.load import free_port, stop_process
from tests.test_app import pau_command
from webhooks.app import create_app
from webhooks.config import Settings
from webhooks.container import Pau
from webhooks.metrics import DatabaseGauges

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[Samples, list[str]]:
    """Every sample by (name, labels), and the families' names in the order they came."""
    samples: Samples = {}
    families = []
    for family in text_string_to_metric_families(text):
        families.append(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, families


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def client_for(pau: Pau) -> TestClient:
    # no lifespan: the learner's turns run their own event loops (ChatLearner drains the Pau)
    return TestClient(create_app(Settings(), pau=pau, scheduler=False))


def scrape(client: TestClient) -> tuple[Samples, list[str]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def add_escalation(
    pau: Pau, learner_id: int, *, age: timedelta, status: str = "open", urgent: bool = False
) -> None:
    created = pau.clock() - age
    with transaction(pau.engine) as session:
        session.add(Escalation(learner_id=learner_id, question="?", status=status, urgent=urgent,
                               created_at=created, updated_at=created))  # fmt: skip


def learner_id_of(pau: Pau) -> int:
    with transaction(pau.engine) as session:
        learner_id = session.execute(sa.select(Learner.id)).scalars().first()
    assert learner_id is not None
    return learner_id


def test_metrics_show_events_commands_backlog_and_escalations(
    pau: Pau, onboarded: ChatLearner, clock: FixedClock
) -> None:
    client = client_for(pau)
    if True:
        before, _ = scrape(client)
        # typed, so a text event; a chart: the render_chart command runs in the worker
        assert "📊" in str(onboarded.send_event(InboundEvent.text_message("progress")))
        after, families = scrape(client)

        texts = value(after, "pau_events_processed_total", kind="text")
        assert texts - value(before, "pau_events_processed_total", kind="text") == 1
        charts_ready = value(after, "pau_events_processed_total", kind="chart_ready")
        assert charts_ready - value(before, "pau_events_processed_total", kind="chart_ready") == 1
        charts = ("pau_command_seconds_count", {"kind": "render_chart", "outcome": "done"})
        assert value(after, charts[0], **charts[1]) - value(before, charts[0], **charts[1]) == 1
        # everything went out: the configured channel shows an empty backlog, not no figure
        assert value(after, "pau_outbox_backlog", channel="test") == 0
        assert ("pau_outbox_backlog", frozenset({("channel", "test")})) in after
        assert value(after, "pau_escalations_open") == 0
        assert value(after, "pau_escalations_oldest_seconds") == 0

        learner_id = learner_id_of(pau)
        with transaction(pau.engine) as session:
            for minutes, channel in ((3, "test"), (1, "test"), (2, "whatsapp")):
                session.add(OutboxMessage(channel=channel, address="a", payload={}, learner_id=learner_id,
                                          next_attempt_at=clock(), created_at=clock() - timedelta(minutes=minutes)))  # fmt: skip
        add_escalation(pau, learner_id, age=timedelta(hours=2), urgent=True)
        add_escalation(pau, learner_id, age=timedelta(minutes=30), status="claimed")
        add_escalation(pau, learner_id, age=timedelta(hours=9), status="resolved")
        clock.advance(seconds=15)
        samples, families = scrape(client)

    assert value(samples, "pau_outbox_backlog", channel="test") == 2
    assert value(samples, "pau_outbox_oldest_seconds", channel="test") == 3 * 60 + 15
    assert value(samples, "pau_outbox_backlog", channel="whatsapp") == 1
    assert value(samples, "pau_outbox_oldest_seconds", channel="whatsapp") == 2 * 60 + 15
    assert value(samples, "pau_escalations_open") == 2  # the resolved one is not counted
    assert value(samples, "pau_escalations_urgent_open") == 1
    assert value(samples, "pau_escalations_oldest_seconds") == 2 * 3600 + 15
    for name in ("pau_outbox_backlog", "pau_escalations_open", "pau_events_processed"):
        assert families.count(name) == 1, families


def test_metrics_still_answer_when_the_database_does_not(
    pau: Pau, onboarded: ChatLearner, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(pau)
    if True:
        good, _ = scrape(client)
        pau.engine = make_engine("postgresql://nobody@127.0.0.1:1/none")  # nothing listens
        with caplog.at_level(logging.WARNING, logger="webhooks.metrics"):
            first, families = scrape(client)
            scrape(client)
    assert ("pau_escalations_open", frozenset()) in good
    assert "pau_escalations_open" not in families and "pau_outbox_backlog" not in families
    assert value(first, "pau_events_processed_total", kind="text") > 0  # the counters still
    failures = [r.getMessage() for r in caplog.records if r.name == "webhooks.metrics"]
    assert len(failures) == 1 and "metrics from the database failed" in failures[0], failures


def test_database_gauges_on_every_backend(engine: Engine, clock: FixedClock) -> None:
    """The same figures from SQLite and PostgreSQL (there within a statement time-out)."""
    with transaction(engine) as session:
        learner = Learner(channel="telegram", external_id="1", created_at=clock())
        session.add(learner)
        session.flush()
        session.add(OutboxMessage(channel="telegram", address="1", payload={}, learner_id=learner.id,
                                  next_attempt_at=clock(), created_at=clock() - timedelta(seconds=42)))  # fmt: skip
        for status, minutes in (("answered", 5), ("resolved", 50)):
            session.add(Escalation(learner_id=learner.id, status=status, urgent=True,
                                   created_at=clock() - timedelta(minutes=minutes),
                                   updated_at=clock()))  # fmt: skip
    registry = CollectorRegistry()
    registry.register(DatabaseGauges(engine, clock, channels=("telegram", "whatsapp")))
    samples, _ = parse(generate_latest(registry).decode())
    assert value(samples, "pau_outbox_backlog", channel="telegram") == 1
    assert value(samples, "pau_outbox_oldest_seconds", channel="telegram") == 42
    assert ("pau_outbox_backlog", frozenset({("channel", "whatsapp")})) in samples
    assert value(samples, "pau_escalations_open") == 1
    assert value(samples, "pau_escalations_urgent_open") == 1
    assert value(samples, "pau_escalations_oldest_seconds") == 5 * 60


CHAT_SCRIPT = "hi\n1\nSam\n1\n1\n3\nLisbon\n2\n1\nprogress\n"


def counted_by(pid_files: list[Path], workdir: Path) -> Samples:
    """What one process counted: its files alone, read by prometheus_client."""
    workdir.mkdir()
    for path in pid_files:
        shutil.copy(path, workdir)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(workdir))
    return parse(generate_latest(registry).decode())[0]


def test_several_processes_add_up_and_the_database_gauges_come_once(
    tmp_path: Path, demo_course: Course
) -> None:
    """Two `pau chat` processes at once sharing one PROMETHEUS_MULTIPROC_DIR (each on its own
    SQLite file, so neither answers the other's learner), then a `pau serve` whose /metrics adds
    up both; the gauges it reads from its database appear once."""
    metrics_dir = tmp_path / "metrics"  # made by the processes themselves
    envs = []
    for user in ("ana", "ben"):
        (tmp_path / user).mkdir()
        envs.append({**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / user}/pau.db",
                     "PAU_LOG_LEVEL": "WARNING", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})  # fmt: skip
    upgrade(envs[0]["DATABASE_URL"])  # what `pau content import` does, without its start-up
    engine = make_engine(envs[0]["DATABASE_URL"])
    with transaction(engine) as session:
        import_course(session, course=demo_course, now=utcnow())
    engine.dispose()
    shutil.copy(tmp_path / "ana" / "pau.db", tmp_path / "ben" / "pau.db")  # the same course
    port = free_port()  # the server starts meanwhile, on the first chat's database
    server_log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(pau_command("serve", "--no-scheduler", "--port", str(port)),
                              cwd=tmp_path, env=envs[0], stdout=server_log, stderr=server_log)  # fmt: skip
    chats: list[subprocess.Popen[str]] = []
    try:
        for user, env in zip(("ana", "ben"), envs, strict=True):
            chats.append(subprocess.Popen(pau_command("chat", "--user", user), cwd=tmp_path / user,
                                          env=env, text=True, stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
        for chat in chats:
            out, err = chat.communicate(CHAT_SCRIPT, timeout=60)
            assert chat.returncode == 0 and "📊" in out, err

        per_process = [
            counted_by(sorted(metrics_dir.glob(f"*_{chat.pid}.db")), tmp_path / f"alone-{chat.pid}")
            for chat in chats
        ]
        texts = [value(s, "pau_events_processed_total", kind="text") for s in per_process]
        charts = [
            value(s, "pau_command_seconds_count", kind="render_chart", outcome="done")
            for s in per_process
        ]
        assert min(texts) > 0 and charts == [1, 1], (texts, charts)

        engine = make_engine(envs[0]["DATABASE_URL"])
        with transaction(engine) as session:
            learner_id = session.execute(sa.select(Learner.id)).scalars().first()
            now = session.execute(sa.select(sa.func.max(Learner.created_at))).scalar_one()
            session.add(
                Escalation(learner_id=learner_id, question="?", created_at=now, updated_at=now)
            )
        engine.dispose()

        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "pau serve did not start within 30 s"
                time.sleep(0.2)
    finally:
        for process in (*chats, server):
            stop_process(process)
        server_log.close()
    assert response.status_code == 200
    samples, families = parse(response.text)
    assert value(samples, "pau_events_processed_total", kind="text") == sum(texts)
    assert value(samples, "pau_command_seconds_count", kind="render_chart", outcome="done") == 2
    for name in ("pau_escalations_open", "pau_outbox_backlog", "pau_events_processed"):
        assert families.count(name) == 1, families
    assert value(samples, "pau_escalations_open") == 1
