"""A mentor's reply on WhatsApp after the 24-hour window has closed: the approved mentor_reply
template goes first, the reply itself waits and goes out the moment the learner writes back;
end to end through signed webhooks, the real pywa client and the loopback fake Graph API."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from storage import escalations
from storage.db import transaction
from storage.models import Escalation, Staff
from tests.conftest import FixedClock
from tests.fakes.graph_api import LEARNER_USER_ID, FakeGraphApi
from tests.test_whatsapp import (  # noqa: F401  (the fixtures: a WhatsApp PAU and Ada in it)
    ONBOARDING,
    WhatsAppLearner,
    ada,
    client,
    count,
    fake,
    wa_pau,
)
from tests.test_whatsapp_nudges import approve_every_template, settle_into_idle
from webhooks.container import Pau


def _texts(messages: list[dict[str, object]]) -> list[str]:
    found = []
    for message in messages:
        text = message.get("text")
        if isinstance(text, dict):
            found.append(str(text.get("body", "")))
        interactive = message.get("interactive")
        if isinstance(interactive, dict):
            body = interactive.get("body")
            found.append(str(body.get("text", "")) if isinstance(body, dict) else "")
    return found


async def test_a_mentor_reply_after_the_window_closed_goes_as_a_template_then_the_text(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi, clock: FixedClock
) -> None:
    approve_every_template(fake)
    await settle_into_idle(ada, ONBOARDING)
    assert "your question is with" in await ada.say(
        "can I talk to a mentor about planning reviews around my exams?"
    )
    with transaction(wa_pau.engine) as session:
        mentor = Staff(email="maria@example.org", name="Maria", role="mentor",
                       password_hash="-", created_at=clock())  # fmt: skip
        session.add(mentor)
        session.flush()
        escalation = session.exec(select(Escalation)).one()
        assert mentor.id is not None and escalation.id is not None
        mentor_id, escalation_id = mentor.id, escalation.id

    clock.now = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)  # two days later: the window is closed
    assert not wa_pau.whatsapp.window_open(LEARNER_USER_ID)
    with transaction(wa_pau.engine) as session:
        escalations.claim(session, escalation_id=escalation_id, staff_id=mentor_id, now=clock())
        escalations.send_reply(session, escalation_id=escalation_id, staff_id=mentor_id,
                               text="Start two weeks out, every other day.", now=clock())  # fmt: skip
    before = len(fake.messages())
    await wa_pau.drain()
    await wa_pau.drain()  # nothing else may follow: no "reconnect" template on top of it
    [sent] = fake.messages()[before:]
    assert sent["type"] == "template"
    template = sent["template"]
    assert template["name"] == "pau_mentor_reply" and template["language"] == {"code": "en"}
    assert [p["text"] for p in template["components"][0]["parameters"]] == ["Maria"]
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'held'") == 1

    before = len(fake.messages())
    await ada.say("hi, what did they say?")  # the learner writes: the window opens again
    texts = _texts(fake.messages()[before:])
    assert texts[0].startswith("💬 Maria (mentor) writes:\nStart two weeks out, every other day.")
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'held'") == 0
