"""The mentor inbox and the escalation page, through the real routes: what staff see (the HTML),
who may act, and what reaches the learner's chat."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from core.replies import Choices, Text
from storage.db import transaction
from storage.models import AuditEntry, Escalation, FaqEntry, Learner
from tests.admin_client import StaffClient, add_staff, signed_in_client
from tests.chat import ChatLearner
from tests.conftest import FixedClock
from webhooks.admin.inbox_view import age_in_words, cut
from webhooks.container import Pau

PASSWORD = "correct horse battery"
SCRIPT = "<script>alert(1)</script>"


def add_learner(pau: Pau, name: str, *, external_id: str, phone: str | None = None) -> int:
    with transaction(pau.engine) as session:
        row = Learner(
            channel="test", external_id=external_id, name=name, phone=phone, created_at=pau.clock()
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def learner_id_of(pau: Pau, external_id: str = "learner-1") -> int:
    with transaction(pau.engine) as session:
        row = session.exec(select(Learner).where(Learner.external_id == external_id)).one()
        assert row.id is not None
        return row.id


def open_escalation(
    pau: Pau,
    learner_id: int,
    question: str,
    *,
    reason: str = "asked",
    urgent: bool = False,
    ago: timedelta = timedelta(),
    draft: str = "",
) -> int:
    """An escalation as the dialogue opens it (the test sets its age)."""
    at = pau.clock() - ago
    with transaction(pau.engine) as session:
        row = Escalation(
            learner_id=learner_id,
            course_slug="science-of-learning",
            question=question,
            reason=reason,
            urgent=urgent,
            draft=draft,
            created_at=at,
            updated_at=at,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def escalation(pau: Pau, escalation_id: int) -> Escalation:
    with transaction(pau.engine) as session:
        row = session.get(Escalation, escalation_id)
        assert row is not None
        session.expunge(row)
        return row


def mentor(pau: Pau, email: str, name: str, role: str = "mentor") -> StaffClient:
    add_staff(pau, email, role=role, password=PASSWORD, name=name)
    staff = signed_in_client(pau, email, PASSWORD)
    staff.get("/admin/inbox")  # a page open in the browser: its csrf_token for the forms
    return staff


def get(staff: StaffClient, url: str) -> str:
    response = staff.get(url)
    assert response.status_code == 200, response.text
    return response.text


def act(staff: StaffClient, url: str, data: dict[str, str] | None = None) -> httpx.Response:
    """Press a button on the page: POST the form and follow the redirect, as a browser does."""
    return staff.post_form(url, data or {}, follow_redirects=True)


def texts_to(pau: Pau, address: str) -> list[str]:
    sent = pau.senders["test"].sent  # type: ignore[attr-defined]
    found = []
    for to, reply in sent:
        if to != address:
            continue
        if isinstance(reply, Text):
            found.append(reply.text)
        elif isinstance(reply, Choices):
            found.append(reply.prompt)
    return found


def table_body(html: str) -> str:
    match = re.search(r'<tbody id="inbox-rows".*?</tbody>', html, re.S)
    assert match, html
    return match.group(0)


@pytest.fixture
def ada(pau: Pau, onboarded: ChatLearner) -> int:
    return learner_id_of(pau)


@pytest.fixture
def anna(pau: Pau) -> StaffClient:
    return mentor(pau, "anna@example.org", "Anna Mentor")


@pytest.fixture
def ben(pau: Pau) -> StaffClient:
    return mentor(pau, "ben@example.org", "Ben Mentor")


# --- the inbox ---------------------------------------------------------------------------------


def test_inbox_lists_urgent_first_then_oldest_with_ages(pau: Pau, anna: StaffClient) -> None:
    bo = add_learner(pau, "Bo", external_id="bo")
    cy = add_learner(pau, "Cy", external_id="cy")
    di = add_learner(pau, "Di", external_id="di")
    open_escalation(pau, bo, "Old question about spacing", ago=timedelta(days=2, hours=1))
    open_escalation(pau, cy, "A newer question about recall", ago=timedelta(hours=3, minutes=5))
    open_escalation(pau, di, "I feel awful", reason="crisis", urgent=True, ago=timedelta(minutes=4))

    body = table_body(get(anna, "/admin/inbox"))

    order = [body.index(text) for text in ("I feel awful", "Old question", "A newer question")]
    assert order == sorted(order), "urgent first, then the oldest"
    urgent_row = body[: body.index("Old question")]
    assert "Urgent" in urgent_row and "crisis" in urgent_row
    assert "Urgent" not in body[body.index("Old question") :]
    assert ">4 min<" in body and ">3 h<" in body and ">2 days<" in body
    exact = (pau.clock() - timedelta(minutes=4)).strftime("%Y-%m-%d %H:%M")
    assert f'title="{exact} UTC"' in body
    assert "Bo" in body and "test" in body  # the learner's name and channel
    assert "(3 open)" in get(anna, "/admin/inbox")


def test_an_empty_inbox_says_so(pau: Pau, anna: StaffClient) -> None:
    page = get(anna, "/admin/inbox")
    assert "No learner is waiting for a mentor" in page
    assert "(0 open)" in page


def test_long_questions_are_cut_in_the_inbox(pau: Pau, anna: StaffClient) -> None:
    bo = add_learner(pau, "Bo", external_id="bo")
    long_question = "why " * 100 + "THE-END"
    open_escalation(pau, bo, long_question)
    body = table_body(get(anna, "/admin/inbox"))
    assert "THE-END" not in body and "…" in body


def test_the_partial_is_the_rows_only_with_the_count(pau: Pau, anna: StaffClient) -> None:
    bo = add_learner(pau, "Bo", external_id="bo")
    open_escalation(pau, bo, "Partial question")
    page = get(anna, "/admin/inbox")
    assert 'hx-get="/admin/inbox?partial=1&amp;show=open"' in page
    assert 'hx-trigger="every 30s"' in page
    partial = get(anna, "/admin/inbox?partial=1")
    assert "Partial question" in partial
    assert "<html" not in partial and "<tbody" not in partial
    assert 'id="inbox-count" hx-swap-oob="true"' in partial and "(1 open)" in partial


def test_the_inbox_reads_the_same_few_queries_for_1000_escalations(
    pau: Pau, anna: StaffClient
) -> None:
    bo = add_learner(pau, "Bo", external_id="bo")
    start = pau.clock()
    with transaction(pau.engine) as session:
        session.add_all(
            Escalation(
                learner_id=bo,
                question=f"question {n}",
                created_at=start - timedelta(minutes=n),
                updated_at=start,
            )
            for n in range(1000)
        )
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    sa.event.listen(pau.engine, "before_cursor_execute", count)
    try:
        page = get(anna, "/admin/inbox")
    finally:
        sa.event.remove(pau.engine, "before_cursor_execute", count)
    body = table_body(page)
    assert body.count("<tr") == 201  # 200 shown and the line that says there are more
    assert "Showing the first 200: 800 more wait behind them" in body
    assert "(1000 open)" in page
    assert "question 999" in body and "question 799" not in body  # the oldest first
    # the session check, the staff lookup and the one inbox query: never one per row
    assert len(statements) <= 5, statements


def test_age_in_words() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert age_in_words(now - timedelta(seconds=20), now) == "just now"
    assert age_in_words(now - timedelta(minutes=4, seconds=59), now) == "4 min"
    assert age_in_words(now - timedelta(hours=3, minutes=59), now) == "3 h"
    assert age_in_words(now - timedelta(hours=47), now) == "47 h"
    assert age_in_words(now - timedelta(days=2, hours=5), now) == "2 days"
    assert cut("a " * 100).endswith("…") and len(cut("a " * 100)) <= 141


# --- claiming ----------------------------------------------------------------------------------


def test_a_second_mentor_cannot_claim_or_reply(
    pau: Pau, ada: int, anna: StaffClient, ben: StaffClient
) -> None:
    escalation_id = open_escalation(pau, ada, "Can a human explain spacing?")
    act(anna, f"/admin/escalations/{escalation_id}/claim")
    assert escalation(pau, escalation_id).status == "claimed"

    response = act(ben, f"/admin/escalations/{escalation_id}/claim", {})
    assert response.url.path == f"/admin/escalations/{escalation_id}"
    assert "taken" in str(response.url.query)
    assert "Anna Mentor already claimed this one" in response.text
    page = get(ben, f"/admin/escalations/{escalation_id}")
    assert "Claimed by Anna Mentor" in page
    assert 'name="text"' not in page and "Send reply" not in page
    assert "Take over" not in page

    before = len(pau.senders["test"].sent)  # type: ignore[attr-defined]
    refused = act(ben, f"/admin/escalations/{escalation_id}/reply", {"text": "Ben here"})
    assert refused.status_code == 403
    asyncio.run(pau.drain())
    assert "Ben here" not in texts_to(pau, "learner-1")
    assert len(pau.senders["test"].sent) == before  # type: ignore[attr-defined]
    row = escalation(pau, escalation_id)
    assert row.reply == "" and row.status == "claimed"
    assert act(ben, f"/admin/escalations/{escalation_id}/resolve", {}).status_code == 403
    assert act(ben, f"/admin/escalations/{escalation_id}/release", {}).status_code == 403
    assert escalation(pau, escalation_id).status == "claimed"

    inbox = table_body(get(ben, "/admin/inbox"))
    assert "Anna Mentor" in inbox and "Claim</button>" not in inbox


def test_the_claim_button_is_a_plain_form_with_the_csrf_token(
    pau: Pau, ada: int, anna: StaffClient
) -> None:
    escalation_id = open_escalation(pau, ada, "Claim me")
    body = table_body(get(anna, "/admin/inbox"))
    form = re.search(r'<form method="post" action="([^"]+)".*?</form>', body, re.S)
    assert form and form.group(1) == f"/admin/escalations/{escalation_id}/claim"
    assert 'name="csrf_token" value="' in form.group(0)
    assert 'value=""' not in form.group(0)


def test_mine_lists_only_what_i_claimed(
    pau: Pau, ada: int, anna: StaffClient, ben: StaffClient
) -> None:
    first = open_escalation(pau, ada, "Anna's one", ago=timedelta(minutes=9))
    second = open_escalation(pau, ada, "Ben's one", ago=timedelta(minutes=8))
    open_escalation(pau, ada, "Nobody's one")
    act(anna, f"/admin/escalations/{first}/claim", {})
    act(ben, f"/admin/escalations/{second}/claim", {})
    mine = table_body(get(anna, "/admin/inbox?show=mine"))
    assert "Anna&#39;s one" in mine
    assert "Ben&#39;s one" not in mine and "Nobody&#39;s one" not in mine


def test_release_puts_it_back(pau: Pau, ada: int, anna: StaffClient, ben: StaffClient) -> None:
    escalation_id = open_escalation(pau, ada, "Release me")
    act(anna, f"/admin/escalations/{escalation_id}/claim")
    page = act(anna, f"/admin/escalations/{escalation_id}/release", {})
    assert "Released" in page.text
    assert escalation(pau, escalation_id).status == "open"
    act(ben, f"/admin/escalations/{escalation_id}/claim", {})
    assert "Send reply" in get(ben, f"/admin/escalations/{escalation_id}")


# --- replying and resolving --------------------------------------------------------------------


def test_the_claimer_replies_and_resolves_and_the_learner_hears_both(
    pau: Pau, ada: int, anna: StaffClient, clock: FixedClock
) -> None:
    escalation_id = open_escalation(
        pau, ada, "What is retrieval practice?", draft="Retrieval practice is recalling."
    )
    page = get(anna, f"/admin/escalations/{escalation_id}")
    assert "Retrieval practice is recalling." in page
    assert "Send reply" not in page  # not claimed yet: only a Claim button
    claimed = act(anna, f"/admin/escalations/{escalation_id}/claim")
    textarea = re.search(r'<textarea id="reply-text"[^>]*>(.*?)</textarea>', claimed.text, re.S)
    assert textarea and textarea.group(1) == "Retrieval practice is recalling."

    heard_before = len(texts_to(pau, "learner-1"))
    reply_text = "Hi Ada, it means pulling the answer out of memory. Anna"
    sent = act(anna, f"/admin/escalations/{escalation_id}/reply", {"text": reply_text})
    assert sent.status_code == 200 and "Reply sent" in sent.text
    asyncio.run(pau.drain())
    heard = texts_to(pau, "learner-1")[heard_before:]
    assert any(reply_text in text for text in heard), heard
    again = get(anna, f"/admin/escalations/{escalation_id}")
    textarea = re.search(r'<textarea id="reply-text"[^>]*>(.*?)</textarea>', again, re.S)
    assert textarea and textarea.group(1) == reply_text  # the earlier reply, not the draft

    clock.advance(minutes=5)
    heard_before = len(texts_to(pau, "learner-1"))
    resolved = act(anna, f"/admin/escalations/{escalation_id}/resolve", {})
    assert resolved.url.path == "/admin/inbox"
    assert "What is retrieval practice?" not in table_body(resolved.text)
    assert "What is retrieval practice?" in table_body(get(anna, "/admin/inbox?show=resolved"))
    assert escalation(pau, escalation_id).status == "resolved"
    asyncio.run(pau.drain())
    heard = texts_to(pau, "learner-1")[heard_before:]
    assert any("mentor" in text.lower() for text in heard), heard  # it is resolved
    assert "Send reply" not in get(anna, f"/admin/escalations/{escalation_id}")


def test_an_unanswered_escalation_can_be_resolved(pau: Pau, ada: int, anna: StaffClient) -> None:
    escalation_id = open_escalation(pau, ada, "never mind")
    act(anna, f"/admin/escalations/{escalation_id}/claim")
    act(anna, f"/admin/escalations/{escalation_id}/resolve", {})
    assert escalation(pau, escalation_id).status == "resolved"


def test_an_empty_reply_is_refused(pau: Pau, ada: int, anna: StaffClient) -> None:
    escalation_id = open_escalation(pau, ada, "Anyone?")
    act(anna, f"/admin/escalations/{escalation_id}/claim")
    before = len(pau.senders["test"].sent)  # type: ignore[attr-defined]
    response = act(anna, f"/admin/escalations/{escalation_id}/reply", {"text": "   "})
    assert response.status_code == 400
    assert "Write a reply first" in response.text
    asyncio.run(pau.drain())
    assert len(pau.senders["test"].sent) == before  # type: ignore[attr-defined]
    assert escalation(pau, escalation_id).reply == ""


def test_a_reply_longer_than_4000_characters_is_refused(
    pau: Pau, ada: int, anna: StaffClient
) -> None:
    escalation_id = open_escalation(pau, ada, "Long?")
    act(anna, f"/admin/escalations/{escalation_id}/claim")
    response = act(anna, f"/admin/escalations/{escalation_id}/reply", {"text": "x" * 4001})
    assert response.status_code == 422
    assert escalation(pau, escalation_id).reply == ""


def test_save_to_faq(pau: Pau, ada: int, anna: StaffClient) -> None:
    escalation_id = open_escalation(pau, ada, "Is sleep part of learning?")
    claimed = act(anna, f"/admin/escalations/{escalation_id}/claim")
    assert "Save to course FAQ" in claimed.text
    saved = act(
        anna,
        f"/admin/escalations/{escalation_id}/faq",
        {"question": "Is sleep part of learning?", "answer": "Yes: sleep consolidates memory."},
    )
    assert "Saved to the course FAQ" in saved.text
    with transaction(pau.engine) as session:
        entries = session.exec(select(FaqEntry)).all()
    assert [(e.course_slug, e.question, e.answer) for e in entries] == [
        ("science-of-learning", "Is sleep part of learning?", "Yes: sleep consolidates memory.")
    ]


# --- escaping, privacy, security ---------------------------------------------------------------


def test_learner_text_is_escaped_everywhere(pau: Pau, anna: StaffClient) -> None:
    bo = add_learner(pau, SCRIPT, external_id="bo")
    escalation_id = open_escalation(pau, bo, SCRIPT, draft=SCRIPT)
    for page in (
        get(anna, "/admin/inbox"),
        get(anna, "/admin/inbox?partial=1"),
        get(anna, f"/admin/escalations/{escalation_id}"),
    ):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert SCRIPT not in page


def test_phone_numbers_only_for_admins_or_allowed_mentors(pau: Pau, anna: StaffClient) -> None:
    bo = add_learner(pau, "Bo", external_id="bo", phone="+4915112345678")
    escalation_id = open_escalation(pau, bo, "Call me?")
    url = f"/admin/escalations/{escalation_id}"
    assert "+4915112345678" not in get(anna, url)
    admin = mentor(pau, "root@example.org", "Root Admin", role="admin")
    assert "+4915112345678" in get(admin, url)
    add_staff(pau, "cleo@example.org", password=PASSWORD, name="Cleo", can_see_phone=True)
    allowed = signed_in_client(pau, "cleo@example.org", PASSWORD)
    assert "+4915112345678" in get(allowed, url)


def test_every_action_is_audited(pau: Pau, ada: int, anna: StaffClient) -> None:
    escalation_id = open_escalation(pau, ada, "Audit me")
    base = f"/admin/escalations/{escalation_id}"
    act(anna, f"{base}/claim", {})
    act(anna, f"{base}/release", {})
    act(anna, f"{base}/claim", {})
    act(anna, f"{base}/reply", {"text": "Twelve chars"})
    act(anna, f"{base}/faq", {"question": "Audit me", "answer": "Twelve chars"})
    act(anna, f"{base}/resolve", {})
    with transaction(pau.engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.action).startswith("escalation."))
            .order_by(col(AuditEntry.id))
        ).all()
    assert [row.action for row in rows] == [
        "escalation.claim",
        "escalation.release",
        "escalation.claim",
        "escalation.reply",
        "escalation.faq",
        "escalation.resolve",
    ]
    assert {row.target for row in rows} == {f"escalation:{escalation_id}"}
    assert {row.staff_email for row in rows} == {"anna@example.org"}
    reply_row = rows[3]
    assert reply_row.detail.get("chars") == 12
    assert "Twelve" not in str([row.detail for row in rows])  # never the text itself


def test_posts_without_the_csrf_token_are_refused(pau: Pau, ada: int, anna: StaffClient) -> None:
    escalation_id = open_escalation(pau, ada, "Forged?")
    base = f"/admin/escalations/{escalation_id}"
    for action in ("claim", "release", "reply", "resolve", "faq"):
        response = anna.client.post(
            f"{base}/{action}", data={"text": "forged", "question": "q", "answer": "a"}
        )
        assert response.status_code == 403, action
    row = escalation(pau, escalation_id)
    assert row.status == "open" and row.claimed_by is None and row.reply == ""


def test_unknown_escalations_are_404(pau: Pau, anna: StaffClient) -> None:
    response = anna.client.get("/admin/escalations/9999")
    assert response.status_code == 404
    assert "No such escalation" in response.text
    for action in ("claim", "release", "resolve"):
        assert act(anna, f"/admin/escalations/9999/{action}").status_code == 404, action
    assert act(anna, "/admin/escalations/9999/reply", {"text": "hello"}).status_code == 404


def test_the_inbox_needs_a_signed_in_staff_member(pau: Pau) -> None:
    from fastapi.testclient import TestClient

    from webhooks.app import create_app
    from webhooks.config import Settings

    client = TestClient(create_app(Settings(), pau=pau, scheduler=False))
    response = client.get("/admin/inbox", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_a_learner_asking_for_a_human_reaches_the_inbox_and_hears_the_reply(
    pau: Pau, onboarded: ChatLearner, anna: StaffClient, clock: FixedClock
) -> None:
    clock.advance(minutes=1)
    onboarded.say("I want to talk to a human")  # PAU asks what the question is
    clock.advance(minutes=1)
    onboarded.say("How long should I wait between two reviews?")
    body = table_body(get(anna, "/admin/inbox"))
    assert "Ada" in body and "How long should I wait between two reviews?" in body
    assert "Claim</button>" in body
    escalation_id = int(re.findall(r"/admin/escalations/(\d+)/claim", body)[0])
    page = act(anna, f"/admin/escalations/{escalation_id}/claim").text
    assert re.search(r'class="from-learner".*?I want to talk to a human', page, re.S)
    clock.advance(minutes=1)
    act(anna, f"/admin/escalations/{escalation_id}/reply", {"text": "Anna here: ask away."})
    asyncio.run(pau.drain())
    assert any("Anna here: ask away." in text for text in texts_to(pau, "learner-1"))
    page = get(anna, f"/admin/escalations/{escalation_id}")
    chat = page[page.index('<section class="chat">') : page.index('<section class="progress">')]
    assert "Anna here: ask away." in chat
