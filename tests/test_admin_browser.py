"""The admin page end to end in a real headless Chromium: a live PAU (uvicorn, the scheduler on),
Telegram learners writing through real webhook POSTs and reading the fake Bot API, and staff who
sign in through the login form and click through the pages. Screenshots of every main page go to
test-artefacts/screenshots/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import select

from core.content import Course
from storage.db import reading
from storage.models import Escalation
from tests.admin_client import add_staff, cheap_password_hashing  # noqa: F401  (autouse)
from tests.browser import (
    CHROMIUM,
    LiveServer,
    WebhookLearner,
    launch_chromium,
    screenshot,
    sign_in,
    telegram_settings,
)
from tests.conftest import IN_CI
from tests.fakes.telegram_api import FakeBotApi

MENTOR_QUESTION = "can I talk to a mentor about planning reviews around my exams?"
CRISIS = "I keep thinking about suicide"
SCRIPT = "<script>window.pwned=1</script>"
ADMIN_NAV = ("Cohorts", "Courses", "Playground", "Staff", "Audit")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"Debian's chromium is not installed ({CHROMIUM}): apt-get install chromium"
        if IN_CI:
            pytest.fail(message + " — CI must run the browser tests")
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture
def server(fake: FakeBotApi, demo_course: Course, tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(telegram_settings(fake, tmp_path / "pau.db"), demo_course) as live:
        yield live


def escalation_id_of(page: Page) -> int:
    found = re.search(r"/admin/escalations/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))


def escalation_row(server: LiveServer, escalation_id: int) -> Escalation:
    with reading(server.pau.engine) as session:
        return session.exec(select(Escalation).where(Escalation.id == escalation_id)).one()


def open_and_claim(page: Page, question: str) -> int:
    """From the inbox: open the escalation by its question, claim it there; its id."""
    page.get_by_role("link", name=question).click()
    page.wait_for_url(re.compile(r"/admin/escalations/\d+$"))
    with page.expect_navigation():
        page.locator("section.actions").get_by_role("button", name="Claim").click()
    assert page.locator("#reply-text").is_visible()
    return escalation_id_of(page)


def test_a_mentor_answers_an_escalation_and_the_learner_hears_it(
    server: LiveServer, fake: FakeBotApi, page: Page
) -> None:
    """The whole escalation: the learner asks, the urgent one tops the inbox, the mentor claims,
    edits the draft, sends; the learner's Telegram chat gets it; resolve; it leaves Open."""
    ada = WebhookLearner(server, fake, user_id=1001)
    ada.onboard("Ada")
    assert "your question is with the mentors" in ada.say(MENTOR_QUESTION)
    bo = WebhookLearner(server, fake, user_id=1002)
    assert "116 123" in bo.say(CRISIS)  # safe words at once, and an urgent escalation
    add_staff(server.pau, "maria@example.org", name="Maria")

    sign_in(page, server.url, "maria@example.org")
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator(".badge.urgent").inner_text() == "Urgent"
    assert "crisis" in rows.nth(0).inner_text()
    assert MENTOR_QUESTION in rows.nth(1).inner_text()
    assert rows.nth(1).locator(".badge.urgent").count() == 0

    escalation_id = open_and_claim(page, MENTOR_QUESTION)
    draft = page.locator("#reply-text").input_value()
    assert draft.strip(), "the reply box starts with the drafted answer"
    answer = "Hi Ada, start two weeks out: review every second day, then daily in the last week."
    page.locator("#reply-text").fill(answer)
    with page.expect_navigation():
        page.get_by_role("button", name="Send reply").click()
    heard = ada.wait_for_text(answer)
    assert heard.startswith("💬 Maria (mentor) writes")

    with page.expect_navigation():
        page.get_by_role("button", name="Resolve").click()
    assert page.url.endswith("/admin/inbox")
    ada.wait_for_text("marked your question as answered")
    assert escalation_row(server, escalation_id).status == "resolved"
    open_rows = page.locator("table.inbox tbody").inner_text()
    assert MENTOR_QUESTION not in open_rows and "crisis" in open_rows
    page.get_by_role("link", name="Resolved").click()
    page.wait_for_url(re.compile(r"show=resolved"))
    assert MENTOR_QUESTION in page.locator("table.inbox tbody").inner_text()


def test_a_mentor_is_refused_an_admin_page_and_sees_no_admin_links(
    server: LiveServer, page: Page
) -> None:
    """A mentor opening /admin/staff gets the 403 page, and the nav offers only mentor pages."""
    add_staff(server.pau, "jo@example.org", name="Jo")
    sign_in(page, server.url, "jo@example.org")
    response = page.goto(f"{server.url}/admin/staff")
    assert response is not None and response.status == 403
    assert page.locator("main h1").inner_text() == "Admins only"
    nav = page.locator("header nav a").all_inner_texts()
    assert nav == ["Inbox", "Learners", "At risk"]
    assert not set(ADMIN_NAV) & set(nav)


def test_a_tampered_or_missing_csrf_token_is_refused_and_nothing_reaches_the_learner(
    server: LiveServer, fake: FakeBotApi, page: Page
) -> None:
    """The reply form with its hidden csrf_token changed in the page: 403; a POST with no token
    at all (as another site's form would send, with the staff cookie): 403; the learner gets
    nothing from the mentor."""
    bo = WebhookLearner(server, fake, user_id=2001)
    bo.say(CRISIS)
    add_staff(server.pau, "maria@example.org", name="Maria")
    sign_in(page, server.url, "maria@example.org")
    escalation_id = open_and_claim(page, CRISIS)
    heard_before = bo.texts()

    page.evaluate(
        """() => document.querySelector('form[action$="/reply"] input[name=csrf_token]')
                   .value = 'tampered'"""
    )
    page.locator("#reply-text").fill("A reply that must never arrive.")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Send reply").click()
    response = navigation.value
    assert response is not None and response.status == 403
    assert "This form has expired" in page.locator("main h1").inner_text()

    cross_site = page.request.post(
        f"{server.url}/admin/escalations/{escalation_id}/reply",
        form={"text": "A forged reply."}, max_redirects=0,
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
    )  # fmt: skip
    assert cross_site.status == 403

    time.sleep(1.5)  # more than a scheduler tick: anything queued would have gone by now
    server.settle()
    assert bo.texts() == heard_before
    row = escalation_row(server, escalation_id)
    assert row.status == "claimed" and not row.reply


def test_learner_text_shows_as_text_and_never_runs(
    server: LiveServer, fake: FakeBotApi, page: Page
) -> None:
    """A learner's question holding a script tag is shown as those characters in the inbox and
    on the escalation page, and the script never runs."""
    cy = WebhookLearner(server, fake, user_id=3001)
    cy.onboard("Cy")
    assert "What would you like to ask them?" in cy.say("mentor")
    question = f"{SCRIPT} how do I space my reviews?"
    cy.say(question)
    add_staff(server.pau, "maria@example.org", name="Maria")

    sign_in(page, server.url, "maria@example.org")
    assert question in page.locator("table.inbox tbody").inner_text()
    assert page.evaluate("typeof window.pwned") == "undefined"
    page.get_by_role("link", name=question).click()
    page.wait_for_url(re.compile(r"/admin/escalations/\d+$"))
    assert page.locator("section.question blockquote").inner_text() == question
    assert question in page.locator("section.chat").inner_text()  # the recent chat too
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator("main script").count() == 0


def test_screenshots_of_the_main_pages_as_an_admin(
    server: LiveServer, fake: FakeBotApi, page: Page
) -> None:
    """Every main page opens (200) for an admin with a learner who has studied a little and two
    escalations; each is saved as a screenshot to look at."""
    ada = WebhookLearner(server, fake, user_id=4001)
    ada.onboard("Ada")
    ada.tap("continue")
    ada.vote(0)
    ada.say(MENTOR_QUESTION)
    WebhookLearner(server, fake, user_id=4002).say(CRISIS)
    add_staff(server.pau, "boss@example.org", role="admin", name="Boss")

    page.goto(f"{server.url}/admin/login")
    screenshot(page, "login")
    sign_in(page, server.url, "boss@example.org")
    assert page.locator("header nav a").all_inner_texts()[-len(ADMIN_NAV) :] == list(ADMIN_NAV)
    screenshot(page, "inbox")
    open_and_claim(page, MENTOR_QUESTION)
    screenshot(page, "escalation")
    page.locator("section.learner-card").get_by_role("link", name="Ada").click()
    page.wait_for_url(re.compile(r"/admin/learners/\d+$"))
    learner_url = page.url
    screenshot(page, "learner")
    for name, url in [
        ("evidence", f"{learner_url}/evidence"),
        ("learners", f"{server.url}/admin/learners"),
        ("at_risk", f"{server.url}/admin/at-risk"),
        ("cohorts", f"{server.url}/admin/cohorts"),
        ("courses", f"{server.url}/admin/courses"),
        ("staff", f"{server.url}/admin/staff"),
        ("audit", f"{server.url}/admin/audit"),
    ]:
        response = page.goto(url)
        assert response is not None and response.status == 200, (name, response)
        screenshot(page, name)

    response = page.goto(f"{server.url}/admin/playground")
    assert response is not None and response.status == 200
    page.locator("#playground-text").fill("hi")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#playground-chat .from-pau").first.wait_for()
    screenshot(page, "playground")
