"""Nudges on WhatsApp: inside the 24-hour window a message with three reply buttons, outside it
the approved template of that nudge kind (prompts/whatsapp_templates.yaml), end to end through
signed webhooks, the sweep, the real pywa client and the loopback fake of the Graph API; and the
templates file against what the dialogue sends for each kind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from bot.whatsapp import WhatsAppSender, make_client
from bot.whatsapp_render import MAX_BUTTON_TITLE, ButtonsMessage, render
from bot.whatsapp_templates import NUDGE_KINDS, PACKAGED, load_templates, resolve
from core.content import Course
from core.dialogue import State, World, step
from core.dialogue.model import Snapshot
from core.dialogue.nudging import facts_of
from core.errors import ConfigurationError, PermanentDelivery
from core.events import EventKind, InboundEvent
from core.learner import DueReview, Profile
from core.motivation import MotivationState
from core.nudges import NudgeKind, NudgeState, decide
from core.replies import Choices, Template
from tests.conftest import FixedClock
from tests.fakes.graph_api import LEARNER_USER_ID, PHONE_ID, TOKEN, FakeGraphApi
from tests.test_whatsapp import (  # noqa: F401  (the fixtures: a WhatsApp PAU and Ada in it)
    ONBOARDING,
    WhatsAppLearner,
    ada,
    client,
    count,
    fake,
    wa_pau,
)
from webhooks.container import Pau

TEMPLATES = load_templates()
RAW = yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))
EVENING = [*ONBOARDING[:5], "3", *ONBOARDING[6:]]  # the daily session at 19:00 instead of 08:00


def approve_every_template(fake: FakeGraphApi) -> None:
    """As the operator does in WhatsApp Manager: from then on the fake takes only these, each
    with its number of parameters."""
    for kind in TEMPLATES.values():
        for language in kind.languages:
            fake.approve_template(kind.name, language, parameters=len(kind.parameters))


def nudge_state(pau: Pau) -> dict[str, Any]:
    with pau.engine.connect() as connection:
        found = connection.execute(sa.text("SELECT nudge_state FROM learner")).scalar_one()
    return found if isinstance(found, dict) else json.loads(found)


async def settle_into_idle(ada: WhatsAppLearner, onboarding: list[str]) -> None:
    """Onboarded at 10:00 Berlin time (the fixed clock's 09:00 UTC), today's session left for
    later (no "still there?" timer is waiting)."""
    for text in onboarding:
        await ada.say(text)
    await ada.say("cancel")


# -- inside the window: three buttons ----------------------------------------------------------


async def test_inside_the_window_a_nudge_has_three_buttons_and_fewer_reminders_works(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi, clock: FixedClock
) -> None:
    await settle_into_idle(ada, ONBOARDING)  # daily at 08:00 Berlin
    clock.now = datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # 08:00 Berlin, 22 hours after they wrote
    assert wa_pau.whatsapp.window_open(LEARNER_USER_ID)
    outcomes = wa_pau.sweep_nudges()
    assert [(o.decision.nudge.kind, o.queued) for o in outcomes if o.decision.nudge] == [
        (NudgeKind.DAILY, True)
    ]
    before = len(fake.messages())
    await wa_pau.drain()
    [nudge] = fake.messages()[before:]
    assert nudge["type"] == "interactive" and nudge["interactive"]["type"] == "button"
    buttons = [button["reply"] for button in nudge["interactive"]["action"]["buttons"]]
    assert [(b["id"], b["title"]) for b in buttons] == [
        ("cmd:today", "Start today's three"), ("cmd:fewer", "Fewer reminders"),
        ("cmd:mute", "Stop reminders"),
    ]  # fmt: skip
    assert all(len(b["title"]) <= MAX_BUTTON_TITLE for b in buttons)
    assert "Ada" in nudge["interactive"]["body"]["text"]
    assert nudge_state(wa_pau)["every_days"] == 1

    reply = await ada.tap("cmd:fewer")
    assert "fewer reminders: every 2 days at 08:00" in reply
    assert nudge_state(wa_pau)["every_days"] == 2
    clock.advance(days=1)  # the next day's reminder is skipped now
    assert not [o for o in wa_pau.sweep_nudges() if o.queued]


# -- outside the window: the approved template -------------------------------------------------


async def test_outside_the_window_a_german_learner_gets_the_approved_template_in_german(
    ada: WhatsAppLearner, wa_pau: Pau, fake: FakeGraphApi, clock: FixedClock,
    demo_course: Course,
) -> None:  # fmt: skip
    approve_every_template(fake)
    await settle_into_idle(ada, EVENING)  # daily at 19:00 Berlin
    assert "ab jetzt spreche ich Deutsch" in await ada.say("lang de")
    clock.now = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)  # 19:00 Berlin, 33 hours after
    assert not wa_pau.whatsapp.window_open(LEARNER_USER_ID)
    before = len(fake.messages(failed=True))
    assert [o.queued for o in wa_pau.sweep_nudges() if o.decision.nudge] == [True]
    await wa_pau.drain()
    await wa_pau.drain()  # a held reply would ask for the reconnect template here

    [sent] = fake.messages(failed=True)[before:]  # one call, accepted, and nothing free-form
    assert sent["type"] == "template"
    template = sent["template"]
    assert template["name"] == "pau_nudge_daily" and template["language"] == {"code": "de"}
    name, concept = [p["text"] for p in template["components"][0]["parameters"]]
    assert name == "Ada" and concept in {c.title for c in demo_course.concepts}
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'held'") == 0
    assert count(wa_pau, "SELECT count(*) FROM outbox WHERE status = 'sent'") >= 1

    # the template names the words that do what the buttons do; replying opens the window
    reply = await ada.say("weniger Erinnerungen")
    assert "weniger Erinnerungen: alle 2 Tage um 19:00" in reply
    assert nudge_state(wa_pau)["every_days"] == 2


# -- the sender: a kind becomes its approved template -----------------------------------------


@pytest.fixture
async def sender(fake: FakeGraphApi) -> AsyncIterator[WhatsAppSender]:
    graph = make_client(phone_id=PHONE_ID, token=TOKEN, base_url=fake.base_url)
    made = WhatsAppSender(graph, lambda address: False, templates=TEMPLATES)  # window closed
    yield made
    await made.close()


async def test_a_kind_goes_as_its_approved_template_and_an_empty_name_is_greeted(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    approve_every_template(fake)
    await sender.send(LEARNER_USER_ID, Template("nudge_streak_at_risk", "de", ("", "5")))
    await sender.send(LEARNER_USER_ID, Template("nudge_milestone", "fr", (" ",)))
    german, fallback = (body["template"] for body in fake.messages())
    assert (german["name"], german["language"]["code"]) == ("pau_nudge_streak_at_risk", "de")
    assert german["components"][0]["parameters"] == [
        {"type": "text", "text": "du"}, {"type": "text", "text": "5"},
    ]  # fmt: skip
    assert (fallback["name"], fallback["language"]["code"]) == ("pau_nudge_milestone", "en")
    assert fallback["components"][0]["parameters"] == [{"type": "text", "text": "there"}]


async def test_a_template_that_names_no_kind_goes_as_it_is(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    await sender.send(LEARNER_USER_ID, Template("pau_reconnect", "de"))
    [body] = fake.messages()
    assert (body["template"]["name"], body["template"]["language"]["code"]) == (
        "pau_reconnect", "de",
    )  # fmt: skip


async def test_a_kind_with_the_wrong_number_of_parameters_is_refused_with_the_reason(
    fake: FakeGraphApi, sender: WhatsAppSender
) -> None:
    with pytest.raises(PermanentDelivery, match=r"'nudge_daily' takes 2 parameters \(name, "
                       r"concept\), the message has 1: check WHATSAPP_TEMPLATES"):  # fmt: skip
        await sender.send(LEARNER_USER_ID, Template("nudge_daily", "en", ("Ada",)))
    assert fake.calls == []


# -- the templates file against the dialogue ---------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 in UTC
SUNDAY = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
MONDAY, YESTERDAY = date(2026, 3, 2), date(2026, 3, 1)


def learner_due(kind: NudgeKind, course: Course) -> tuple[Snapshot, datetime]:
    """A learner for whom `kind` is the nudge due, and when."""
    profile = Profile(consented=True, name="Ada", course_slug=course.slug, daily_time="08:00",
                      timezone="UTC", nudges=True)  # fmt: skip
    streak = MotivationState(streak=3, best_streak=3, last_active_day=YESTERDAY)
    base = Snapshot(State.IDLE, profile=profile, motivation=streak,
                    last_seen=datetime(2026, 3, 1, 18, 0, tzinfo=UTC))  # fmt: skip
    if kind is NudgeKind.DAILY:
        return base, NOW
    if kind is NudgeKind.REVIEWS:
        done_today = replace(streak, streak=4, last_active_day=MONDAY)
        due = (DueReview("item-1", course.concepts[0].id, 0.6),)
        seen = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        return replace(base, motivation=done_today, due_reviews=due, last_seen=seen), NOW
    if kind is NudgeKind.INACTIVITY:
        return replace(base, last_seen=datetime(2026, 2, 27, 18, 0, tzinfo=UTC)), NOW
    if kind is NudgeKind.STREAK:
        reminded = NudgeState(day="2026-03-02", sent_today=1, last_sent_at=NOW.isoformat(),
                              slots={NudgeKind.DAILY: "2026-03-02"})  # fmt: skip
        return replace(base, nudging=reminded), datetime(2026, 3, 2, 19, 30, tzinfo=UTC)
    if kind is NudgeKind.MILESTONE:
        afternoon = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # after the reminder's hours
        return replace(base, motivation=replace(streak, badges=("streak_7",))), afternoon
    return replace(base, last_seen=datetime(2026, 3, 7, 18, 0, tzinfo=UTC),
                   motivation=replace(streak, last_active_day=date(2026, 3, 7))), SUNDAY  # fmt: skip


def nudge_step(snapshot: Snapshot, now: datetime, course: Course) -> tuple[Any, ...]:
    due = decide(facts_of(snapshot), now).nudge
    assert due is not None
    event = InboundEvent.result(EventKind.NUDGE, "", nudge=str(due.kind), slot=due.slot)
    return step(snapshot, event, now, World({course.slug: course})).replies


def test_the_templates_file_has_every_nudge_kind_in_english_and_german() -> None:
    assert set(NUDGE_KINDS) == {f"nudge_{kind}" for kind in NudgeKind} <= set(TEMPLATES)
    for kind in NUDGE_KINDS:
        assert TEMPLATES[kind].name == f"pau_{kind}" and TEMPLATES[kind].languages == ("en", "de")
        assert TEMPLATES[kind].parameters[0] == "name"
        for language, body in RAW[kind]["languages"].items():  # as Meta approves them
            assert len(body) <= 1024 and "\n" not in body, (kind, language)
            assert not body.startswith("{{") and not body.rstrip(".!?").endswith("}}")
            assert TEMPLATES[kind].instead_of_empty(0, language), (kind, language)


@pytest.mark.parametrize("kind", list(NudgeKind), ids=str)
def test_outside_the_window_core_sends_each_kind_the_parameters_the_file_declares(
    kind: NudgeKind, demo_course: Course
) -> None:
    snapshot, now = learner_due(kind, demo_course)
    closed = replace(snapshot, window_open=False)
    [template] = nudge_step(closed, now, demo_course)
    assert isinstance(template, Template) and template.name == f"nudge_{kind}"
    declared = TEMPLATES[template.name].parameters
    assert len(template.parameters) == len(declared), (declared, template.parameters)
    titles = {concept.title for concept in demo_course.concepts}
    meaning = {"name": lambda v: v == "Ada", "concept": titles.__contains__, "streak": str.isdigit}
    for parameter, value in zip(declared, template.parameters, strict=True):
        assert meaning[parameter](value), (parameter, value)
    resolved = resolve(TEMPLATES, template)  # what the sender sends: no refusal
    assert resolved.name == f"pau_nudge_{kind}" and resolved.parameters == template.parameters


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("kind", list(NudgeKind), ids=str)
def test_inside_the_window_each_kind_is_three_reply_buttons_in_either_language(
    kind: NudgeKind, language: str, demo_course: Course
) -> None:
    snapshot, now = learner_due(kind, demo_course)
    speaking = replace(snapshot, profile=replace(snapshot.profile, language=language))
    nudge = next(r for r in nudge_step(speaking, now, demo_course) if isinstance(r, Choices))
    *_, buttons = render(nudge)
    assert isinstance(buttons, ButtonsMessage) and len(buttons.buttons) == 3
    assert [key for key, _ in buttons.buttons][1:] == ["cmd:fewer", "cmd:mute"]
    assert all("…" not in title for _, title in buttons.buttons)  # whole, within 20


def test_a_body_with_the_wrong_placeholders_or_a_missing_kind_stops_the_start(
    tmp_path: Any,
) -> None:
    wrong = {**RAW, "nudge_daily": {**RAW["nudge_daily"], "parameters": ["name"]}}
    path = tmp_path / "templates.yaml"
    path.write_text(yaml.safe_dump(wrong, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"nudge_daily en: the body uses \{\{1\}\}, "
                       r"\{\{2\}\}; its parameters \(name\) need \{\{1\}\}"):  # fmt: skip
        load_templates(path)
    path.write_text(yaml.safe_dump({"reconnect": RAW["reconnect"]}), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="needs the kinds nudge_daily, nudge_reviews"):
        load_templates(path)
