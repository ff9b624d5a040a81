"""`export`: a short summary in the chat, then the `pau-learner-export` JSON file.

What is checked: the file has exactly the fields storage/EXPORT.md documents (so the page cannot
drift) and no internal column names; every value PAU stores about the learner, in any table, is
in the file unless EXPORT.md says why not; the learner's real answers and scores are in it; the
summary names what was learned, with the streak `progress` shows.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from core.commands import CommandKind
from core.content import Course
from core.events import EventKind, InboundEvent
from core.motivation import MotivationState, current_streak, local_day
from core.replies import Template, Text
from core.tutor.llm import LlmUsage
from storage.channel_state import remember_poll
from storage.db import to_db, transaction
from storage.learner_store import SqlLearnerStore
from storage.llm_usage import SqlUsageLedger
from storage.models import Activity, Learner, ReviewCardRecord
from tests.chat import ChatLearner
from tests.conftest import ROOT, FixedClock, make_pau
from tests.transcripts import describe
from webhooks.container import Pau

DOC = ROOT / "storage" / "EXPORT.md"
EXPLANATION = "Forgetting is fastest right after learning and each review slows it down."
REFLECTION = "I will close the book and recall the three main points tomorrow morning"
QUESTION = "why does spacing work so well?"
INTERNAL_NAMES = {"id", "learner_id", "lease_until", "attempts", "fsrs_state", "claim",
                  "platform_message_id", "next_attempt_at", "available_at", "outcome_unknown",
                  "events_retry_at", "last_error", "payload", "sequence", "weighted_sum",
                  "card_id"}  # fmt: skip


# -- what EXPORT.md says ------------------------------------------------------------------------


def documented_fields() -> dict[str, set[str]]:
    """Section path (`document`, `courses[]`, `courses[].topics[]`...) -> its documented fields."""
    sections: dict[str, set[str]] = {}
    current, in_fields = None, False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_fields, current = line == "## Fields", None
        elif in_fields and (heading := re.fullmatch(r"### `([^`]+)`", line)):
            current = heading.group(1)
            sections[current] = set()
        elif current and (row := re.match(r"\| `([a-z_]+)` \|", line)):
            sections[current].add(row.group(1))
    return sections


def not_exported() -> dict[str, str]:
    """`table.column[.key...]` or `table[column=value]` -> why it is left out of the file."""
    text = DOC.read_text(encoding="utf-8").split("## Not in the export", 1)[1]
    return dict(re.findall(r"^\| `([^`]+)` \| (.+) \|$", text, flags=re.MULTILINE))


# -- what the file holds ------------------------------------------------------------------------


def produced_fields(document: dict[str, Any]) -> dict[str, set[str]]:
    """The fields found at each documented section path, over every object there."""
    sections = documented_fields()
    found: dict[str, set[str]] = defaultdict(set)

    def walk(value: Any, path: str) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item, f"{path}[]")
        elif isinstance(value, dict) and path in sections:  # free-form notes are not descended
            found[path] |= value.keys()
            for key, inner in value.items():
                walk(inner, key if path == "document" else f"{path}.{key}")

    walk(document, "document")
    return dict(found)


def keys_anywhere(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys_anywhere(inner)
    elif isinstance(value, list):
        for item in value:
            yield from keys_anywhere(item)


def normalised(value: Any) -> str:
    """A stored or exported value as comparable text: times as aware UTC to the second."""
    if isinstance(value, datetime):
        return to_db(value).isoformat(timespec="seconds")
    text = str(value)
    if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+([+-]\d\d:\d\d|Z)?", text):
        return to_db(datetime.fromisoformat(text)).isoformat(timespec="seconds")
    return text


def text_leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every text and time inside a stored value; a list item adds `[]` to its
    list's name, as EXPORT.md writes it."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from text_leaves(inner, (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from text_leaves(item, (*path[:-1], f"{path[-1]}[]"))
    elif isinstance(value, datetime) or (isinstance(value, str) and value.strip()):
        yield path, value


def left_out(path: tuple[str, ...], omitted: dict[str, str]) -> bool:
    for pattern in omitted:
        if "[" in pattern and "=" in pattern:
            continue  # a row filter, applied to whole rows
        parts = pattern.split(".")
        if len(parts) <= len(path) and all(
            p == "*" or p == q for p, q in zip(parts, path, strict=False)
        ):
            return True
    return False


def row_left_out(table: str, row: dict[str, Any], omitted: dict[str, str]) -> bool:
    for pattern in omitted:
        match = re.fullmatch(r"(\w+)\[(\w+)=(.*)\]", pattern)
        if match and match.group(1) == table:
            value = row[match.group(2)]
            if (match.group(3) == "{}" and value == {}) or str(value) == match.group(3):
                return True
    return False


def missing_from_export(pau: Pau, learner_id: int, document: dict[str, Any]) -> list[str]:
    """Every text or time stored about the learner, in any table, that the file lacks."""
    omitted = not_exported()
    exported = {normalised(leaf) for _, leaf in text_leaves(document, ("document",))}
    missing = []
    with pau.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = table.columns.keys()
            if table.name == "learner":
                mine = table.c.id == learner_id
            elif "learner_id" in columns:
                mine = table.c.learner_id == learner_id
            else:
                continue  # course content: not about anybody
            for row in connection.execute(sa.select(table).where(mine)).mappings():
                if row_left_out(table.name, dict(row), omitted):
                    continue
                for column in columns:
                    for path, value in text_leaves(row[column], (table.name, column)):
                        if left_out(path, omitted):
                            continue
                        wanted = normalised(value)
                        if wanted not in exported and not any(wanted in e for e in exported):
                            missing.append(f"{'.'.join(path)} = {str(value)[:80]!r}")
    return missing


# -- learners -------------------------------------------------------------------------------------


def export(learner: ChatLearner) -> tuple[str, dict[str, Any]]:
    """Send `export`: the summary's text and the file's document."""
    replies = learner.send_event(InboundEvent.text_message("export"))
    [file] = learner.files()
    summaries = [describe(r) for r in replies if isinstance(r, Text) and "📦" in r.text]
    assert len(summaries) == 1, [describe(r) for r in replies]
    return summaries[0], json.loads(file.content)


def learner_id_of(pau: Pau, user_id: str) -> int:
    with transaction(pau.engine) as session:
        learner = session.exec(select(Learner).where(Learner.external_id == user_id)).one()
        assert learner.id is not None
        return learner.id


def busy_learner(pau: Pau, clock: FixedClock) -> ChatLearner:
    """A learner who did one of everything: lessons, quizzes, a reflection, an explain-back, a
    question, a question for a mentor, the progress chart, an export; plus what only real chat apps bring (a poll and
    its answer, a sticker, a template message)."""
    ada = ChatLearner(pau, "ada-4711", clock)
    ada.onboard("Adelheid")
    for message in ("Continue", "1", REFLECTION):
        ada.say(message)
    ada.tap("cmd:more")
    ada.say("Continue")
    ada.say("1")
    ada.say(EXPLANATION)  # graded by the command worker
    ada.say(QUESTION)
    ada.say("can I talk to a mentor about planning reviews around my exams?")
    ada.say("progress")
    ada.say("export")
    ada.send_event(InboundEvent(EventKind.POLL_ANSWER, option_index=1, ref="forgetting-curve-1"))
    ada.send_event(InboundEvent(EventKind.UNSUPPORTED, media_type="sticker", language="de"))
    learner_id = learner_id_of(pau, "ada-4711")
    with transaction(pau.engine) as session:
        remember_poll(session, poll_id="poll-5551", channel="test", address="ada-4711",
                      item_id="forgetting-curve-1", now=clock())  # fmt: skip
        store = SqlLearnerStore(session)
        store.enqueue(store.address(learner_id), learner_id,
                      [Template("daily_nudge", "en", ("Adelheid", "3 reviews"))], clock())  # fmt: skip
    # what a configured tutor records (this PAU has no model: the ledger is written directly)
    SqlUsageLedger(pau.engine).record(learner_id=learner_id, day=clock().date(),
                                      purpose="answer", usage=LlmUsage(900, 120))  # fmt: skip
    return ada


@pytest.fixture
def any_pau(engine: Engine, demo_course: Course, clock: FixedClock) -> Iterator[Pau]:
    """PAU on every database backend."""
    created = make_pau(engine, demo_course, clock)
    yield created
    created.close()


@pytest.fixture
def busy(any_pau: Pau, clock: FixedClock) -> tuple[ChatLearner, str, dict[str, Any]]:
    pau = any_pau
    ada = busy_learner(pau, clock)
    ChatLearner(pau, "bob-0815", clock).onboard("Bobby")  # someone else, never in Ada's file
    clock.advance(hours=1)
    summary, document = export(ada)
    return ada, summary, document


# -- the file -----------------------------------------------------------------------------------


def test_the_file_has_exactly_the_documented_fields(
    busy: tuple[ChatLearner, str, dict[str, Any]],
) -> None:
    _, _, document = busy
    assert document["format"] == "pau-learner-export" and document["version"] == 1
    produced, documented = produced_fields(document), documented_fields()
    drift = {
        section: {"undocumented": sorted(produced.get(section, set()) - fields),
                  "documented, not produced": sorted(fields - produced.get(section, set()))}
        for section, fields in documented.items()
        if produced.get(section, set()) != fields
    }  # fmt: skip
    assert not drift, f"storage/EXPORT.md and the export differ: {drift}"


def test_the_file_has_no_internal_column_names(
    busy: tuple[ChatLearner, str, dict[str, Any]],
) -> None:
    _, _, document = busy
    assert not set(keys_anywhere(document)) & INTERNAL_NAMES


def test_every_value_stored_about_the_learner_is_in_the_file(
    busy: tuple[ChatLearner, str, dict[str, Any]],
) -> None:
    ada, _, document = busy
    pau = ada.pau
    assert missing_from_export(pau, learner_id_of(pau, ada.user_id), document) == []
    assert "Bobby" not in json.dumps(document, ensure_ascii=False)


def test_the_scan_finds_what_the_file_lacks(
    busy: tuple[ChatLearner, str, dict[str, Any]],
) -> None:
    ada, _, document = busy
    pau = ada.pau
    profile = {**document["profile"], "name": ""}
    document = {**document, "activities": [], "messages": [], "profile": profile}
    missing = missing_from_export(pau, learner_id_of(pau, ada.user_id), document)
    assert "learner.name = 'Adelheid'" in missing
    for where in ("activity.response", "inbound_message.payload.text"):
        assert any(m.startswith(f"{where} = {EXPLANATION[:20]!r}"[:-1]) for m in missing), where


def test_what_the_page_leaves_out_names_real_columns() -> None:
    tables = {table.name: set(table.columns.keys()) for table in SQLModel.metadata.sorted_tables}
    for pattern in not_exported():
        name = re.split(r"[.\[]", pattern)[0]
        column = re.split(r"[.\[=]", pattern)[1].rstrip("]")
        assert name == "*" or column in tables.get(name, set()), pattern


def test_the_file_holds_the_learners_answers_and_scores(
    demo_course: Course, busy: tuple[ChatLearner, str, dict[str, Any]]
) -> None:
    ada, _, document = busy
    pau = ada.pau
    learner_id = learner_id_of(pau, ada.user_id)
    with transaction(pau.engine) as session:
        stored = session.exec(select(Activity).where(Activity.learner_id == learner_id)).all()
        cards = session.exec(
            select(ReviewCardRecord).where(ReviewCardRecord.learner_id == learner_id)
        ).all()
        stored_activities = [(a.kind, a.response, a.correct, a.score) for a in stored]
        due = {card.item_id: to_db(card.due).isoformat(timespec="seconds") for card in cards}
    activities = document["activities"]
    assert [(a["kind"], a["your_answer"] or "", a["correct"]) for a in activities] == [
        (kind, response, correct) for kind, response, correct, _ in stored_activities
    ]
    quizzes = [a for a in activities if a["kind"] == "quiz"]
    assert quizzes and all(a["question"] and a["topic"] and a["your_answer"] for a in quizzes)
    assert {
        "reflection": REFLECTION,
        "question": QUESTION,
        "explain_back": EXPLANATION,
    }.items() <= {a["kind"]: a["your_answer"] for a in activities}.items()
    [explained] = [a for a in activities if a["kind"] == "explain_back"]
    [score] = [s for kind, _, _, s in stored_activities if kind == "explain_back"]
    assert explained["score_percent"] == round(score * 100)
    titles = {c.id: c.title for c in demo_course.concepts}
    [course] = document["courses"]
    assert course["course"] == demo_course.title and course["current"] is True
    for topic in course["topics"]:
        assert topic["topic"] == titles[topic["topic_id"]]
        assert f"{topic['mastery_percent']}% {topic['topic']}" in ada.say("progress")
    assert {r["question_id"]: r["next_review_due"] for r in document["reviews"]} == due
    assert all(r["question"] and r["memory_stage"] for r in document["reviews"])
    said = [m["text"] for m in document["messages"] if m["from"] == "you"]
    assert EXPLANATION in said and "Adelheid" in said
    assert any(m["kind"] == "quiz" and m["correct_option"] for m in document["messages"])


def test_earlier_exports_are_named_not_repeated(
    busy: tuple[ChatLearner, str, dict[str, Any]],
) -> None:
    _, _, document = busy
    files = [m for m in document["messages"] if m["kind"] == "file"]
    assert [m["attachment"] for m in files] == ["pau-my-data.json"]
    assert "pau-learner-export" not in json.dumps(document["messages"])


# -- the summary --------------------------------------------------------------------------------


def streak_in(text: str) -> int:
    match = re.search(r"Streak: (\d+) day", text)
    assert match, text
    return int(match.group(1))


def test_the_summary_names_what_was_learned_and_what_is_kept(
    demo_course: Course, busy: tuple[ChatLearner, str, dict[str, Any]]
) -> None:
    _, summary, document = busy
    titles = {c.id: c.title for c in demo_course.concepts}
    studied = [titles[t["topic_id"]] for t in document["courses"][0]["topics"]]
    assert studied and all(title in summary for title in studied)
    assert summary.startswith("📦 Your data, Adelheid")
    assert f"📚 {demo_course.title} — {len(studied)} topics studied" in summary
    quizzes = [a["correct"] for a in document["activities"] if a["kind"] == "quiz"]
    assert f"quiz: {sum(quizzes)} of {len(quizzes)} right" in summary
    [explained] = [a for a in document["activities"] if a["kind"] == "explain_back"]
    assert f"explain-backs: {explained['score_percent']} % on average (1)" in summary
    assert f"⭐ {document['streak_and_xp']['xp']} XP" in summary
    assert "our chat, for 30 days" in summary and 'Send "delete"' in summary
    assert len(summary.splitlines()) <= 15


def test_the_summary_shows_the_streak_progress_shows(pau: Pau, clock: FixedClock) -> None:
    ada = ChatLearner(pau, "ada", clock)
    ada.onboard()
    ada.say("Continue")  # the lesson on the first day
    clock.advance(days=1)
    ada.say("1")  # its quiz question on the next
    learner_id = learner_id_of(pau, "ada")

    def expected() -> int:
        with transaction(pau.engine) as session:
            learner = session.get(Learner, learner_id)
            assert learner is not None
            motivation = MotivationState.from_dict(learner.motivation)
            return current_streak(motivation, local_day(clock(), learner.timezone))

    for days_later, streak in ((0, 2), (1, 2), (3, 0)):  # broken after two missed days
        clock.advance(days=days_later)
        shown = streak_in(ada.say("progress"))
        summary, document = export(ada)
        assert streak_in(summary) == shown == expected() == streak
        assert document["streak_and_xp"]["streak_days"] == streak
        assert document["streak_and_xp"]["best_streak_days"] == 2


def test_an_export_asked_for_before_summaries_still_sends_the_file(
    pau: Pau, clock: FixedClock
) -> None:
    def without_summary(learner_id: int, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"json": pau._export(learner_id, args)["json"]}  # what the worker sent before

    pau.commands.performers = {**pau.commands.performers, CommandKind.EXPORT_DATA: without_summary}
    ada = ChatLearner(pau, "ada", clock)
    ada.onboard()
    ada.transcript([("export", ["a JSON file follows in a moment", "pau-my-data.json"])])
