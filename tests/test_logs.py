"""Logs carry no learner text, name, chat id or token, at any level, unless PAU_DEBUG_LOGS is on;
each failure is one line with the learner's internal id and the reason.

Issue 8 saw SQLAlchemy's bound parameters (names, texts, chat ids) in error logs at INFO, and
`log.exception` tracebacks on storage errors. Here a learner with a distinctive name and message
goes through the webhook and the real client while things fail on every side, with PAU's logging
set up as `pau serve` sets it up, at DEBUG; then everything logged is scanned.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

import core.runner
import webhooks.telegram_webhook
from core.logs import show_debug_details
from tests.fakes.telegram_api import BOT_TOKEN, LEARNER_ID
from tests.test_telegram import TelegramLearner, ada, client, fake, telegram_pau  # noqa: F401
from webhooks.logs import TALKATIVE, Redact, configure_logging

NAME = "Zebulon Quixotic"
TEXT = "my cat Flibbertigibbet ate my notes"
SECRETS = [NAME, "Zebulon", "Flibbertigibbet", str(LEARNER_ID), BOT_TOKEN, BOT_TOKEN.split(":")[1]]


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """Everything PAU's log handler writes; levels put back afterwards."""
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in TALKATIVE}
    root_level = root.level
    stream = io.StringIO()
    yield stream
    for handler in [h for h in root.handlers if h.get_name() == "pau"]:
        root.removeHandler(handler)
    root.setLevel(root_level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    show_debug_details(False)


async def a_bad_day(ada: TelegramLearner, monkeypatch: pytest.MonkeyPatch) -> None:
    """Onboarding with a distinctive name, then a message that fails every way it can."""
    await ada.say("/start")
    await ada.tap("yes")
    await ada.say(NAME)
    await ada.tap("course:science-of-learning")
    await ada.tap("level:new")
    await ada.tap("time:morning")
    await ada.say("Berlin")
    await ada.tap("no")

    real_step = core.runner.step
    failures = iter(
        [
            ValueError(f"cannot read {TEXT!r} from {NAME}"),  # a bug that quotes its input
            sa.exc.IntegrityError(  # a storage error: SQL, parameters and DETAIL line
                "INSERT INTO activity (answer) VALUES (?)",
                {"answer": TEXT, "chat": LEARNER_ID},
                Exception(f'DETAIL: Key (answer)=({TEXT}) already exists for "{NAME}"'),
            ),
        ]
    )

    def failing_step(*args: Any, **kwargs: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_step(*args, **kwargs)

    monkeypatch.setattr(core.runner, "step", failing_step)
    ada.fake.fail_next("sendMessage", status=400, description=f"Bad Request: {TEXT}")
    await ada.post("message_text", text=TEXT)
    for _ in range(3):  # the failing step is retried (2 s, 4 s), then succeeds
        ada.pau.clock.advance(seconds=5)  # type: ignore[attr-defined]
        await ada.pau.drain()
    ada.fake.fail_next("sendMessage", status=502)
    ada.fake.fail_next("sendChatAction", status=500, description=f"oops {NAME}")
    await ada.say(TEXT)

    def storage_down(*args: Any) -> Any:
        raise sa.exc.OperationalError("INSERT", {"text": TEXT, "chat": LEARNER_ID}, Exception(NAME))

    monkeypatch.setattr(webhooks.telegram_webhook, "store", storage_down)
    assert (await ada.post("message_text", text=TEXT)).status_code == 503

    def a_bug(*args: Any) -> Any:
        raise KeyError(f"{TEXT} from {NAME}")

    monkeypatch.setattr(webhooks.telegram_webhook, "store", a_bug)
    assert (await ada.post("message_text", text=TEXT)).status_code == 500
    monkeypatch.undo()
    ada.pau.clock.advance(seconds=5)  # type: ignore[attr-defined]
    await ada.pau.drain()  # the reply that met the 502 goes now
    ada.fake.fail_next("sendMessage", status=403)
    await ada.say(f"{TEXT} again")


async def test_nothing_a_learner_said_or_is_called_reaches_the_logs(
    ada: TelegramLearner, monkeypatch: pytest.MonkeyPatch, logged: io.StringIO
) -> None:
    configure_logging("DEBUG", stream=logged)  # the most talkative level, debug logs off
    await a_bad_day(ada, monkeypatch)
    text = logged.getvalue()
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], text
    lines = text.splitlines()
    # the failures are there, one line each, with the internal id and a reason
    assert any('event failed learner=1 reason="ValueError at ' in line for line in lines), text
    assert any('reason="IntegrityError at ' in line for line in lines), text
    assert any("storing an update failed" in line and "OperationalError" in line for line in lines)
    assert any('request failed reason="KeyError at ' in line for line in lines), text
    assert any("send failed learner=1" in line and "outcome=refused" in line for line in lines)
    assert any("send failed learner=1" in line and "outcome=retry" in line for line in lines)
    assert any(
        "send failed learner=1" in line and "outcome=unreachable" in line for line in lines
    ), text
    assert not any(line.startswith("Traceback") for line in lines)


async def test_with_debug_logs_on_the_same_day_shows_the_details(
    ada: TelegramLearner, monkeypatch: pytest.MonkeyPatch, logged: io.StringIO
) -> None:
    """The scan above can see a leak: with PAU_DEBUG_LOGS on, the same run logs them."""
    configure_logging("DEBUG", debug_logs=True, stream=logged)
    await a_bad_day(ada, monkeypatch)
    text = logged.getvalue()
    assert "Flibbertigibbet" in text and BOT_TOKEN in text and "Traceback" in text


def test_access_lines_lose_their_query_string_and_any_line_its_bot_token() -> None:
    def shown(message: str, *args: object) -> str:
        record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, message, args, None)
        Redact().filter(record)
        return record.getMessage()

    access = shown('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                   "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=hunter2", "1.1", 200)  # fmt: skip
    assert access == '127.0.0.1:5000 - "GET /webhooks/whatsapp HTTP/1.1" 200'
    assert BOT_TOKEN not in shown("POST https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
