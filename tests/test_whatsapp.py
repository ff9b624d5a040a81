"""WhatsApp end to end: signed webhook payloads of Meta's shape into /webhooks/whatsapp, the real
pywa_async client out to a loopback fake of the Graph API (tests/fakes/graph_api.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.content import Course
from core.errors import ConfigurationError
from core.replies import Typing
from tests.conftest import TEST_SECRET_KEY, FixedClock, make_pau
from tests.fakes.graph_api import (
    LEARNER_USER_ID,
    PHONE_ID,
    TOKEN,
    FakeGraphApi,
    failed_status_payload,
)
from tests.whatsapp_payloads import (
    APP_SECRET,
    VERIFY_TOKEN,
    delivery,
    encoded,
    message,
    messages_value,
    recorded,
    sign,
    status,
    statuses_value,
    text_delivery,
)
from webhooks.app import create_app
from webhooks.config import Settings
from webhooks.container import Pau
from webhooks.whatsapp_channel import add_whatsapp

ONBOARDING = ["hi", "yes", "Ada", "1", "1", "1", "Berlin", "yes"]


@pytest.fixture
def fake() -> Iterator[FakeGraphApi]:
    with FakeGraphApi() as api:
        yield api


def whatsapp_settings(fake: FakeGraphApi, **more: Any) -> Settings:
    return Settings(
        pau_secret_key=TEST_SECRET_KEY, whatsapp_phone_id=PHONE_ID, whatsapp_token=TOKEN,
        whatsapp_app_secret=APP_SECRET, whatsapp_verify_token=VERIFY_TOKEN,
        whatsapp_api_base_url=fake.base_url, whatsapp_per_recipient_rate=50, **more,
    )  # fmt: skip


@pytest.fixture
async def wa_pau(
    fake: FakeGraphApi, demo_course: Course, clock: FixedClock, engine: Engine
) -> AsyncIterator[Pau]:
    """PAU with the WhatsApp channel on, on each database backend."""
    pau = make_pau(engine, demo_course, clock)
    pau.settings = whatsapp_settings(fake, database_url=str(pau.engine.url))
    add_whatsapp(pau)
    yield pau
    await pau.stop_channels()
    pau.close()


@pytest.fixture
async def client(wa_pau: Pau) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(wa_pau.settings, pau=wa_pau, scheduler=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pau"
    ) as http:
        yield http


async def post(client: httpx.AsyncClient, payload: Any, *, signature: str | None = "") -> Any:
    body = payload if isinstance(payload, bytes) else encoded(payload)
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature or sign(body)
    return await client.post("/webhooks/whatsapp", content=body, headers=headers)


class WhatsAppLearner:
    """Ada in WhatsApp: sends signed deliveries, reads what the fake Graph API was asked to show."""

    def __init__(self, client: httpx.AsyncClient, pau: Pau, fake: FakeGraphApi) -> None:
        self.client, self.pau, self.fake = client, pau, fake

    async def send(self, payload: Any) -> list[dict[str, Any]]:
        before = len(self.fake.messages())
        response = await post(self.client, payload)
        assert response.status_code == 200, response.text
        await self.pau.drain()
        return self.fake.messages()[before:]

    async def say(self, text: str) -> str:
        return shown(await self.send(text_delivery(text)))

    async def tap(self, choice: str, kind: str = "button") -> str:
        return shown(await self.send(delivery(messages_value(message(kind, choice=choice)))))

    async def onboard(self) -> str:
        for text in ONBOARDING[:-1]:
            await self.say(text)
        return await self.say(ONBOARDING[-1])


def shown(sent: list[dict[str, Any]]) -> str:
    """What the learner sees of the messages sent: bodies, button titles and list rows."""
    lines = []
    for body in sent:
        if body.get("type") == "text":
            lines.append(body["text"]["body"])
        elif body.get("type") == "interactive":
            interactive = body["interactive"]
            lines.append(interactive["body"]["text"])
            action = interactive["action"]
            for button in action.get("buttons", []):
                lines.append(f"[{button['reply']['title']}|{button['reply']['id']}]")
            for section in action.get("sections", []):
                lines += [f"<{r['title']}|{r['id']}>" for r in section["rows"]]
        elif body.get("type") == "template":
            lines.append(f"template:{body['template']['name']}")
        elif body.get("type"):
            lines.append(str(body["type"]))
    return "\n".join(lines)


@pytest.fixture
def ada(client: httpx.AsyncClient, wa_pau: Pau, fake: FakeGraphApi) -> WhatsAppLearner:
    return WhatsAppLearner(client, wa_pau, fake)


def count(pau: Pau, sql: str) -> int:
    with pau.engine.connect() as connection:
        return int(connection.execute(sa.text(sql)).scalar_one())


# -- the route ---------------------------------------------------------------------------------


async def test_the_verification_challenge_is_answered_only_with_the_right_token(
    client: httpx.AsyncClient,
) -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    right = await client.get("/webhooks/whatsapp", params=query)
    assert (right.status_code, right.text) == (200, "1158201444")
    wrong = await client.get("/webhooks/whatsapp", params={**query, "hub.verify_token": "nope"})
    assert wrong.status_code == 403
    no_mode = await client.get("/webhooks/whatsapp", params={**query, "hub.mode": "unsubscribe"})
    assert no_mode.status_code == 403


async def test_missing_and_wrong_signatures_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, wa_pau: Pau
) -> None:
    body = encoded(recorded("text"))
    assert (await post(client, body, signature=None)).status_code == 401
    assert (await post(client, body, signature=sign(body, "another-secret"))).status_code == 403
    assert (await post(client, body + b" ", signature=sign(body))).status_code == 403
    assert count(wa_pau, "SELECT count(*) FROM webhook_item") == 0
    assert count(wa_pau, "SELECT count(*) FROM learner") == 0


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"object": "page", "entry": []}', b'{"object": "whatsapp_business_account"}',
     b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]}'],
)  # fmt: skip
async def test_a_body_that_is_not_a_whatsapp_webhook_gets_400(
    client: httpx.AsyncClient, wa_pau: Pau, body: bytes
) -> None:
    response = await post(client, body)
    assert response.status_code == 400 and "not a WhatsApp webhook" in response.json()["error"]
    assert count(wa_pau, "SELECT count(*) FROM webhook_item") == 0


async def test_an_oversized_body_gets_413(client: httpx.AsyncClient) -> None:
    body = encoded(text_delivery("x" * 1_100_000))
    assert (await post(client, body)).status_code == 413


async def test_ten_concurrent_copies_of_one_delivery_have_one_effect(
    ada: WhatsAppLearner, client: httpx.AsyncClient, wa_pau: Pau, fake: FakeGraphApi
) -> None:
    payload = recorded("text")
    answers = await asyncio.gather(*(post(client, payload) for _ in range(10)))
    assert [a.status_code for a in answers] == [200] * 10
    assert sum(a.json()["stored"] for a in answers) == 1
    await wa_pau.drain()
    assert shown(fake.messages()).count("I'm PAU") == 1
    assert count(wa_pau, "SELECT count(*) FROM inbound_message") == 1
    assert count(wa_pau, "SELECT count(*) FROM webhook_item") == 1


async def test_a_crash_after_the_200_loses_nothing(
    client: httpx.AsyncClient, wa_pau: Pau, fake: FakeGraphApi, demo_course: Course,
    clock: FixedClock,
) -> None:  # fmt: skip
    assert (await post(client, recorded("text"))).status_code == 200  # stored, not yet parsed
    restarted = Pau(settings=wa_pau.settings, engine=wa_pau.engine, locks=wa_pau.locks,
                    clock=clock)  # fmt: skip
    add_whatsapp(restarted)
    await restarted.drain()
    await restarted.stop_channels()
    assert "I'm PAU" in shown(fake.messages())


async def test_several_entries_changes_messages_and_statuses_are_all_handled(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi
) -> None:
    other = "US.99999999999999999999"
    payload = delivery(
        messages_value(message(text="hi"), message(text="hello", user_id=other, wa_id=None)),
        statuses_value(status("wamid.UNKNOWN", "delivered")),
        messages_value(message("sticker", user_id=other, wa_id=None)),
        entries=2,
    )
    response = await post(ada.client, payload)
    assert response.json() == {"ok": True, "stored": 4, "duplicates": 0}
    await wa_pau.drain()
    assert count(wa_pau, "SELECT count(*) FROM learner") == 2
    assert count(wa_pau, "SELECT count(*) FROM inbound_message") == 3
    assert count(wa_pau, "SELECT count(*) FROM webhook_item WHERE processed_at IS NULL") == 0
    assert len(fake.sent_texts(LEARNER_USER_ID)) >= 1 and len(fake.messages(other)) >= 1


async def test_statuses_never_create_a_learner(ada: WhatsAppLearner, wa_pau: Pau) -> None:
    await ada.send(recorded("status_failed"))
    assert count(wa_pau, "SELECT count(*) FROM learner") == 0


async def test_a_message_without_a_user_id_is_set_aside_with_a_logged_reason(
    ada: WhatsAppLearner, wa_pau: Pau, caplog: pytest.LogCaptureFixture
) -> None:
    found = message(text="hi", user_id="", wa_id="16315551181")
    found.pop("from_user_id")
    payload = delivery(messages_value(found, with_contact=False))
    with caplog.at_level(logging.WARNING):
        assert (await post(ada.client, payload)).status_code == 200
        await wa_pau.drain()
    assert "no business-scoped user id" in caplog.text
    assert count(wa_pau, "SELECT count(*) FROM learner") == 0
    assert count(wa_pau, "SELECT count(*) FROM webhook_item WHERE error LIKE 'no business%'") == 1


async def test_parsed_items_keep_no_message_text(ada: WhatsAppLearner, wa_pau: Pau) -> None:
    await ada.say("my secret answer")
    with wa_pau.engine.connect() as connection:
        bodies = connection.execute(sa.text("SELECT body FROM webhook_item")).scalars().all()
    assert bodies and all("secret" not in str(body) for body in bodies)


# -- the learner's experience ------------------------------------------------------------------


async def test_onboarding_then_a_lesson_and_a_quiz_by_buttons(ada: WhatsAppLearner) -> None:
    first = await ada.say("hi")
    assert "I'm PAU" in first and "[Yes, let's go|yes]" in first
    assert "What should I call you?" in await ada.tap("yes")
    for text in ONBOARDING[2:-1]:
        await ada.say(text)
    lesson = await ada.say("yes")
    assert (
        "All set, Ada!" in lesson and "Why we forget" in lesson and "[Continue|continue]" in lesson
    )
    quiz = await ada.tap("continue")
    assert "when is forgetting fastest?" in quiz and "answer:forgetting-curve-1:0" in quiz
    answered = await ada.tap("answer:forgetting-curve-1:0", kind="list")
    assert "✅ Right!" in answered


async def test_a_question_mid_lesson_is_answered_and_the_lesson_comes_back(
    ada: WhatsAppLearner,
) -> None:
    await ada.onboard()
    reply = await ada.say("what did Ebbinghaus find about relearning?")
    assert "From the lesson" in reply and "Back to the lesson" in reply


async def test_media_gets_a_polite_reply_and_reactions_are_ignored(ada: WhatsAppLearner) -> None:
    await ada.onboard()
    assert "can't open images" in shown(await ada.send(delivery(messages_value(message("image")))))
    assert await ada.send(delivery(messages_value(message("reaction")))) == []


async def test_stop_and_unsubscribe_opt_out_on_any_screen(ada: WhatsAppLearner) -> None:
    await ada.onboard()
    assert "unsubscribed" in await ada.say("STOP")
    assert 'Send "start" to come back' in await ada.say("what is spacing?")
    assert "Welcome back" in await ada.say("start")
    assert "unsubscribed" in await ada.say("UNSUBSCRIBE")


# -- the 24-hour window and statuses ------------------------------------------------------------


async def test_a_reply_outside_the_window_waits_and_a_template_asks_the_learner_to_write(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi, clock: FixedClock
) -> None:
    await ada.onboard()
    await ada.tap("continue")  # a quiz is open; its "still there?" timer fires 15 minutes later
    clock.advance(hours=25)  # ... but by then the window is closed
    before = len(fake.messages())
    await wa_pau.drain()
    await wa_pau.drain()  # the held reply asks for its template in the next intake
    sent = fake.messages()[before:]
    assert shown(sent) == "template:pau_reconnect"
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'held'") == 1
    reply = await ada.say("hi")  # the window opens: the waiting reply goes first, in order
    assert reply.index("Still there?") < reply.index("Hi Ada")
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'held'") == 0


async def test_a_failed_status_for_the_window_holds_the_message_and_sends_the_template(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi
) -> None:
    await ada.onboard()
    wamid = fake.wamids(LEARNER_USER_ID)[-1]
    before = len(fake.messages())
    await ada.send(failed_status_payload(wamid, LEARNER_USER_ID, code=131047))
    await wa_pau.drain()
    assert shown(fake.messages()[before:]) == "template:pau_reconnect"
    reply = await ada.say("sorry, I'm back")
    assert "Continue" in reply  # the held message went out again


async def test_statuses_out_of_order_never_go_backwards(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi
) -> None:
    await ada.say("hi")
    wamid = fake.wamids(LEARNER_USER_ID)[-1]
    for state in ("read", "delivered", "sent"):
        await ada.send(delivery(statuses_value(status(wamid, state))))
    with wa_pau.engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT platform_status FROM outbox WHERE platform_message_id = :w"),
            {"w": wamid},
        ).scalar_one()
    assert found == "read"


async def test_the_window_is_open_for_24_hours_after_the_learners_last_message(
    ada: WhatsAppLearner, wa_pau: Pau, clock: FixedClock
) -> None:
    await ada.say("hi")
    assert wa_pau.whatsapp.window_open(LEARNER_USER_ID)
    clock.advance(hours=23, minutes=59)
    assert wa_pau.whatsapp.window_open(LEARNER_USER_ID)
    clock.advance(minutes=2)
    assert not wa_pau.whatsapp.window_open(LEARNER_USER_ID)
    # no learner at that address: the goodbye after a delete, sent right after they wrote
    assert wa_pau.whatsapp.window_open("US.00000000000000000000")


async def test_the_learners_message_is_marked_read_with_typing_while_the_reply_is_prepared(
    ada: WhatsAppLearner, fake: FakeGraphApi
) -> None:
    payload = recorded("text")
    await ada.send(payload)
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    [read] = fake.reads()
    assert read["message_id"] == wamid and read.get("typing_indicator") == {"type": "text"}


async def test_a_templates_quick_reply_button_starts_todays_session(ada: WhatsAppLearner) -> None:
    await ada.onboard()
    await ada.say("cancel")
    reply = await ada.tap("cmd:today", kind="template")
    assert "Step 1 of 3" in reply


def test_a_token_without_the_app_secret_is_refused_at_start(fake: FakeGraphApi, pau: Pau) -> None:
    pau.settings = Settings(pau_secret_key=TEST_SECRET_KEY, whatsapp_token=TOKEN,
                            whatsapp_phone_id=PHONE_ID)  # fmt: skip
    with pytest.raises(ConfigurationError, match="WHATSAPP_APP_SECRET"):
        add_whatsapp(pau)


async def test_a_learner_outside_the_us_is_a_learner_too(
    ada: WhatsAppLearner, fake: FakeGraphApi
) -> None:
    brazil = "BR.13491208655302741918"
    await ada.send(text_delivery("oi", user_id=brazil, wa_id=None))
    assert "I'm PAU" in shown(fake.messages(brazil))


@pytest.mark.parametrize(
    "odd",
    [{"timestamp": "99999999999999999999"}, {"from_user_id": "US." + "7" * 300}],
)
async def test_an_item_that_cannot_be_taken_in_is_set_aside_and_the_rest_go_on(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi, odd: dict[str, str]
) -> None:
    broken = {**message(text="hi"), **odd}
    payload = delivery(
        messages_value(broken), messages_value(message(text="hello", user_id="US.42"))
    )
    await ada.send(payload)
    assert count(wa_pau, "SELECT count(*) FROM webhook_item WHERE processed_at IS NULL") == 0
    assert count(wa_pau, "SELECT count(*) FROM webhook_item WHERE error IS NOT NULL") == 1
    assert "I'm PAU" in shown(fake.messages("US.42"))  # the next item was taken in


async def test_a_non_ascii_signature_is_a_wrong_signature(client: httpx.AsyncClient) -> None:
    body = encoded(recorded("text"))
    headers = {"X-Hub-Signature-256": b"sha256=\xe9", "content-type": b"application/json"}
    response = await client.post("/webhooks/whatsapp", content=body, headers=headers)
    assert response.status_code == 403


async def test_the_goodbye_after_a_delete_goes_out(ada: WhatsAppLearner, wa_pau: Pau) -> None:
    await ada.onboard()
    assert "Are you sure?" in await ada.say("delete")
    assert "everything about you is erased" in await ada.tap("yes")
    assert count(wa_pau, "SELECT count(*) FROM outbox") == 0


async def test_stop_fails_held_replies_instead_of_sending_them(
    ada: WhatsAppLearner, wa_pau: Pau, clock: FixedClock
) -> None:
    await ada.onboard()
    await ada.tap("continue")
    clock.advance(hours=25)
    await wa_pau.drain()
    await wa_pau.drain()
    reply = await ada.say("STOP")
    assert "Still there?" not in reply and "unsubscribed" in reply
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'held'") == 0


async def test_a_late_window_failure_after_the_learner_wrote_again_just_sends_it_again(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi, clock: FixedClock
) -> None:
    await ada.onboard()
    wamid = fake.wamids(LEARNER_USER_ID)[-1]
    clock.advance(minutes=5)
    await ada.say("hello")  # wrote after that message was sent
    before = len(fake.messages())
    await ada.send(failed_status_payload(wamid, LEARNER_USER_ID, code=131047))
    again = shown(fake.messages()[before:])
    assert "template" not in again and "Continue" in again  # sent again, the window is open
    assert wa_pau.whatsapp.window_open(LEARNER_USER_ID)


async def test_the_window_runs_from_when_the_learner_wrote(
    ada: WhatsAppLearner, wa_pau: Pau, clock: FixedClock
) -> None:
    written = int((clock() - timedelta(hours=23)).timestamp())
    found = message(text="hi")
    found["timestamp"] = str(written)
    await ada.send(delivery(messages_value(found)))  # delivered 23 hours late
    clock.advance(hours=2)
    assert not wa_pau.whatsapp.window_open(LEARNER_USER_ID)


@pytest.mark.parametrize("code", [130429, 131056, 503])
async def test_throttling_and_server_errors_are_retried_through_the_outbox_in_order(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi, clock: FixedClock, code: int
) -> None:
    fake.fail_next(code)
    first = await ada.say("hi")  # the welcome is refused once; the consent question waits
    assert "I'm PAU" not in first
    clock.advance(minutes=2)  # past the backoff
    await wa_pau.drain()
    texts = fake.sent_texts(LEARNER_USER_ID)
    assert [t for t in texts if "I'm PAU" in t] and texts.index(
        next(t for t in texts if "I'm PAU" in t)
    ) < texts.index(next(t for t in texts if "privacy" in t))  # in order, each once
    assert sum("I'm PAU" in t for t in texts) == 1


async def test_an_undeliverable_message_is_recorded_and_not_retried(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi, clock: FixedClock
) -> None:
    fake.fail_next(131026)
    await ada.say("hi")
    clock.advance(minutes=5)
    await wa_pau.drain()
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'failed'") == 1
    assert sum("I'm PAU" in t for t in fake.sent_texts(LEARNER_USER_ID)) == 0


async def test_typing_while_an_answer_is_prepared_hangs_on_the_learners_latest_message(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi
) -> None:
    await ada.say("hi")
    latest = fake.reads()[-1]["message_id"]
    before = len(fake.reads())
    assert await wa_pau.whatsapp.sender.send(LEARNER_USER_ID, Typing()) is None  # e.g. grading
    [typing] = fake.reads()[before:]
    assert typing["message_id"] == latest and typing.get("typing_indicator") == {"type": "text"}


async def test_replies_held_for_a_week_are_dropped_by_housekeeping(
    ada: WhatsAppLearner, wa_pau: Pau, clock: FixedClock
) -> None:
    await ada.onboard()
    await ada.tap("continue")
    clock.advance(hours=25)
    await wa_pau.drain()
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'held'") == 1
    clock.advance(days=8)
    wa_pau.purge_old_messages()
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'held'") == 0
