"""Escalation to a human, end to end on a real PAU (database, runner, command worker, outbox):
the learner asks, the mentors get the question with a draft, a mentor claims, replies and
resolves from storage (the admin page's calls), and the learner hears each step in the chat."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from core.commands import CommandKind
from core.dialogue.model import Snapshot, World
from core.dialogue.states import State
from core.escalations import MentorHours, expected_wait
from core.events import EventKind, InboundEvent
from core.replies import Reply, Template, Text
from storage import escalations
from storage.db import transaction
from storage.models import CommandRecord, Escalation, Learner, Staff
from tests.chat import ChatLearner
from tests.conftest import FixedClock
from tests.fakes.alert_hook import FakeAlertHook
from webhooks.container import Pau


def add_mentor(pau: Pau, email: str, name: str) -> int:
    with transaction(pau.engine) as session:
        staff = Staff(email=email, name=name, role="mentor", password_hash="-",
                      created_at=pau.clock())  # fmt: skip
        session.add(staff)
        session.flush()
        assert staff.id is not None
        return staff.id


def only_escalation(pau: Pau) -> Escalation:
    with transaction(pau.engine) as session:
        rows = session.exec(select(Escalation)).all()
    assert len(rows) == 1, rows
    return rows[0]


def texts(replies: list[Reply]) -> str:
    return ChatLearner.text_of(replies)


def test_a_bare_mentor_asks_for_the_question_then_hands_it_over_with_a_draft(
    onboarded: ChatLearner, pau: Pau
) -> None:
    onboarded.transcript(
        [
            ("mentor", "What would you like to ask them?"),
            ("How should I space my reviews before an exam in two weeks?", [
                "your question is with a mentor now. They usually answer within a few hours",
                "Back to the lesson"]),  # the lesson on screen carries on
            ("mentor", ["A mentor already has your question", "Back to the lesson"]),
        ]
    )  # fmt: skip
    escalation = only_escalation(pau)
    assert escalation.status == "open" and escalation.reason == "asked"
    assert escalation.question == "How should I space my reviews before an exam in two weeks?"
    assert escalation.course_slug == "science-of-learning"
    assert escalation.draft.startswith("From the lesson “")  # a course passage to start from
    assert not escalation.urgent


def test_cancel_instead_of_a_question_opens_nothing(onboarded: ChatLearner, pau: Pau) -> None:
    onboarded.transcript([("I want to talk to a real person", "What would you like to ask"),
                          ("cancel", ["no mentor for now", "Continue"])])  # fmt: skip
    with transaction(pau.engine) as session:
        assert session.exec(select(Escalation)).all() == []


def test_out_of_hours_the_learner_hears_when_mentors_are_back_in_their_own_time(
    onboarded: ChatLearner, pau: Pau, clock: FixedClock
) -> None:
    clock.now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # a Saturday; the learner is in Berlin
    reply = onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    assert "They're back on Monday at 10:00 (your time)" in reply  # 09:00 UTC is 10:00 in Berlin


def test_mentor_reply_and_resolve_reach_the_learner_and_the_bot_carries_on(
    onboarded: ChatLearner, pau: Pau
) -> None:
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    maria = add_mentor(pau, "maria@example.org", "Maria")
    jo = add_mentor(pau, "jo@example.org", "Jo")
    escalation_id = only_escalation(pau).id
    assert escalation_id is not None
    now = pau.clock()
    with transaction(pau.engine) as session:
        assert escalations.claim(session, escalation_id=escalation_id, staff_id=maria, now=now)
    with transaction(pau.engine) as session:  # two mentors never answer the same one
        assert not escalations.claim(session, escalation_id=escalation_id, staff_id=jo, now=now)
        assert not escalations.send_reply(
            session, escalation_id=escalation_id, staff_id=jo, text="me too", now=now
        )
    with transaction(pau.engine) as session:
        assert escalations.send_reply(
            session, escalation_id=escalation_id, staff_id=maria, now=now,
            text="Start two weeks out: review every second day, then daily in the last week.",
        )  # fmt: skip
    replies = onboarded.send_event_later()
    assert texts(replies).startswith("💬 Maria (mentor) writes:\nStart two weeks out")
    assert "Continue" in texts(replies)  # and the lesson is still there to go on with
    assert only_escalation(pau).status == "answered"

    with transaction(pau.engine) as session:
        assert escalations.resolve(session, escalation_id=escalation_id, staff_id=maria, now=now)
    assert "marked your question as answered" in texts(onboarded.send_event_later())
    assert only_escalation(pau).status == "resolved"
    # the bot carries on: the lesson, and a new request is a new escalation
    assert "Step 2 of 3" in onboarded.say("Continue") or "❓" in onboarded.say("Continue")
    assert "What would you like to ask them?" in onboarded.say("mentor")


def test_a_reply_posted_twice_is_heard_once_per_reply(onboarded: ChatLearner, pau: Pau) -> None:
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    maria = add_mentor(pau, "maria@example.org", "Maria")
    escalation_id = only_escalation(pau).id or 0
    with transaction(pau.engine) as session:
        escalations.claim(session, escalation_id=escalation_id, staff_id=maria, now=pau.clock())
    for text in ("First answer.", "And one more thing."):
        with transaction(pau.engine) as session:
            escalations.send_reply(session, escalation_id=escalation_id, staff_id=maria,
                                   text=text, now=pau.clock())  # fmt: skip
    heard = texts(onboarded.send_event_later())
    assert heard.count("Maria (mentor) writes") == 2
    assert heard.index("First answer.") < heard.index("And one more thing.")


def test_crisis_words_get_safe_words_and_an_urgent_escalation_that_pings_the_mentors(
    onboarded: ChatLearner, pau: Pau, clock: FixedClock, tmp_path: Path
) -> None:
    add_mentor(pau, "maria@example.org", "Maria")
    written = tmp_path / "alert.json"
    copy_stdin = f"import sys; open({str(written)!r}, 'wb').write(sys.stdin.buffer.read())"
    with FakeAlertHook(fail_first=1) as hook:
        pau.settings = pau.settings.model_copy(update={
            "pau_mentor_alert_url": hook.url,
            "pau_mentor_alert_command": f"{sys.executable} -c \"{copy_stdin}\"",
        })  # fmt: skip
        reply = onboarded.say("honestly I want to end my life")
        assert "116 123" in reply and "findahelpline.com" in reply
        assert "Continue" not in reply  # no lesson pushed after it
        clock.advance(minutes=5)  # the first ping was refused: it is tried again
        onboarded.send_event_later()
        assert len(hook.received) == 1
    alert = hook.received[0]
    escalation = only_escalation(pau)
    assert escalation.urgent and escalation.reason == "crisis"
    assert alert["url"].endswith(f"/admin/escalations/{escalation.id}")
    assert alert["on_duty"] == ["maria@example.org"]
    assert "end my life" not in str(alert)  # no learner text leaves in an alert
    assert written.read_text(encoding="utf-8").startswith('{"event": "urgent_escalation"')
    with transaction(pau.engine) as session:
        command = session.exec(select(CommandRecord)).one()
    assert command.kind == CommandKind.NOTIFY_MENTORS and command.status == "done"


def test_urgent_escalations_come_first_in_the_inbox(onboarded: ChatLearner, pau: Pau,
                                                   clock: FixedClock) -> None:  # fmt: skip
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    other = ChatLearner(pau, "learner-2", clock)
    other.onboard("Bo")
    clock.advance(minutes=10)
    other.say("I keep thinking about suicide")
    with transaction(pau.engine) as session:
        rows = escalations.inbox(session)
        assert [(row.learner_name, row.urgent) for row in rows] == [("Bo", True), ("Ada", False)]
        assert escalations.open_summary(session, now=clock()) == (2, 600.0)


def test_a_mentor_answer_saved_to_the_faq_answers_the_next_learner(
    onboarded: ChatLearner, pau: Pau, clock: FixedClock
) -> None:
    onboarded.say("can I talk to a mentor about cramming the night before an exam?")
    maria = add_mentor(pau, "maria@example.org", "Maria")
    escalation_id = only_escalation(pau).id or 0
    with transaction(pau.engine) as session:
        escalations.claim(session, escalation_id=escalation_id, staff_id=maria, now=clock())
        entry = escalations.save_to_faq(
            session, escalation_id=escalation_id, staff_id=maria, now=clock(),
            question="Is cramming the night before an exam a good idea?",
            answer="Cramming feels productive but fades within days; spread the same hours out.",
        )  # fmt: skip
    assert entry is not None
    assert pau.reload_courses_if_changed()  # other processes notice it the same way
    other = ChatLearner(pau, "learner-2", clock)
    other.onboard("Bo")
    reply = other.say("is cramming the night before an exam a good idea?")
    assert "A mentor answered a question like this before" in reply
    assert "spread the same hours out" in reply


def test_deleting_the_learner_deletes_their_escalations(onboarded: ChatLearner, pau: Pau) -> None:
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    onboarded.say("delete")
    onboarded.say("yes")
    with transaction(pau.engine) as session:
        assert session.exec(select(Learner)).all() == []
        assert session.exec(select(Escalation)).all() == []


# --- the dialogue alone: the mentor's words outside WhatsApp's window, and the mentors' hours


def _waiting_snapshot(*, window_open: bool) -> Snapshot:
    from tests.utterances import ADA

    return Snapshot(State.IDLE, {"escalation": {"asked_at": "2026-03-02T09:00:00+00:00"}}, ADA,
                    window_open=window_open)  # fmt: skip


@pytest.mark.parametrize("window_open", [True, False])
def test_a_mentor_reply_outside_the_window_goes_after_an_approved_template(
    demo_world: World, window_open: bool
) -> None:
    from core.dialogue import step

    event = InboundEvent.result(EventKind.MENTOR_REPLIED, "escalation:1", escalation=1,
                                text="Here is how.", mentor="Maria")  # fmt: skip
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    transition = step(_waiting_snapshot(window_open=window_open), event, now, demo_world)
    first, second = transition.replies[0], transition.replies[1]
    if window_open:
        assert isinstance(first, Text) and "Here is how." in first.text
    else:
        assert first == Template("mentor_reply", "en", ("Maria",))
        assert isinstance(second, Text) and "Here is how." in second.text  # held for the window
    assert transition.data["escalation"]["answered"]


@pytest.fixture
def demo_world(demo_course: object) -> World:
    from core.content import Course

    assert isinstance(demo_course, Course)
    return World({demo_course.slug: demo_course})


@pytest.mark.parametrize(
    ("hours", "now", "zone", "soon", "opening"),
    [
        ("mon-fri 09:00-17:00 UTC", "2026-03-02T10:00Z", "UTC", True, "2026-03-02T10:00+00:00"),
        ("mon-fri 09:00-17:00 UTC", "2026-03-02T17:00Z", "UTC", False, "2026-03-03T09:00+00:00"),
        (
            "mon-fri 09:00-17:00 UTC",
            "2026-03-06T18:00Z",
            "Asia/Tokyo",
            False,
            "2026-03-09T18:00+09:00",
        ),
        (
            "mon-fri 09:00-17:00 Europe/Berlin",
            "2026-03-29T06:00Z",
            "Europe/Berlin",
            False,
            "2026-03-30T09:00+02:00",
        ),  # the Sunday summer time begins: Monday 09:00 is CEST
        (
            "sat-sun 10:00-14:00 America/New_York",
            "2026-03-04T12:00Z",
            "UTC",
            False,
            "2026-03-07T15:00+00:00",
        ),
        ("fri-mon 08:00-20:00 UTC", "2026-03-08T21:00Z", "UTC", False, "2026-03-09T08:00+00:00"),
    ],
)
def test_when_mentors_answer(hours: str, now: str, zone: str, soon: bool, opening: str) -> None:
    wait = expected_wait(MentorHours.parse(hours), datetime.fromisoformat(now), zone)
    assert wait.soon is soon
    assert wait.opening == datetime.fromisoformat(opening)
    assert wait.opening.utcoffset() == datetime.fromisoformat(opening).utcoffset()


@pytest.mark.parametrize(
    "bad", ["", "weekdays 9-5", "mon-fri 17:00-09:00 UTC", "mon-fri 09:00-17:00 Mars/Olympus"]
)
def test_bad_mentor_hours_are_refused_with_the_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="mentor hours"):
        MentorHours.parse(bad)


def test_crisis_words_are_answered_even_before_consent(pau: Pau, clock: FixedClock) -> None:
    newcomer = ChatLearner(pau, "learner-9", clock)
    assert "116 123" in newcomer.say("i want to kill myself")
    assert only_escalation(pau).urgent


def test_everyday_talk_is_not_crisis(memo_onboarded: object) -> None:
    from tests.harness import MemoryLearner

    assert isinstance(memo_onboarded, MemoryLearner)
    for said in ("this quiz is killing me", "I could die for a coffee", "dead tired today"):
        assert "116 123" not in memo_onboarded.say(said), said


def test_the_export_holds_the_questions_for_mentors_and_their_answers(
    onboarded: ChatLearner, pau: Pau
) -> None:
    import json

    from tests.test_export import missing_from_export

    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    maria = add_mentor(pau, "maria@example.org", "Maria")
    escalation = only_escalation(pau)
    with transaction(pau.engine) as session:
        escalations.claim(
            session, escalation_id=escalation.id or 0, staff_id=maria, now=pau.clock()
        )
        escalations.send_reply(session, escalation_id=escalation.id or 0, staff_id=maria,
                               text="Two weeks out, every other day.", now=pau.clock())  # fmt: skip
    onboarded.send_event_later()
    document = json.loads(pau._export(escalation.learner_id, {})["json"])
    [question] = document["mentor_questions"]
    assert question["question"].startswith("can I talk to a mentor about planning")
    assert (
        question["answer"] == "Two weeks out, every other day." and question["status"] == "answered"
    )
    missing = missing_from_export(pau, escalation.learner_id, document)
    assert [m for m in missing if m.startswith("escalation.")] == []


def test_a_question_the_course_cannot_answer_can_go_to_a_mentor_with_one_tap(
    onboarded: ChatLearner, pau: Pau
) -> None:
    onboarded.transcript(
        [
            ("What is the capital of Mongolia?", [
                "will answer it.\n   [1] Ask a mentor", "Back to the lesson"]),
            ("Ask a mentor", ["your question is with a mentor now", "Back to the lesson"]),
        ]
    )  # fmt: skip
    escalation = only_escalation(pau)
    assert escalation.reason == "no_answer"
    assert escalation.question == "What is the capital of Mongolia?"


# --- found in review: takeover, a re-sent form, two open at once, the recent chat, FAQ rights


def _claimed_by(pau: Pau, staff_id: int) -> int:
    escalation_id = only_escalation(pau).id or 0
    with transaction(pau.engine) as session:
        assert escalations.claim(session, escalation_id=escalation_id, staff_id=staff_id,
                                 now=pau.clock())  # fmt: skip
    return escalation_id


def test_what_a_departed_mentor_held_can_be_taken_over_and_goes_back_to_the_inbox(
    onboarded: ChatLearner, pau: Pau
) -> None:
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    anna, jo, boss = (add_mentor(pau, f"{n}@example.org", n) for n in ("anna", "jo", "boss"))
    escalation_id = _claimed_by(pau, anna)
    now = pau.clock()
    with transaction(pau.engine) as session:
        assert not escalations.claim(session, escalation_id=escalation_id, staff_id=jo, now=now)
        assert escalations.claim(session, escalation_id=escalation_id, staff_id=boss, now=now,
                                 take_over=True)  # an admin's  # fmt: skip
        assert escalations.release_all_of(session, staff_id=boss, now=now) == 1  # they leave
    assert only_escalation(pau).status == "open" and only_escalation(pau).claimed_by is None
    with transaction(pau.engine) as session:  # anyone may pick it up again
        assert escalations.claim(session, escalation_id=escalation_id, staff_id=jo, now=now)


def test_a_reply_form_sent_twice_reaches_the_learner_once(onboarded: ChatLearner, pau: Pau) -> None:
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    maria = add_mentor(pau, "maria@example.org", "Maria")
    escalation_id = _claimed_by(pau, maria)
    for _ in range(2):  # a double click: the same form, the same token
        with transaction(pau.engine) as session:
            assert escalations.send_reply(session, escalation_id=escalation_id, staff_id=maria,
                                          text="Spacing is X.", now=pau.clock(),
                                          form_token="form-1")  # fmt: skip
    assert texts(onboarded.send_event_later()).count("Spacing is X.") == 1
    assert only_escalation(pau).replies_sent == 1


def test_with_two_open_one_resolved_the_learner_still_waits_for_the_other(
    onboarded: ChatLearner, pau: Pau
) -> None:
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    onboarded.say("I keep thinking about suicide")  # urgent, on top of the question
    maria = add_mentor(pau, "maria@example.org", "Maria")
    with transaction(pau.engine) as session:
        first, second = sorted(e.id or 0 for e in session.exec(select(Escalation)).all())
        for escalation_id in (first, second):
            escalations.claim(session, escalation_id=escalation_id, staff_id=maria,
                              now=pau.clock())  # fmt: skip
        escalations.resolve(session, escalation_id=first, staff_id=maria, now=pau.clock())
    onboarded.send_event_later()
    assert "A mentor already has your question" in onboarded.say("mentor")
    with transaction(pau.engine) as session:
        escalations.resolve(session, escalation_id=second, staff_id=maria, now=pau.clock())
    onboarded.send_event_later()
    assert "What would you like to ask them?" in onboarded.say("mentor")


def test_a_short_mentor_reply_does_not_hide_pau_lines_in_the_recent_chat(
    onboarded: ChatLearner, pau: Pau
) -> None:
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    maria = add_mentor(pau, "maria@example.org", "Maria")
    escalation_id = _claimed_by(pau, maria)
    with transaction(pau.engine) as session:
        lines = escalations.recent_chat(session, learner_id=only_escalation(pau).learner_id,
                                        limit=50)  # fmt: skip
        before = len([line for line in lines if line.who == "pau"])
        escalations.send_reply(session, escalation_id=escalation_id, staff_id=maria, text=".",
                               now=pau.clock())  # fmt: skip
    onboarded.send_event_later()
    with transaction(pau.engine) as session:
        lines = escalations.recent_chat(session, learner_id=only_escalation(pau).learner_id,
                                        limit=50)  # fmt: skip
    assert [line.who for line in lines].count("mentor") == 1
    pau_lines = [line for line in lines if line.who == "pau"]
    assert len(pau_lines) >= before  # none hidden (the echo "💬 … writes:" shows as the mentor's)
    assert not any(line.text.startswith("💬") for line in pau_lines)


def test_only_the_holder_or_an_admin_saves_an_answer_to_the_faq_and_once(
    onboarded: ChatLearner, pau: Pau
) -> None:
    onboarded.say("can I talk to a mentor about planning reviews around my exams?")
    maria, jo = add_mentor(pau, "maria@example.org", "Maria"), add_mentor(pau, "jo@e.org", "Jo")
    escalation_id = _claimed_by(pau, maria)
    faq = {"question": "How do I plan reviews?", "answer": "Every other day, two weeks out."}
    with transaction(pau.engine) as session:
        assert escalations.save_to_faq(session, escalation_id=escalation_id, staff_id=jo,
                                       now=pau.clock(), **faq) is None  # fmt: skip
        first = escalations.save_to_faq(session, escalation_id=escalation_id, staff_id=maria,
                                        now=pau.clock(), **faq)  # fmt: skip
        again = escalations.save_to_faq(session, escalation_id=escalation_id, staff_id=jo,
                                        now=pau.clock(), may_edit_any=True, **faq)  # fmt: skip
    assert first is not None and again == first
