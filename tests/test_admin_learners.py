"""The learner pages of the admin page, through the real app and sign-in: the list and its search,
a learner's detail (chart, calendar, streak, nudges), the at-risk list, the cohorts and the
evidence report as a page and a PDF. Learners are built by chatting (`onboarded`) or as rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from storage.db import transaction
from storage.models import Activity, Conversation, Enrollment, Escalation, Learner, OutboxMessage
from tests.admin_client import StaffClient, add_staff, signed_in_client
from tests.chat import ChatLearner
from webhooks.admin.evidence_pdf import evidence_pdf, safe_filename
from webhooks.admin.evidence_view import EvidenceView
from webhooks.container import Pau

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
COURSE = "science-of-learning"
PHONE = "4915112345678"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def now(clock: Any) -> datetime:
    clock.now = NOW
    return NOW


def concept_ids(pau: Pau) -> list[str]:
    course = pau.world.courses[COURSE]
    return [concept.id for concept in course.concepts]


def add_learner(
    pau: Pau,
    name: str,
    *,
    phone: str | None = None,
    last_seen: datetime | None = None,
    answers: list[tuple[str, str, bool, datetime]] = (),  # type: ignore[assignment]
    enrolled_at: datetime = NOW - timedelta(days=20),
    state: str = "idle",
    streak: int = 0,
) -> int:
    """A consented learner enrolled in the demo course, with quiz answers (concept, item,
    correct, at) as activity rows."""
    with transaction(pau.engine) as session:
        learner = Learner(
            channel="whatsapp" if phone else "test", external_id=f"x-{name}-{enrolled_at}",
            name=name, phone=phone, created_at=enrolled_at, consented_at=enrolled_at,
            timezone="Europe/Berlin", nudges=True, last_inbound_at=last_seen,
            motivation={"streak": streak, "last_active_day": NOW.date().isoformat()}
            if streak else {},
        )  # fmt: skip
        session.add(learner)
        session.flush()
        assert learner.id is not None
        session.add(Conversation(learner_id=learner.id, state=state, data={}, updated_at=NOW))
        session.add(Enrollment(learner_id=learner.id, course_slug=COURSE, enrolled_at=enrolled_at))
        for concept, item, correct, at in answers:
            session.add(Activity(learner_id=learner.id, course_slug=COURSE, kind="quiz",
                                 concept_id=concept, item_id=item, correct=correct, at=at))  # fmt: skip
        return learner.id


@pytest.fixture
def mentor(pau: Pau, now: datetime) -> StaffClient:
    return signed_in_client(pau, "mentor@example.org", role="mentor")


@pytest.fixture
def admin(pau: Pau, now: datetime) -> StaffClient:
    return signed_in_client(pau, "admin@example.org", role="admin")


def row_of(html: str, learner_id: int) -> str:
    found = re.search(rf'<tr id="learner-{learner_id}">(.*?)</tr>', html, re.S)
    return found.group(1) if found else ""


def test_pages_need_a_signed_in_staff_member(pau: Pau, now: datetime) -> None:
    from tests.admin_client import admin_test_client

    client = admin_test_client(pau)
    for path in ("/admin/learners", "/admin/learners/1", "/admin/at-risk", "/admin/cohorts",
                 "/admin/learners/1/evidence.pdf"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 303 and "/admin/login" in response.headers["location"]


def test_search_finds_a_learner_by_name_or_id(
    onboarded: ChatLearner, pau: Pau, mentor: StaffClient
) -> None:
    other = add_learner(pau, "Grace")
    page = mentor.get("/admin/learners", params={"q": "ad"}).text
    assert "Ada" in page and "Grace" not in page
    assert "How to learn anything" in page
    by_id = mentor.get("/admin/learners", params={"q": str(other)}).text
    assert "Grace" in by_id and "Ada" not in by_id
    everyone = mentor.get("/admin/learners").text
    assert "Ada" in everyone and "Grace" in everyone
    assert "No learner found" in mentor.get("/admin/learners", params={"q": "nobody"}).text


def test_detail_shows_one_chart_line_per_studied_concept_the_streak_and_more(
    pau: Pau, mentor: StaffClient
) -> None:
    first, second, unstudied = concept_ids(pau)[:3]
    days = [NOW - timedelta(days=d) for d in (10, 9, 3, 1)]
    answers = [(first, "q1", True, days[0]), (first, "q2", True, days[1]),
               (second, "q3", False, days[2]), (first, "q1", True, days[3])]  # fmt: skip
    learner_id = add_learner(pau, "Chart", answers=answers, streak=4)
    with transaction(pau.engine) as session:
        session.add(Activity(learner_id=learner_id, course_slug=COURSE, kind="lesson",
                             concept_id=unstudied, at=days[3]))  # fmt: skip
        session.add(Escalation(learner_id=learner_id, question="help", status="open",
                               created_at=NOW, updated_at=NOW))  # fmt: skip
        session.add(Escalation(learner_id=learner_id, question="old", status="resolved",
                               created_at=NOW, updated_at=NOW))  # fmt: skip
        session.add(OutboxMessage(learner_id=learner_id, channel="test", address="x",
                                  status="sent", next_attempt_at=NOW, created_at=NOW,
                                  payload={"type": "choices", "prompt": "Ready?", "options": [
                                      {"id": "cmd:today", "label": "Go"},
                                      {"id": "cmd:mute", "label": "Mute"}]}))  # fmt: skip
        session.add(OutboxMessage(learner_id=learner_id, channel="test", address="x",
                                  status="sent", next_attempt_at=NOW, created_at=NOW,
                                  payload={"type": "text", "text": "Right!"}))  # fmt: skip
    response = mentor.get(f"/admin/learners/{learner_id}")
    assert response.status_code == 200
    page = response.text
    chart = re.search(r'<svg[^>]*class="chart mastery-chart".*?</svg>', page, re.S)
    assert chart is not None
    assert chart.group(0).count("<path") == 2  # two concepts with graded answers, not the lesson's
    assert re.search(r'class="streak">4 days<', page)
    calendar = re.search(r'<svg[^>]*class="chart activity-calendar".*?</svg>', page, re.S)
    assert calendar is not None
    assert calendar.group(0).count('data-count="1"') == 3  # the last day had a quiz and a lesson
    assert calendar.group(0).count('data-count="2"') == 1
    assert re.search(r'class="nudges">1 \(', page)  # the nudge, not the other reply
    assert "1 open escalation" in page
    assert f"/admin/learners/{learner_id}/evidence" in page
    assert "incorrect" in page and "lesson" in page


def test_detail_of_a_learner_who_chatted(
    onboarded: ChatLearner, pau: Pau, mentor: StaffClient
) -> None:
    with transaction(pau.engine) as session:
        learner_id = session.exec(select(Learner.id).where(Learner.name == "Ada")).one()
    page = mentor.get(f"/admin/learners/{learner_id}").text
    assert "Ada" in page and "Europe/Berlin" in page
    assert "No graded answers yet" in page
    assert mentor.get("/admin/learners/999999").status_code == 404


def test_a_script_name_is_escaped_everywhere(pau: Pau, admin: StaffClient) -> None:
    first = concept_ids(pau)[0]
    learner_id = add_learner(
        pau,
        SCRIPT,
        last_seen=NOW - timedelta(days=6),
        answers=[(first, "q1", True, NOW - timedelta(days=6))],
    )
    pages = [
        "/admin/learners",
        f"/admin/learners?q={SCRIPT}",
        f"/admin/learners/{learner_id}",
        f"/admin/learners/{learner_id}/evidence",
        "/admin/at-risk",
    ]
    for path in pages:
        page = admin.get(path).text
        assert SCRIPT not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
    pdf = admin.get(f"/admin/learners/{learner_id}/evidence.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (
        pdf.headers["content-disposition"]
        == f'attachment; filename="evidence-{learner_id}-script-alert-1-script.pdf"'
    )


def test_phones_are_hidden_from_a_mentor_and_shown_to_an_admin(pau: Pau, now: datetime) -> None:
    learner_id = add_learner(pau, "Phoebe", phone=PHONE)
    mentor = signed_in_client(pau, "mentor@example.org", role="mentor")
    for path in ("/admin/learners", f"/admin/learners/{learner_id}"):
        assert PHONE not in mentor.get(path).text, path
    assert "Phoebe" not in mentor.get("/admin/learners", params={"q": PHONE}).text
    admin = signed_in_client(pau, "admin@example.org", role="admin")
    for path in ("/admin/learners", f"/admin/learners/{learner_id}"):
        assert PHONE in admin.get(path).text, path
    assert "Phoebe" in admin.get("/admin/learners", params={"q": PHONE[-6:]}).text
    add_staff(pau, "trusted@example.org", can_see_phone=True)
    trusted = signed_in_client(pau, "trusted@example.org")
    assert PHONE in trusted.get(f"/admin/learners/{learner_id}").text


def test_a_mentor_may_not_see_cohorts(mentor: StaffClient) -> None:
    response = mentor.get("/admin/cohorts")
    assert response.status_code == 403 and "Admins only" in response.text
    assert mentor.get("/admin/at-risk").status_code == 200


def test_at_risk_shows_each_learners_reasons(pau: Pau, mentor: StaffClient) -> None:
    first = concept_ids(pau)[0]
    recent = NOW - timedelta(hours=3)
    idle = add_learner(pau, "Idle", last_seen=NOW - timedelta(days=5, hours=2),
                       answers=[(first, "q1", True, NOW - timedelta(days=5, hours=2))])  # fmt: skip
    wrong = add_learner(pau, "Wrong", last_seen=recent, answers=[
        (first, "q1", True, recent - timedelta(minutes=10)),
        *((first, f"q{i}", False, recent - timedelta(minutes=5 - i)) for i in range(2, 6)),
    ])  # fmt: skip
    active = add_learner(pau, "Active", last_seen=recent,
                         answers=[(first, "q1", True, recent), (first, "q2", True, recent)])  # fmt: skip
    stopped = add_learner(pau, "Gone", last_seen=NOW - timedelta(days=30))
    with transaction(pau.engine) as session:
        gone = session.get(Learner, stopped)
        assert gone is not None
        gone.stopped = True
    page = mentor.get("/admin/at-risk").text
    assert "<li>inactive 5 days</li>" in row_of(page, idle)
    assert "<li>4 wrong answers in a row</li>" in row_of(page, wrong)
    assert "inactive" not in row_of(page, wrong)
    assert row_of(page, active) == "" and "Active" not in page
    assert "Gone" not in page


def test_the_evidence_report_lists_every_activity_as_a_page_and_a_pdf(
    pau: Pau, mentor: StaffClient
) -> None:
    first, second = concept_ids(pau)[:2]
    answers = [(first, f"q{i}", i % 3 != 0, NOW - timedelta(days=12 - i)) for i in range(12)]
    learner_id = add_learner(pau, "Zoë 李 Ада", answers=answers)
    with transaction(pau.engine) as session:
        session.add(Activity(learner_id=learner_id, course_slug=COURSE, kind="explain_back",
                             concept_id=second, score=0.75, at=NOW - timedelta(hours=1)))  # fmt: skip
    page = mentor.get(f"/admin/learners/{learner_id}/evidence").text
    assert "Activities (13)" in page and "@media print" in page
    assert page.count("<tr><td>2026-") == 13
    assert "score 75%" in page and "incorrect" in page and "Zoë 李 Ада" in page
    response = mentor.get(f"/admin/learners/{learner_id}/evidence.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (
        response.headers["content-disposition"]
        == f'attachment; filename="evidence-{learner_id}-zoe.pdf"'
    )
    assert response.content.startswith(b"%PDF")
    assert b"/Subject (13 activities)" in response.content


def test_the_pdf_survives_any_name_with_the_core_font_too() -> None:
    view = EvidenceView(
        learner_id=7, name="李小龍 🙂 Zoë", course_title="Ωmega", period="-", generated="-",
        totals=(("Activities", "0"),), concepts=(), activities=(),
    )  # fmt: skip
    for system_font in (True, False):
        content = evidence_pdf(view, system_font=system_font)
        assert content.startswith(b"%PDF") and b"/Subject (0 activities)" in content
    assert safe_filename("李小龍", 7) == "evidence-7.pdf"
    assert safe_filename('a"b/../c\r\n', 7) == "evidence-7-a-b-c.pdf"


def test_cohorts_show_retention_for_two_start_weeks(pau: Pau, admin: StaffClient) -> None:
    first = concept_ids(pau)[0]
    week_10 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # Monday of ISO week 10
    week_11 = datetime(2026, 3, 10, 9, tzinfo=UTC)  # Tuesday of week 11
    # week 10: both active in week 0, one of them in week 1 too, nobody in week 2
    add_learner(pau, "A10", enrolled_at=week_10, answers=[(first, "q1", True, week_10),
                                                          (first, "q2", True, week_10 + timedelta(days=8))])  # fmt: skip
    add_learner(
        pau, "B10", enrolled_at=week_10, answers=[(first, "q1", True, week_10 + timedelta(days=1))]
    )
    # week 11: the one learner, active in week 0 and week 1
    add_learner(pau, "C11", enrolled_at=week_11, answers=[(first, "q1", True, week_11),
                                                          (first, "q2", False, week_11 + timedelta(days=7))])  # fmt: skip
    page = admin.get("/admin/cohorts").text
    rows = dict(re.findall(r'<tr class="cohort" data-week="([^"]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {"2026-W10", "2026-W11"}
    w10 = re.sub(r"<[^>]+>", "", rows["2026-W10"].split('class="retention">')[1])
    w11 = re.sub(r"<[^>]+>", "", rows["2026-W11"].split('class="retention">')[1])
    assert w10.split() == ["w0:", "100%", "·", "w1:", "50%", "·", "w2:", "0%"]
    assert w11.split() == ["w0:", "100%", "·", "w1:", "100%"]
    assert "<td>2</td>" in rows["2026-W10"] and "<td>1</td>" in rows["2026-W11"]
    assert rows["2026-W10"].count("<polyline") == 1


def test_the_report_queries_on_every_database(engine: Any, demo_course: Any) -> None:
    """The windowed quiz query, date() per day, the JSON text match and ILIKE, on SQLite and
    PostgreSQL alike."""
    from storage import reports
    from storage.content_repo import import_course
    from storage.db import reading

    with transaction(engine) as session:
        import_course(session, course=demo_course, now=NOW)
    first = demo_course.concepts[0].id
    fake = type("FakePau", (), {"engine": engine, "world": None})()
    answers = [(first, f"q{i}", i == 0, NOW - timedelta(days=4, minutes=30 - i)) for i in range(25)]
    learner_id = add_learner(fake, "Ünal", phone=PHONE, answers=answers,  # type: ignore[arg-type]
                             last_seen=NOW - timedelta(days=4))  # fmt: skip
    with transaction(engine) as session:
        session.add(OutboxMessage(learner_id=learner_id, channel="whatsapp", address="x",
                                  status="sent", next_attempt_at=NOW, created_at=NOW,
                                  payload={"type": "template", "name": "nudge_daily",
                                           "language": "en", "parameters": []}))  # fmt: skip
    with reading(engine) as session:
        (row,) = reports.risk_facts(session, now=NOW)
        found = reports.search_learners(session, query="üNAL", show_phone=False, page=1, now=NOW)
        by_phone = reports.search_learners(
            session, query=PHONE[:5], show_phone=True, page=1, now=NOW
        )
        hidden = reports.search_learners(
            session, query=PHONE[:5], show_phone=False, page=1, now=NOW
        )
        report = reports.learner_report(session, learner_id=learner_id, show_phone=False, now=NOW)
        cohorts = reports.cohort_facts(session)
    assert len(row.facts.recent_quizzes) == reports.RECENT_QUIZZES
    assert [q.item_id for q in row.facts.recent_quizzes][-1] == "q24"
    assert row.facts.last_active_at == NOW - timedelta(days=4)
    assert [r.id for r in found.rows] == [learner_id] and found.rows[0].phone is None
    assert [r.phone for r in by_phone.rows] == [PHONE] and hidden.rows == ()
    assert report is not None and report.nudges_sent == 1 and len(report.activities) == 25
    assert report.phone is None
    (member,) = cohorts.members
    assert member.active_days == {(NOW - timedelta(days=4)).date()}


def test_one_graded_answer_is_a_dot_in_the_chart_and_reads_in_the_singular(
    pau: Pau, mentor: StaffClient
) -> None:
    first = concept_ids(pau)[0]
    learner_id = add_learner(
        pau, "Solo", last_seen=NOW, answers=[(first, "q1", True, NOW)], streak=1
    )
    page = mentor.get(f"/admin/learners/{learner_id}").text
    chart = re.search(r'<svg[^>]*class="chart mastery-chart".*?</svg>', page, re.S)
    assert chart is not None
    assert chart.group(0).count("<circle") == 1 and "<path" not in chart.group(0)
    assert re.search(r'class="streak">1 day<', page) and "1 days" not in page
    assert '<span class="count">(1 activity)</span>' in page
    joined = (NOW - timedelta(days=20)).astimezone(ZoneInfo("Europe/Berlin"))
    assert f"{joined:%Y-%m-%d %H:%M} Europe/Berlin" in page  # the learner's zone, named
    evidence = mentor.get(f"/admin/learners/{learner_id}/evidence").text
    assert "<dt>Streak</dt><dd>1 day</dd>" in evidence


def test_a_cohort_in_its_first_week_is_a_dot(pau: Pau, admin: StaffClient) -> None:
    first = concept_ids(pau)[0]
    monday = datetime(2026, 3, 16, 9, tzinfo=UTC)  # Monday of ISO week 12, NOW's week
    add_learner(pau, "New", enrolled_at=monday, answers=[(first, "q1", True, monday)])
    page = admin.get("/admin/cohorts").text
    rows = dict(re.findall(r'<tr class="cohort" data-week="([^"]+)">(.*?)</tr>', page, re.S))
    assert rows["2026-W12"].count("<circle") == 1 and "<polyline" not in rows["2026-W12"]


def test_the_calendar_names_every_month_it_shows() -> None:
    from core.insights import activity_calendar
    from webhooks.admin.charts import activity_calendar as draw

    now = datetime(2026, 12, 1, 21, 50, tzinfo=UTC)  # a Tuesday: December's week starts in Nov
    svg = draw(activity_calendar([now], now, "Europe/Berlin"))
    months = re.findall(r'font-size="8">([A-Z][a-z]{2})</text>', svg)
    assert [m for m in months if m not in ("Mon", "Wed", "Fri")] == [
        "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    ]  # fmt: skip
