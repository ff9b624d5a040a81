"""End-to-end helpers for the admin page in a real headless Chromium: the whole PAU served by
uvicorn on a free loopback port (scheduler on: the work tick and delivery run as in production),
Telegram learners who write through real webhook POSTs and read what the fake Bot API was asked
to send, and the browser (Debian's chromium driven by Playwright, never `playwright install`).

    with FakeBotApi() as fake, LiveServer(telegram_settings(fake, db_path)) as server:
        ada = WebhookLearner(server, fake, user_id=1001)
        ada.onboard("Ada")
        page = browser_context.new_page()
        sign_in(page, server.url, "maria@example.org")
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Playwright
from pydantic import SecretStr
from sqlmodel import col, func, select

from core.content import Course
from storage.content_repo import import_course
from storage.db import reading, transaction
from storage.models import CommandRecord, InboundMessage, OutboxMessage
from tests.admin_client import PASSWORD
from tests.conftest import ROOT, TEST_SECRET_KEY
from tests.fakes.loopback import LoopbackServer
from tests.fakes.telegram_api import BOT_TOKEN, FakeBotApi, update_payload
from webhooks.app import create_app
from webhooks.config import Settings
from webhooks.container import Pau, build

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = ROOT / "test-artefacts" / "screenshots"
WEBHOOK_SECRET = "browser-tests_webhook-secret"
update_ids = itertools.count(5000)


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def telegram_settings(fake: FakeBotApi, db_path: Path) -> Settings:
    """A PAU on a SQLite file with Telegram pointed at the fake (chats paced at 20 a second,
    so onboarding takes a moment, not ten seconds)."""
    return Settings(
        database_url=f"sqlite:///{db_path}", pau_secret_key=SecretStr(TEST_SECRET_KEY),
        telegram_bot_token=SecretStr(BOT_TOKEN), telegram_webhook_secret=SecretStr(WEBHOOK_SECRET),
        telegram_api_base_url=fake.base_url, telegram_per_chat_rate=20,
    )  # fmt: skip


class LiveServer(LoopbackServer):
    """`create_app(settings, pau=pau, scheduler=True)` served by uvicorn in a background thread,
    its lifespan on (the scheduler starts and stops with it). The Pau is built as `pau serve`
    builds it (SQLite migrated) and the course imported."""

    def __init__(self, settings: Settings, course: Course) -> None:
        self.pau: Pau = build(settings)
        with transaction(self.pau.engine) as session:
            import_course(session, course=course, now=self.pau.clock())
        self.pau.reload_courses_if_changed()  # as after `pau content import` in a running PAU
        super().__init__(create_app(settings, pau=self.pau, scheduler=True), lifespan="on")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        super().stop()
        self.pau.close()

    def idle(self) -> bool:
        """Nothing due is waiting: no event to process, no command to run, no reply to send."""
        now = datetime.now(UTC)
        with reading(self.pau.engine) as session:
            waiting = [
                session.exec(
                    select(func.count()).where(
                        col(InboundMessage.processed_at).is_(None),
                        col(InboundMessage.available_at) <= now,
                        InboundMessage.attempts < 3,
                    )
                ).one(),
                session.exec(
                    select(func.count()).where(
                        CommandRecord.status == "pending", col(CommandRecord.available_at) <= now
                    )
                ).one(),
                session.exec(
                    select(func.count()).where(
                        OutboxMessage.status == "pending",
                        col(OutboxMessage.next_attempt_at) <= now,
                    )
                ).one(),
            ]
        return not any(waiting)

    def settle(self, timeout: float = 10.0) -> None:
        wait_until(self.idle, "the server to process and deliver everything due", timeout)


def wait_until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class WebhookLearner:
    """A Telegram learner: each message is a real POST to /webhooks/telegram of the live server;
    what they see is what the fake Bot API was asked to send to their chat."""

    def __init__(self, server: LiveServer, fake: FakeBotApi, user_id: int) -> None:
        self.server, self.fake, self.user_id = server, fake, user_id

    def post(self, name: str, **overrides: Any) -> None:
        payload = update_payload(
            name, user_id=self.user_id, update_id=next(update_ids), **overrides
        )
        response = httpx.post(
            f"{self.server.url}/webhooks/telegram", json=payload, timeout=10,
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )  # fmt: skip
        assert response.status_code == 200, response.text

    def send(self, name: str, **overrides: Any) -> list[str]:
        """Deliver one update and wait until it is answered; the texts sent to this chat since."""
        before = len(self.texts())
        self.post(name, **overrides)
        self.server.settle()
        return self.texts()[before:]

    def say(self, text: str) -> str:
        return "\n".join(self.send("message_text", text=text))

    def tap(self, data: str) -> str:
        return "\n".join(self.send("callback_query", data=data))

    def vote(self, option: int) -> str:
        """Answer the last quiz (a Telegram poll) sent to this chat."""
        polls = [
            call
            for call in self.fake.calls_to("sendPoll")
            if str(call.chat_id) == str(self.user_id)
        ]
        poll_id = polls[-1].result["poll"]["id"]
        return "\n".join(self.send("poll_answer", poll_id=poll_id, option_ids=[option]))

    def texts(self) -> list[str]:
        return self.fake.sent_texts(self.user_id)

    def wait_for_text(self, fragment: str, timeout: float = 10.0) -> str:
        """The first text to this chat containing `fragment`, waiting for it to arrive."""
        found: list[str] = []

        def arrived() -> bool:
            found[:] = [text for text in self.texts() if fragment in text]
            return bool(found)

        wait_until(arrived, f"{fragment!r} in chat {self.user_id}", timeout)
        return found[0]

    def onboard(self, name: str) -> None:
        """Consent, name, the demo course, new to it, mornings, Berlin, no reminder test."""
        self.say("/start")
        self.tap("yes")
        self.say(name)
        self.tap("course:science-of-learning")
        self.tap("level:new")
        self.tap("time:morning")
        self.say("Berlin")
        self.tap("no")


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Through the login form, as a person would: the inbox is where it lands."""
    page.goto(f"{base_url}/admin/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/admin/inbox"), page.url


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
