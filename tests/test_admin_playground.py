"""The playground: staff chat with the real engine as a test learner, in the page."""

from __future__ import annotations

import asyncio
import html
import re

import pytest
from sqlmodel import select

from bot.playground import CHANNEL, add_playground
from storage.db import reading
from storage.models import AuditEntry, Learner, OutboxMessage
from tests.admin_client import StaffClient, add_staff, signed_in_client
from tests.conftest import FixedClock
from webhooks.admin import auth
from webhooks.container import Pau

PASSWORD = "correct horse battery"
CHAT = "/admin/playground/chat"


@pytest.fixture
def admin(pau: Pau) -> StaffClient:
    add_playground(pau)
    add_staff(pau, "grace@example.org", role="admin", password=PASSWORD, name="Grace")
    return signed_in_client(pau, "grace@example.org", PASSWORD)


class Chat:
    """The admin's test learner, driven through the page as staff would."""

    def __init__(self, pau: Pau, client: StaffClient, clock: FixedClock) -> None:
        self.pau, self.client, self.clock = pau, client, clock

    def send(self, **fields: str) -> str:
        self.clock.advance(seconds=1)  # real messages are apart in time: the transcript's order
        response = self.client.post_form("/admin/playground/say", fields, page="/admin/playground")
        assert response.status_code in (200, 303), response.text
        asyncio.run(self.pau.drain())
        return self.page()

    def say(self, text: str) -> str:
        return self.send(text=text)

    def tap(self, label: str) -> str:
        """Press the latest button with this label, as its little form posts it."""
        page = self.page()
        forms = re.findall(r"<form[^>]*>(?:(?!</form>).)*</form>", page, re.S)
        for form in reversed(forms):
            button = re.search(r"<button[^>]*>(.*?)</button>", form, re.S)
            if button and html.unescape(re.sub("<[^>]+>", "", button.group(1))) == label:
                fields = dict(
                    re.findall(r'name="(choice_id|option_index|item_id)" value="([^"]*)"', form)
                )
                return self.send(**{k: html.unescape(v) for k, v in fields.items()})
        raise AssertionError(f"no button {label!r} in:\n{page}")

    def page(self) -> str:
        response = self.client.client.get(CHAT)
        assert response.status_code == 200
        return response.text


@pytest.fixture
def chat(pau: Pau, admin: StaffClient, clock: FixedClock) -> Chat:
    return Chat(pau, admin, clock)


def own_csrf_token(pau: Pau, client: StaffClient) -> str:
    """The token the client's pages carry (whether or not it may see this one)."""
    session_token = client.client.cookies[auth.SESSION_COOKIE]
    return auth.csrf_token(pau.settings.secret_key_bytes, auth.token_hash(session_token))


def onboard(chat: Chat) -> str:
    """The words ChatLearner.onboard uses, typed and tapped in the page."""
    chat.say("hi")
    chat.tap("Yes, let's go")
    chat.say("Ada")
    chat.tap("How to learn anything: the science of learning")
    chat.tap("I'm new to it")
    chat.tap("Morning (08:00)")
    chat.say("Berlin")
    return chat.tap("Yes please")


def test_the_welcome_and_the_consent_buttons_are_shown_as_buttons(chat: Chat) -> None:
    page = html.unescape(chat.say("hi"))
    assert "Hi! I'm PAU, your learning buddy" in page
    assert re.search(r'name="choice_id" value="yes">\s*<button[^>]*>Yes, let\'s go</button>', page)
    assert re.search(r'name="choice_id" value="no">\s*<button[^>]*>No thanks</button>', page)
    assert 'hx-post="/admin/playground/say"' in page
    # before consent nothing the learner sent is kept: the page says so instead of showing it
    assert re.search(r'class="bubble from-learner">.*not kept', page)


def test_the_whole_page_polls_the_transcript_every_second(chat: Chat) -> None:
    chat.say("hi")
    response = chat.client.client.get("/admin/playground")
    assert response.status_code == 200
    assert f'hx-get="{CHAT}" hx-trigger="every 1s"' in response.text
    assert "No thanks</button>" in response.text  # the transcript is in the page itself too
    assert 'name="text"' in response.text


def test_pressing_a_button_moves_the_dialogue_on(chat: Chat) -> None:
    chat.say("hi")
    page = chat.tap("Yes, let's go")
    assert "What should I call you?" in page
    # the tap shows as the learner's bubble, with the button's label
    assert re.search(r"from-learner\">.*Yes, let&#39;s go</div>", page), page
    # in time order: the question comes after the welcome
    assert page.index("Is that OK with you?") < page.index("What should I call you?")


def test_a_quiz_shows_its_options_as_buttons_and_answering_shows_the_feedback(chat: Chat) -> None:
    onboard(chat)
    page = chat.tap("Continue")
    assert "when is forgetting fastest?" in page
    assert re.search(r'name="option_index" value="0">\s*<input type="hidden" name="item_id" '
                     r'value="forgetting-curve-1">\s*<button[^>]*>a\) Soon after learning', page)  # fmt: skip
    page = chat.tap("a) Soon after learning, in the first hours and days")
    # the engine's feedback, after the quiz and the learner's answer
    feedback = "✅ Right! Forgetting is steep at first, then slows and levels off."
    assert feedback in page
    assert page.index("when is forgetting fastest?") < page.index(feedback)
    assert "✓ your answer" in page
    # answered: its options are no longer buttons
    assert not re.search(r'value="forgetting-curve-1">\s*<button', page)


def test_what_staff_type_comes_back_escaped(chat: Chat) -> None:
    chat.say("hi")
    chat.tap("Yes, let's go")
    page = chat.say("<script>alert(1)</script>")  # typed as the name
    assert "<script>" not in page
    assert re.search(r'from-learner">.*&lt;script&gt;alert\(1\)&lt;/script&gt;</div>', page)


def test_the_course_texts_emphasis_is_shown(chat: Chat) -> None:
    page = onboard(chat)
    assert "<i>forgetting curve</i>" in page  # *forgetting curve* in the first lesson
    assert "Why we forget: the forgetting curve" in page


def test_a_mentor_cannot_open_the_playground(pau: Pau) -> None:
    add_staff(pau, "mo@example.org", role="mentor", password=PASSWORD)
    mentor = signed_in_client(pau, "mo@example.org", PASSWORD)
    assert mentor.get(CHAT).status_code == 403
    refused = mentor.get("/admin/playground")  # the refusal page carries their own token
    assert refused.status_code == 403 and "Admins only" in refused.text
    form = {"text": "hi", "csrf_token": own_csrf_token(pau, mentor)}  # good token, wrong role
    assert mentor.client.post("/admin/playground/say", data=form).status_code == 403
    with reading(pau.engine) as session:
        assert session.exec(select(Learner).where(Learner.channel == CHANNEL)).first() is None


def test_reset_removes_the_test_learner_and_is_audited(pau: Pau, chat: Chat) -> None:
    chat.say("hi")
    chat.tap("Yes, let's go")
    response = chat.client.post_form("/admin/playground/reset", {}, page="/admin/playground")
    assert response.status_code in (200, 303)
    with reading(pau.engine) as session:
        assert session.exec(select(Learner).where(Learner.channel == CHANNEL)).first() is None
        actions = session.exec(select(AuditEntry.action)).all()
    assert "playground.reset" in actions
    assert actions.count("playground.say") == 2  # "hi" and the tap, by kind (not their text)
    assert "No messages yet" in chat.page()
    page = chat.say("hi")  # a new learner again: the welcome and the consent question
    assert "Is that OK with you?" in page and "What should I call you?" not in page


def test_the_playground_rows_are_marked_sent(pau: Pau, chat: Chat) -> None:
    chat.say("hi")
    with reading(pau.engine) as session:
        statuses = session.exec(
            select(OutboxMessage.status).where(OutboxMessage.channel == CHANNEL)
        ).all()
    assert statuses and set(statuses) == {"sent"}
