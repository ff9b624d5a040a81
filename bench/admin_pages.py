"""The admin page's render times (issue 11): the mentor inbox with 1,000 open escalations and a
learner with a year of history, p50/p99 over N sequential requests.

The database (a temporary SQLite file, or with --postgres a scratch PostgreSQL database made
beside the given server's URL and dropped at the end) is made by the app's migrations, with the
demo course imported, and then bulk-inserted (not through the dialogue):

- 1,000 learners (a third on WhatsApp, with a phone number), each with a conversation, an active
  enrollment, a few weeks of activities, chat in the outbox and the inbound table, and ONE open
  escalation each (about 5% urgent, 20% claimed by one of three mentors, questions of 50-300
  characters, a drafted answer);
- learner #1 has a year of history instead (--year-days): about 4 activities a day (lessons,
  quizzes right and wrong, explain-backs with scores, reflections, questions), the progress of
  every concept, the motivation (streak, XP) and the review cards as the engine computes them
  (core.progress.apply_activity, core.motivation.on_activity, core.review.cards), and the last 30
  days of chat (the retention period) with a nudge most days.

Then the real server runs as production does, a child `pau serve --no-scheduler` (uvicorn, access
log at INFO) on that database; an admin account (argon2, the real parameters) signs in through
the login form with httpx, and each page is fetched 5 times to warm up, then N times one after
another, timed on the client from the request to the last byte of the body. Every response must
be a 200 with the content it should have (the inbox's 200 rows and "800 more", the learner's name
and activity count, the evidence's activity total, a PDF), so a broken page is never timed.

The ratio is each page's p50 over the baseline's p50, measured in the same run, same server, same
client: GET /healthz (no session, no database, a JSON body). A signed-in page that does almost
nothing (a learner search that matches nobody) is measured too, to show what the session check
and the page template cost by themselves.

    python bench/admin_pages.py [--requests 100] [--year-days 365]
        [--postgres [postgresql://postgres@127.0.0.1:5432/postgres]]

About 3 minutes on a busy 2-core machine (load average 4): seeding about 20 s, then the PDF
and the at-risk page take most of it (about half a second a request each).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from markupsafe import escape  # noqa: E402

from bench.scratch_database import scratch_postgres  # noqa: E402
from core.content import Course  # noqa: E402
from core.content_loader import load_course  # noqa: E402
from core.events import EventKind, InboundEvent  # noqa: E402
from core.learner import ActivityRecord, ConceptProgress  # noqa: E402
from core.motivation import MotivationState, on_activity  # noqa: E402
from core.progress import apply_activity  # noqa: E402
from core.replies import Choices, Option, Quiz, Text, reply_to_dict  # noqa: E402
from core.review.cards import ReviewCard, ReviewScheduler  # noqa: E402
from storage.content_repo import import_course  # noqa: E402
from storage.db import make_engine, transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Activity,
    Conversation,
    Enrollment,
    Escalation,
    InboundMessage,
    Learner,
    OutboxMessage,
    ReviewCardRecord,
    Staff,
)
from tests.load import free_port, stop_process, wait_until_up  # noqa: E402
from webhooks.admin.auth import hash_password  # noqa: E402

COURSE = load_course(ROOT / "content" / "science-of-learning")
LEARNERS = 1000
ADMIN_EMAIL, PASSWORD = "bench-admin@example.org", "bench admin password 0123"
RETENTION_DAYS = 30  # pau_message_retention_days' default: older chat is purged
ZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Asia/Kolkata", "Africa/Lagos")
NAMES = ("Ada", "Bola", "Chen", "Dara", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas",
         "Kemi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq")  # fmt: skip
OPENINGS = (
    "I don't understand why spacing works better than cramming",
    "Can someone explain the forgetting curve again",
    "The quiz said my answer was wrong but I think it is right",
    "How do I use retrieval practice when I study for my exam next week",
    "I keep mixing up interleaving and spacing",
    "Is it normal that I forget everything after two days",
    "My explain-back got a low score and I would like a human to look at it",
    "I have a question about dual coding with diagrams",
)
DETAILS = (
    "I read the lesson twice and it still does not click for me.",
    "My teacher told us the opposite last year, so now I am confused.",
    "Could you give me an example from a real classroom?",
    "I study in the evenings after work and I only have about twenty minutes.",
    "Is there something I should read besides the lessons here?",
    "The example with the flashcards made sense, but the one with the chapters did not.",
    "I answered B because the question said 'most effective', not 'fastest'.",
    "Thanks for the help so far, the course is really useful.",
)
NONE_YET = "nobody-matches-this"
COUNT = r'<span class="count">\(?{}[^<]*</span>'  # "(12)", "(12 activities)" or "12"


def question_text(rng: random.Random) -> str:
    """A learner's question of 50-300 characters."""
    text = rng.choice(OPENINGS) + "?"
    for detail in rng.sample(DETAILS, rng.randint(0, 4)):
        if len(text) + 1 + len(detail) > 300:
            break
        text += " " + detail
    return text


@dataclass
class History:
    """One learner's activities, and what the engine would have stored after them."""

    activities: list[dict[str, Any]] = field(default_factory=list)
    progress: dict[str, ConceptProgress] = field(default_factory=dict)
    motivation: MotivationState = field(default_factory=MotivationState)
    cards: dict[str, tuple[str, ReviewCard]] = field(default_factory=dict)  # item -> concept, card


def history(
    rng: random.Random, course: Course, *, days: int, now: datetime, zone: str, cards: bool
) -> History:
    """About four activities on most days of the last `days`, the current concept moving on
    through the course, earlier ones quizzed again now and then."""
    result, scheduler = History(), ReviewScheduler(fuzz=False)
    concepts = course.concepts
    days_per_concept = max(1, days // len(concepts))
    start = (now - timedelta(days=days)).replace(hour=7, minute=0, second=0, microsecond=0)
    for day in range(days):
        if rng.random() > 0.9:
            continue  # a day off
        current = min(day // days_per_concept, len(concepts) - 1)
        moment = start + timedelta(days=day, minutes=rng.randint(0, 600))
        for _ in range(rng.randint(2, 7)):
            moment += timedelta(minutes=rng.randint(2, 25))
            if moment >= now:
                break
            concept = concepts[current if rng.random() < 0.75 else rng.randint(0, current)]
            record = activity(rng, concept)
            result.activities.append(
                {"kind": record.kind, "concept_id": record.concept_id, "item_id": record.item_id,
                 "correct": record.correct, "score": record.score, "response": record.response,
                 "duration_ms": record.duration_ms, "at": moment}
            )  # fmt: skip
            result.progress = apply_activity(result.progress, record, moment)
            result.motivation, _ = on_activity(
                result.motivation, kind=record.kind, now=moment, timezone=zone,
                correct=record.correct, score=record.score,
            )  # fmt: skip
            if cards and record.kind == "quiz":
                known = result.cards.get(record.item_id)
                card = known[1] if known else scheduler.new_card(record.item_id, moment)
                card, _ = scheduler.review(card, correct=bool(record.correct), now=moment)
                result.cards[record.item_id] = (record.concept_id, card)
    return result


def activity(rng: random.Random, concept: Any) -> ActivityRecord:
    roll = rng.random()
    if roll < 0.15:
        return ActivityRecord(
            "lesson", concept_id=concept.id, duration_ms=rng.randint(30, 240) * 1000
        )
    if roll < 0.70:
        item = rng.choice(concept.quiz)
        return ActivityRecord("quiz", concept_id=concept.id, item_id=item.id,
                              correct=rng.random() < 0.72, duration_ms=rng.randint(4, 40) * 1000)  # fmt: skip
    if roll < 0.82:
        return ActivityRecord("explain_back", concept_id=concept.id,
                              score=round(rng.uniform(0.2, 1.0), 2), response=question_text(rng))  # fmt: skip
    if roll < 0.94:
        return ActivityRecord("reflection", concept_id=concept.id, response=question_text(rng))
    return ActivityRecord("question", concept_id=concept.id, response=question_text(rng))


def chat(rng: random.Random, learner_id: int, learner: dict[str, Any], acts: list[dict[str, Any]],
         now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """Inbound and outbox rows for the activities in the retention period, and a nudge a day."""
    inbound: list[dict[str, Any]] = []
    outbox: list[dict[str, Any]] = []
    since = now - timedelta(days=RETENTION_DAYS)

    def sent(reply: Any, at: datetime) -> None:
        outbox.append(
            {"learner_id": learner_id, "channel": learner["channel"],
             "address": learner["external_id"], "payload": reply_to_dict(reply), "status": "sent",
             "attempts": 1, "next_attempt_at": at, "created_at": at, "sent_at": at}
        )  # fmt: skip

    def heard(event: InboundEvent, at: datetime) -> None:
        inbound.append(
            {"channel": learner["channel"], "learner_id": learner_id, "payload": event.to_dict(),
             "platform_message_id": f"bench-{learner_id}-{len(inbound)}", "received_at": at,
             "available_at": at, "processed_at": at}
        )  # fmt: skip

    for act in (a for a in acts if a["at"] >= since):
        at = act["at"]
        if act["kind"] == "quiz":
            item = COURSE.quiz_item(act["item_id"])
            assert item is not None
            sent(Quiz(item.question, item.options or ("yes", "no"), item.correct_index or 0,
                      item.explanation, item.id), at - timedelta(seconds=20))  # fmt: skip
            heard(InboundEvent(EventKind.CHOICE, choice_id="0", ref=item.id), at)
            sent(Text("Right!" if act["correct"] else "Not quite: " + item.explanation), at)
        else:
            heard(InboundEvent.text_message(act["response"] or "next"), at)
            sent(Text(f"Good work on {act['concept_id'].replace('-', ' ')}. Next one?"), at)
    for day in range(min(RETENTION_DAYS, 365)):
        if rng.random() < 0.7:
            at = now - timedelta(days=day, hours=rng.randint(1, 12))
            sent(Choices("Ready for today's five minutes?", (
                Option("cmd:today", "Start"), Option("cmd:fewer", "Fewer reminders"),
                Option("cmd:mute", "Mute"))), at)  # fmt: skip
    return inbound, outbox


@dataclass(frozen=True)
class Seeded:
    year_learner: int
    year_escalation: int
    year_name: str
    year_activities: int
    rows: dict[str, int]
    seconds: float


def insert(
    connection: sa.Connection, model: Any, rows: list[dict[str, Any]], ids: bool = False
) -> list[int]:
    """Rows in one executemany; their new ids, in order, when asked (row by row on SQLite)."""
    table = model.__table__
    if ids:
        statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [row[0] for row in connection.execute(statement, rows)]
    connection.execute(sa.insert(table), rows)
    return []


def seed(url: str, *, year_days: int, now: datetime, seed_value: int = 11) -> Seeded:
    started = time.perf_counter()
    rng = random.Random(seed_value)
    upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as session:
        import_course(session, course=COURSE, now=now - timedelta(days=year_days + 1))
    password_hash = hash_password(PASSWORD)  # argon2id, the real parameters
    rows: dict[str, int] = {}
    with engine.begin() as connection:
        staff_ids = insert(connection, Staff, ids=True, rows=[
            {"email": email, "name": name, "role": role, "password_hash": password_hash,
             "created_at": now - timedelta(days=400)}
            for email, name, role in [(ADMIN_EMAIL, "Bench Admin", "admin"),
                                      ("m1@example.org", "Mira", "mentor"),
                                      ("m2@example.org", "Noah", "mentor"),
                                      ("m3@example.org", "Olu", "mentor")]])  # fmt: skip
        learners, histories = [], []
        for n in range(LEARNERS):
            year = n == 0
            days = year_days if year else rng.randint(3, 40)
            zone = ZONES[n % len(ZONES)]
            channel = "whatsapp" if n % 3 == 2 else "telegram"
            past = history(rng, COURSE, days=days, now=now - timedelta(days=0 if year else rng.randint(0, 9)),
                           zone=zone, cards=year)  # fmt: skip
            last = past.activities[-1]["at"] if past.activities else now - timedelta(days=days)
            joined = now - timedelta(days=days + 1)
            learners.append(
                {"channel": channel, "external_id": f"bench-{n}", "consented_at": joined,
                 "name": f"{NAMES[n % len(NAMES)]} {n}" + (" (a year)" if year else ""),
                 "level": "beginner", "daily_time": "08:00", "timezone": zone, "nudges": True,
                 "language": "en", "created_at": joined, "last_inbound_at": last,
                 "phone": f"+49151{n:07d}" if channel == "whatsapp" else None,
                 "motivation": past.motivation.to_dict(),
                 "reviews_logged": sum(1 for a in past.activities if a["kind"] == "quiz"),
                 "nudge_state": {"last_sent_at": (last + timedelta(hours=20)).isoformat()}}
            )  # fmt: skip
            histories.append(past)
        ids = insert(connection, Learner, learners, ids=True)
        enrollments, acts, convs, cards, inbound, outbox, escalations = [], [], [], [], [], [], []
        for lid, learner, past in zip(ids, learners, histories, strict=True):
            joined = learner["created_at"]
            convs.append(
                {
                    "learner_id": lid,
                    "state": "idle",
                    "data": {},
                    "updated_at": learner["last_inbound_at"],
                }
            )
            enrollments.append(
                {"learner_id": lid, "course_slug": COURSE.slug, "active": True, "enrolled_at": joined,
                 "progress": {cid: p.to_dict() for cid, p in past.progress.items()}, "stats": {}}
            )  # fmt: skip
            acts += [{**a, "learner_id": lid, "course_slug": COURSE.slug} for a in past.activities]
            cards += [
                {"learner_id": lid, "item_id": item, "course_slug": COURSE.slug, "concept_id": concept,
                 "fsrs_state": dict(card.fsrs_state), "due": card.due, "reviews": 1, "updated_at": now}
                for item, (concept, card) in past.cards.items()
            ]  # fmt: skip
            heard, said = chat(rng, lid, learner, past.activities, now)
            inbound += heard
            outbox += said
            urgent = rng.random() < 0.05 and lid != ids[0]
            claimed = not urgent and rng.random() < 0.20 and lid != ids[0]
            created = now - timedelta(minutes=rng.randint(1, 72 * 60))
            escalations.append(
                {"learner_id": lid, "course_slug": COURSE.slug, "question": question_text(rng),
                 "concept_id": rng.choice(COURSE.concepts).id, "urgent": urgent,
                 "reason": "crisis" if urgent else rng.choice(("asked", "asked", "tutor", "no_answer")),
                 "status": "claimed" if claimed else "open",
                 "claimed_by": rng.choice(staff_ids[1:]) if claimed else None,
                 "claimed_at": created + timedelta(minutes=5) if claimed else None,
                 "draft": " ".join(rng.sample(DETAILS, 4)), "created_at": created, "updated_at": created}
            )  # fmt: skip
        insert(connection, Conversation, convs)
        insert(connection, Enrollment, enrollments)
        insert(connection, Activity, acts)
        insert(connection, ReviewCardRecord, cards)
        insert(connection, InboundMessage, inbound)
        insert(connection, OutboxMessage, outbox)
        escalation_ids = insert(connection, Escalation, escalations, ids=True)
        rows = {"staff": len(staff_ids), "learners": len(ids), "enrollments": len(enrollments),
                "activities": len(acts), "review cards": len(cards), "inbound": len(inbound),
                "outbox": len(outbox), "escalations": len(escalation_ids)}  # fmt: skip
    engine.dispose()
    return Seeded(ids[0], escalation_ids[0], learners[0]["name"], len(histories[0].activities), rows,
                  time.perf_counter() - started)  # fmt: skip


@contextmanager
def pau_serve(url: str, workdir: Path) -> Iterator[str]:
    """`pau serve --no-scheduler` on `url`, as production runs it; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "PAU_LOG_LEVEL": "INFO",
           "PAU_SECRET_KEY": "bench-admin-pages-secret-0123456789"}  # fmt: skip
    with (workdir / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "webhooks.cli", "serve", "--no-scheduler", "--port", str(port)],
            cwd=workdir, env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        wait_until_up(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def sign_in(client: httpx.Client) -> None:
    form = client.get("/admin/login")
    token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
    assert form.status_code == 200 and token, form.status_code
    answer = client.post("/admin/login", data={"email": ADMIN_EMAIL, "password": PASSWORD,
                                               "csrf_token": token.group(1)})  # fmt: skip
    assert answer.status_code == 303 and "pau_admin" in client.cookies, answer.status_code


def must(condition: bool, page: str, what: str) -> None:
    if not condition:
        raise SystemExit(f"{page}: {what}")


def pages(seeded: Seeded, question: str) -> list[tuple[str, str, Callable[[httpx.Response], None]]]:
    """(label, path, a check of the response's content) for every page timed."""
    lid = seeded.year_learner

    def healthz(r: httpx.Response) -> None:
        must(r.json() == {"status": "ok"}, "/healthz", r.text[:80])

    def empty_search(r: httpx.Response) -> None:
        ok = re.search(COUNT.format(r"0"), r.text) is not None and "No learner found." in r.text
        must(ok, "search", "not an empty result")

    def inbox(r: httpx.Response) -> None:
        rows = len(re.findall(r'<tr class="[^"]*status-(?:open|claimed)', r.text))
        must(rows == 200, "inbox", f"{rows} rows, not 200")
        must("800 more wait behind them" in r.text, "inbox", "no '800 more'")

    def learner(r: httpx.Response) -> None:
        must(str(escape(seeded.year_name)) in r.text, "learner", "not the learner's page")
        total = re.search("Activity, last 26 weeks " + COUNT.format(r"(\d+)"), r.text)
        must(bool(total and int(total.group(1)) > 100), "learner", "no activity calendar")
        must(r.text.count("<tr><td>") >= len(COURSE.concepts), "learner", "no concept rows")

    def evidence(r: httpx.Response) -> None:
        must(f"Activities ({seeded.year_activities})" in r.text, "evidence", "wrong activity total")

    def pdf(r: httpx.Response) -> None:
        must(r.headers["content-type"] == "application/pdf" and r.content[:5] == b"%PDF-"
             and len(r.content) > 10_000, "evidence.pdf", "not a PDF")  # fmt: skip

    def escalation(r: httpx.Response) -> None:
        must(str(escape(question)) in r.text, "escalation", "not its question")
        must("Recent chat" in r.text and "Progress" in r.text, "escalation", "no chat/progress")

    def at_risk(r: httpx.Response) -> None:
        total = re.search("At-risk learners " + COUNT.format(r"(\d+)"), r.text)
        must(bool(total and int(total.group(1)) > 0), "at-risk", "nobody at risk")

    return [
        ("GET /healthz (baseline)", "/healthz", healthz),
        ("signed-in empty search", f"/admin/learners?q={NONE_YET}", empty_search),
        ("inbox, 1,000 open", "/admin/inbox", inbox),
        ("learner, a year", f"/admin/learners/{lid}", learner),
        ("evidence page", f"/admin/learners/{lid}/evidence", evidence),
        ("evidence PDF", f"/admin/learners/{lid}/evidence.pdf", pdf),
        ("escalation page", f"/admin/escalations/{seeded.year_escalation}", escalation),
        ("at-risk, 1,000", "/admin/at-risk", at_risk),
    ]


def timed(client: httpx.Client, path: str, check: Callable[[httpx.Response], None],
          requests: int, warm_up: int = 5) -> tuple[list[float], int]:  # fmt: skip
    """Milliseconds per request (to the body's last byte), and the body's size."""
    times = []
    for n in range(warm_up + requests):
        started = time.perf_counter()
        response = client.get(path)
        body = response.content
        elapsed = (time.perf_counter() - started) * 1000
        must(response.status_code == 200, path, f"status {response.status_code}")
        check(response)
        if n >= warm_up:
            times.append(elapsed)
    return times, len(body)


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument("--year-days", type=int, default=365, help="the long learner's history")
    parser.add_argument("--postgres", nargs="?", const="postgresql://postgres@127.0.0.1:5432/postgres",
                        default=None, help="on a scratch PostgreSQL database beside this server's URL")  # fmt: skip
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)  # the server's clock is the real one
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pau-bench-admin-") as tmp:
        workdir = Path(tmp)
        with database(args.postgres, workdir) as url:
            seeded = seed(url, year_days=args.year_days, now=now)
            shown = ", ".join(f"{count:,} {name}" for name, count in seeded.rows.items())
            print(f"seeded in {seeded.seconds:.1f} s: {shown}; learner {seeded.year_learner} has "
                  f"{seeded.year_activities:,} activities over {args.year_days} days", flush=True)  # fmt: skip
            engine = make_engine(url)
            with engine.connect() as connection:
                question = connection.execute(sa.select(Escalation.question).where(
                    Escalation.id == seeded.year_escalation)).scalar_one()  # fmt: skip
            engine.dispose()
            with pau_serve(url, workdir) as base, httpx.Client(base_url=base, timeout=60) as client:
                sign_in(client)
                results = []
                for label, path, check in pages(seeded, question):
                    times, size = timed(client, path, check, args.requests)
                    results.append((label, path, times, size))
                    print(f"  {label}: done", flush=True)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nadmin pages on {backend}, `pau serve --no-scheduler` (uvicorn, access log on), one "
          f"httpx client, {args.requests} sequential requests each after 5 warm-up; load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")  # fmt: skip
    header = f"{'page':<26} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8} {'ratio':>7} {'KiB':>7}  path"
    print(header)
    print("-" * len(header))
    baseline = statistics.median(results[0][2])
    for label, path, times, size in results:
        p50 = statistics.median(times)
        print(f"{label:<26} {p50:>8.1f} {percentile(times, 0.99):>8.1f} {statistics.fmean(times):>8.1f} "
              f"{max(times):>8.1f} {p50 / baseline:>7.1f} {size / 1024:>7.1f}  {path}")  # fmt: skip
    print("\nratio: the page's p50 / GET /healthz's p50 (same server, same client, same run)")
    return 0


@contextmanager
def database(postgres: str | None, workdir: Path) -> Iterator[str]:
    if postgres:
        with scratch_postgres(postgres, "pau_bench_admin") as url:
            yield url
    else:
        yield f"sqlite:///{workdir}/bench.db"


if __name__ == "__main__":
    sys.exit(main())
