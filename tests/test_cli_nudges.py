"""The operator's and the newcomer's view of nudges: `pau nudge --at` (who gets what and why, and
why the others get nothing), `pau chat --at` with its `clock` command (a week in a minute), and the
nudge sweep scheduled in `pau serve` (unless --no-scheduler) and in `pau worker`.

The learners are onboarded by talking through a PAU on the CLI's own database, on Tue 1 Dec 2026
at 20:00 UTC (21:00 in Berlin, 12:00 in Los Angeles), and nobody swept since; the sweep is on
Wed 2 Dec at 07:30 UTC (08:30 in Berlin):

    Ada   Berlin, 08:00       due since 08:00: her session reminder
    Ken   Los Angeles, 08:00  due since Tue 12:30 (his reminder time, but he had just written);
                              now, at 23:30 his time, it is quiet hours
    Lena  Berlin, 19:00       onboarded at 08:15 today: chatting right now, not due before 08:45
    Mo    Berlin, no reminders
"""

from __future__ import annotations

import asyncio
import io
import shutil
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from bot.terminal import TerminalScreen
from core.events import EventKind
from core.replies import Choices, Option, Text, Typing
from scheduler.jobs import NUDGE_JOB, WORK_JOB, start_scheduler
from storage.db import from_db, make_engine, reading
from storage.models import InboundMessage, Learner, OutboxMessage
from tests.chat import ChatLearner, RecordingSender
from tests.conftest import DEMO_COURSE, FixedClock
from webhooks.cli import main
from webhooks.clock import parse_clock_line
from webhooks.config import get_settings
from webhooks.container import Pau, build

ONBOARDED = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
LENA_ONBOARDED = datetime(2026, 12, 2, 7, 15, tzinfo=UTC)
WEDNESDAY_0830_BERLIN = "2026-12-02T08:30+01:00"


def use_database(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PAU_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    return url


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The database `pau ...` uses (DATABASE_URL), with the demo course imported."""
    url = use_database(tmp_path / "cli.db", monkeypatch)
    monkeypatch.chdir(tmp_path)  # files the chat saves (a progress chart) land here
    try:
        assert main(["content", "import", str(DEMO_COURSE)]) == 0
        yield url
    finally:
        get_settings.cache_clear()


def onboard(pau: Pau, clock: FixedClock, user: str, name: str, daily: str, city: str,
            reminders: str = "Yes please") -> None:  # fmt: skip
    learner = ChatLearner(pau, user, clock)
    learner.say("hi")
    learner.say("Yes, let's go")
    learner.say(name)
    learner.tap("course:science-of-learning")
    learner.tap("level:new")
    learner.tap(f"time:{daily}")
    learner.say(city)
    learner.say(reminders)


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A database with Ada, Ken, Mo and Lena onboarded (talked through once, for every test to
    copy); their learner ids by name."""
    path = tmp_path_factory.mktemp("onboarded") / "cli.db"
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_database(path, monkeypatch)
        try:
            assert main(["content", "import", str(DEMO_COURSE)]) == 0
            clock = FixedClock(ONBOARDED)
            pau = build(get_settings(), clock=clock)
        finally:
            get_settings.cache_clear()
    pau.senders["test"] = RecordingSender()
    try:
        onboard(pau, clock, "ada", "Ada", "morning", "Berlin")
        onboard(pau, clock, "ken", "Ken", "morning", "Los Angeles")
        onboard(pau, clock, "mo", "Mo", "morning", "Berlin", reminders="No reminders")
        clock.now = LENA_ONBOARDED
        onboard(pau, clock, "lena", "Lena", "evening", "Berlin")
        with reading(pau.engine) as session:
            rows = session.exec(select(Learner.name, Learner.id)).all()
    finally:
        pau.close()
    return path, {name: learner_id for name, learner_id in rows if learner_id is not None}


@pytest.fixture
def learners(onboarded: tuple[Path, dict[str, int]], cli_database: str) -> dict[str, int]:
    """The onboarded learners, in this test's own copy of the CLI's database."""
    source, ids = onboarded
    target = Path(cli_database.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):  # SQLite's write-ahead log too, if any is left
        target.with_name(target.name + suffix).unlink(missing_ok=True)
        if source.with_name(source.name + suffix).exists():
            shutil.copyfile(
                source.with_name(source.name + suffix), target.with_name(target.name + suffix)
            )
    return ids


def nudge(*args: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["nudge", *args]) == 0
    return capsys.readouterr().out.splitlines()


def line_of(lines: Sequence[str], learner_id: int) -> str:
    [line] = [line for line in lines if line.startswith(f"#{learner_id} ")]
    return " ".join(line.split())  # the columns' padding aside


def what_is_stored(url: str) -> tuple[list[str], dict[str, datetime | None], int]:
    """The nudge events queued, every learner's next look, and the outbox's size."""
    engine = make_engine(url)
    with reading(engine) as session:
        keys = session.exec(
            select(InboundMessage.platform_message_id).where(
                col(InboundMessage.platform_message_id).startswith("nudge:")
            )
        ).all()
        looks = session.exec(select(Learner.name, Learner.next_nudge_at)).all()
        outbox = len(session.exec(select(OutboxMessage.id)).all())
    engine.dispose()
    return sorted(keys), {n: from_db(at) if at else None for n, at in looks}, outbox


# --- pau nudge ----------------------------------------------------------------------------------


def test_a_dry_run_says_who_gets_what_and_why_and_writes_nothing(
    learners: dict[str, int], cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = what_is_stored(cli_database)
    lines = nudge("--at", WEDNESDAY_0830_BERLIN, "--dry-run", capsys=capsys)
    ada, ken = learners["Ada"], learners["Ken"]
    assert lines[0] == "Nudge sweep as of Wed 2 Dec 2026, 07:30 UTC (dry run: nothing is written)"
    assert line_of(lines, ada) == (
        f"#{ada} test Ada Wed 08:30 Europe/Berlin → session reminder: reminder time"
    )
    assert line_of(lines, ken) == (
        f"#{ken} test Ken Tue 23:30 America/Los_Angeles · nothing: quiet hours until 08:00 "
        "local; next look Wed 2 Dec, 08:00 local"
    )
    assert lines[-3:] == [
        "2 learners looked at, 1 nudge (1 session reminder) would go out. Dry run: nothing was "
        "written.",
        "1 learner not due yet: the earliest next look is Wed 2 Dec 2026, 07:45 UTC (--all says "
        "why).",
        "1 learner with no next look (reminders off, paused, stopped or not set up).",
    ]
    assert len(lines) == 6  # Lena and Mo are not due: no line of their own without --all
    assert what_is_stored(cli_database) == before  # no nudge event, no next look moved


def test_all_says_why_the_others_get_nothing(
    learners: dict[str, int], cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = nudge("--at", WEDNESDAY_0830_BERLIN, "--dry-run", "--all", capsys=capsys)
    lena, mo = learners["Lena"], learners["Mo"]
    assert [line.split()[0] for line in lines[1:-1]] == [
        f"#{learners[name]}" for name in ("Ada", "Ken", "Mo", "Lena")
    ]  # the learners looked at first, then the others
    assert line_of(lines, lena) == (
        f"#{lena} test Lena Wed 08:30 Europe/Berlin · not due: chatting right now; next look "
        "Wed 2 Dec, 08:45 local"
    )
    assert line_of(lines, mo) == (
        f"#{mo} test Mo Wed 08:30 Europe/Berlin · not due: reminders are off; next look after "
        "their next message"
    )
    assert lines[-1].startswith("2 learners looked at, 1 nudge (1 session reminder)")


def test_a_real_run_queues_processes_and_sends_one_nudge_per_due_learner_once(
    learners: dict[str, int], cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = learners["Ada"]
    _, looks_before, outbox_before = what_is_stored(cli_database)
    lines = nudge("--at", WEDNESDAY_0830_BERLIN, capsys=capsys)
    assert lines[0].endswith("(nudges are queued and sent)")
    assert line_of(lines, ada).endswith("→ session reminder: reminder time (queued)")
    assert "· nothing: quiet hours until 08:00 local" in line_of(lines, learners["Ken"])
    assert "2 learners looked at, 1 nudge (1 session reminder) queued and processed." in lines
    keys, looks, outbox = what_is_stored(cli_database)
    assert keys == [f"nudge:{ada}:daily:2026-12-02"]
    assert outbox == outbox_before + 1  # the reminder, written by Ada's dialogue step
    assert looks["Ken"] == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)  # 08:00 in Los Angeles
    assert looks["Lena"] == looks_before["Lena"]
    engine = make_engine(cli_database)
    with reading(engine) as session:
        processed = session.exec(
            select(InboundMessage.processed_at).where(InboundMessage.learner_id == ada)
        ).all()
        [reminder] = session.exec(
            select(OutboxMessage.payload).where(OutboxMessage.learner_id == ada)
        ).all()[-1:]
    engine.dispose()
    assert all(moment is not None for moment in processed)
    assert "Ada, your 5 minutes are ready" in str(reminder)

    again = nudge("--at", WEDNESDAY_0830_BERLIN, capsys=capsys)
    assert "0 learners looked at, 0 nudges queued and processed." in again
    assert what_is_stored(cli_database)[0] == keys  # the same minute twice: still one nudge


def test_a_time_pau_cannot_read_is_exit_code_2_with_what_to_write(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nudge", "--at", "tomorrow 8am", "--dry-run"]) == 2
    assert capsys.readouterr().err == (
        "pau nudge: --at 'tomorrow 8am' is not an ISO time: write e.g. 2026-12-02T08:30+01:00 "
        "(without an offset it is UTC)\n"
    )


def test_a_time_without_an_offset_is_utc(
    learners: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = nudge("--at", "2026-12-02T07:30", "--dry-run", capsys=capsys)
    assert lines[0].startswith("Nudge sweep as of Wed 2 Dec 2026, 07:30 UTC")
    assert "Wed 08:30 Europe/Berlin" in line_of(lines, learners["Ada"])


# --- pau chat --at, and its clock ---------------------------------------------------------------


def chat(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], at: str,
    turns: Sequence[tuple[str, str | Sequence[str]]],
) -> str:  # fmt: skip
    """A scripted `pau chat --at`: each line typed, and the fragments expected in what follows
    it (before the next line), in order."""
    script = "".join(f"{line}\n" for line, _ in turns)
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["chat", "--at", at]) == 0
    out = capsys.readouterr().out
    answers = out.split("\nyou: ")[1:]
    assert len(answers) == len(turns), out
    for (line, expected), answer in zip(turns, answers, strict=True):
        typed, _, shown = answer.partition("\n")
        assert typed == line
        position = 0
        for fragment in [expected] if isinstance(expected, str) else expected:
            found = shown.find(fragment, position)
            assert found >= 0, f"after {line!r}, expected {fragment!r} (in order) in:\n{shown}"
            position = found + len(fragment)
    return out


def test_a_newcomer_lives_five_days_in_a_minute(
    cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(monkeypatch, capsys, "2026-12-01T07:00+01:00", [
        ("hi", "Is that OK with you?"),
        ("1", "What should I call you?"),
        ("Ada", "Which course would you like?"),
        ("1", "How well do you know this topic already?"),
        ("1", "When would you like your daily session?"),
        ("1", "Which time zone are you in?"),
        ("Berlin", ["it's 07:00 there now", "reminder at 08:00 each day?"]),
        ("1", ["I'll remind you daily at 08:00", "Step 1 of 3"]),
        ("clock", "🕒 It is Tue 1 Dec, 07:00 in Europe/Berlin (06:00 UTC)."),
        ("clock +1d", [
            "— Tue 1 Dec, 08:00 (Europe/Berlin) —\nPAU: Ada, your 5 minutes are ready",
            "🕒 It is now Wed 2 Dec, 07:00 in Europe/Berlin (06:00 UTC).",
        ]),
        ("clock 2026-12-02T09:00", [  # her local time
            "— Wed 2 Dec, 08:00 (Europe/Berlin) —\nPAU: Time for today's three, Ada!",
            "🕒 It is now Wed 2 Dec, 09:00 in Europe/Berlin (08:00 UTC).",
        ]),
        ("clock +3d", [  # nothing from her since Tuesday: every nudge of those days, in order
            "— Thu 3 Dec, 08:00 (Europe/Berlin) —\nPAU: Hi Ada, it's been 2 days.",
            "— Sat 5 Dec, 08:00 (Europe/Berlin) —\nPAU: Ada, no pressure — just a nudge",
            "🕒 It is now Sat 5 Dec, 09:00 in Europe/Berlin (08:00 UTC).",
        ]),
        ("clock -1h", "🕒 Sorry, the clock only moves forward"),
        ("clock 2026-12-01T08:00", "🕒 Sorry, the clock only moves forward: it is Sat 5 Dec"),
        ("clock next week", "🕒 Sorry, I did not get 'next week': clock shows the time; "
                            "clock +30m, +2h, +1d or +1w moves it on"),
    ])  # fmt: skip
    assert out.startswith("🕒 The clock starts at Tue 1 Dec, 06:00 UTC.\n")
    assert out.count(" —\nPAU: ") == 4  # one marker line per nudge, nothing else in between
    engine = make_engine(cli_database)
    with reading(engine) as session:
        typed = [payload.get("text", "") for payload in session.exec(
            select(InboundMessage.payload).where(InboundMessage.channel == "terminal")
        ).all()]  # fmt: skip
    engine.dispose()
    assert "Berlin" in typed and not [text for text in typed if "clock" in text]


def test_the_clock_of_an_unknown_learner_is_utc_and_a_bad_start_is_exit_code_2(
    cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chat(monkeypatch, capsys, "2026-12-01T06:00Z", [
        ("clock +30m", "🕒 It is now Tue 1 Dec, 06:30 UTC; nothing from PAU meanwhile."),
        ("clock +40d", "🕒 Sorry, one month at a time, at most (31 days)."),
    ])  # fmt: skip
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["chat", "--at", "soon"]) == 2
    assert "pau chat: --at 'soon' is not an ISO time" in capsys.readouterr().err


# --- the sweep in pau serve and pau worker ------------------------------------------------------


def test_the_scheduler_runs_the_nudge_sweep_every_minute(pau: Pau) -> None:
    async def scheduled() -> tuple[str, object]:
        jobs = start_scheduler(pau)
        try:
            job = jobs.get_job(NUDGE_JOB)
            assert job is not None
            return str(job.trigger), job.func
        finally:
            jobs.shutdown(wait=False)
            await pau.stop_channels()

    trigger, func = asyncio.run(scheduled())
    assert trigger == "cron[second='0']"
    assert func == pau.sweep_nudges


def serve_app(args: list[str], monkeypatch: pytest.MonkeyPatch) -> object:
    """The app `pau serve ARGS` would run (uvicorn itself is not started)."""
    import uvicorn

    apps = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: apps.append(app))
    assert main(["serve", *args]) == 0
    return apps[0]


def test_pau_serve_sweeps_in_process_unless_no_scheduler(
    cli_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(serve_app([], monkeypatch)) as client:  # type: ignore[arg-type]
        jobs = client.app.state.scheduler  # type: ignore[attr-defined]
        assert jobs.get_job(NUDGE_JOB) is not None and jobs.get_job(WORK_JOB) is not None
    with TestClient(serve_app(["--no-scheduler"], monkeypatch)) as client:  # type: ignore[arg-type]
        assert client.app.state.scheduler is None  # type: ignore[attr-defined]


def test_pau_worker_runs_the_sweep_the_work_and_delivery(
    cli_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pau worker` runs until it is stopped (Ctrl-C cancels it): stopped here once it is up."""
    import scheduler.jobs

    started = []
    real_start = scheduler.jobs.start_scheduler

    def start_and_look(pau: Pau) -> object:
        jobs = real_start(pau)
        started.append((jobs.get_job(NUDGE_JOB), jobs.get_job(WORK_JOB), pau.dispatcher.running))
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().call_soon(task.cancel)
        return jobs

    monkeypatch.setattr(scheduler.jobs, "start_scheduler", start_and_look)
    with pytest.raises(asyncio.CancelledError):
        main(["worker"])
    [(nudges, work, delivering)] = started
    assert nudges is not None and nudges.func.__name__ == "sweep_nudges"
    assert work is not None and work.func.__name__ == "work_once"  # events and commands
    assert delivering


async def test_one_terminal_shows_another_terminal_learners_nudge_as_theirs() -> None:
    """The terminal is one screen: a nudge the chat's sweep sent another terminal learner is
    labelled with whom it is for, and its buttons are not taken for this learner's."""
    out = io.StringIO()
    screen = TerminalScreen(out, user="lena")
    await screen.send("ken", Typing())
    await screen.send("ken", Choices("Hi Ken, it's been 2 days.", (Option("cmd:today", "Go"),)))
    await screen.send("lena", Text("Hi Lena!"))
    assert out.getvalue() == "PAU (to ken): Hi Ken, it's been 2 days.\n   [1] Go\nPAU: Hi Lena!\n"
    assert screen.event_for("1").kind is EventKind.TEXT  # not a tap on Ken's button


def test_a_day_on_the_clock_is_a_day_on_the_wall_clock_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    saturday_7am = datetime(2027, 3, 27, 7, 0, tzinfo=berlin)  # summer time starts that night
    assert parse_clock_line("clock +1d", saturday_7am, berlin).target == datetime(
        2027, 3, 28, 7, 0, tzinfo=berlin
    )
    assert parse_clock_line("clock +24h", saturday_7am, berlin).target == datetime(
        2027, 3, 28, 8, 0, tzinfo=berlin
    )
    assert parse_clock_line("clock 2027-03-28T07:00", saturday_7am, berlin).target == (
        datetime(2027, 3, 28, 5, 0, tzinfo=UTC)
    )
