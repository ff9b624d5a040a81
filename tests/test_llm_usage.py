"""The tutor's token ledger, answer cache and cache key, on every database backend."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.tutor.budget import Budget
from core.tutor.cache_key import answer_cache_key, normalise_question
from core.tutor.llm import LlmUsage
from storage.db import transaction
from storage.learner_store import learner_id_for
from storage.llm_usage import NO_LEARNER, SqlAnswerCache, SqlUsageLedger
from storage.models import LlmUsageRecord
from storage.privacy import delete_learner
from tests.conftest import FixedClock

DAY = date(2026, 3, 2)


def new_learner(engine: Engine, clock: FixedClock, external_id: str) -> int:
    with transaction(engine) as session:
        return learner_id_for(session, channel="test", external_id=external_id, now=clock())


def usage_rows(engine: Engine) -> list[tuple[object, ...]]:
    table = LlmUsageRecord.__table__  # type: ignore[attr-defined]
    columns = ("learner_id", "day", "purpose", "calls", "input_tokens", "output_tokens",
               "cached_tokens")  # fmt: skip
    query = sa.select(*(table.c[name] for name in columns)).order_by(
        table.c.learner_id, table.c.day, table.c.purpose
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


class TestUsageLedger:
    def test_recording_twice_adds_up_in_one_row(self, engine: Engine, clock: FixedClock) -> None:
        ada = new_learner(engine, clock, "ada")
        ledger = SqlUsageLedger(engine)
        ledger.record(learner_id=ada, day=DAY, purpose="answer", usage=LlmUsage(100, 40, 80))
        ledger.record(learner_id=ada, day=DAY, purpose="answer", usage=LlmUsage(120, 30, 0))
        assert usage_rows(engine) == [(ada, DAY, "answer", 2, 220, 70, 80)]
        assert ledger.spent(learner_id=ada, day=DAY) == (290, 290)

    def test_spent_is_per_learner_and_day_and_overall_for_the_day(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        ada, bob = new_learner(engine, clock, "ada"), new_learner(engine, clock, "bob")
        ledger = SqlUsageLedger(engine)
        ledger.record(learner_id=ada, day=DAY, purpose="answer", usage=LlmUsage(100, 10))
        ledger.record(learner_id=ada, day=DAY, purpose="grade", usage=LlmUsage(50, 5))
        ledger.record(learner_id=bob, day=DAY, purpose="hint", usage=LlmUsage(1000, 100))
        ledger.record(learner_id=ada, day=DAY + timedelta(days=1), purpose="answer",
                      usage=LlmUsage(7, 7))  # fmt: skip
        assert ledger.spent(learner_id=ada, day=DAY) == (165, 1265)
        assert ledger.spent(learner_id=bob, day=DAY) == (1100, 1265)
        assert ledger.spent(learner_id=ada, day=DAY + timedelta(days=1)) == (14, 14)
        assert ledger.spent(learner_id=ada, day=DAY - timedelta(days=1)) == (0, 0)
        assert ledger.usage_of(learner_id=ada) == [
            {"day": "2026-03-02", "purpose": "answer", "calls": 1, "input_tokens": 100,
             "output_tokens": 10, "cached_tokens": 0},
            {"day": "2026-03-02", "purpose": "grade", "calls": 1, "input_tokens": 50,
             "output_tokens": 5, "cached_tokens": 0},
            {"day": "2026-03-03", "purpose": "answer", "calls": 1, "input_tokens": 7,
             "output_tokens": 7, "cached_tokens": 0},
        ]  # fmt: skip

    def test_calls_without_a_learner_count_only_towards_the_day(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        ada = new_learner(engine, clock, "ada")
        ledger = SqlUsageLedger(engine)
        for _ in range(3):
            ledger.record(learner_id=NO_LEARNER, day=DAY, purpose="draft", usage=LlmUsage(10, 1))
        ledger.record(learner_id=ada, day=DAY, purpose="answer", usage=LlmUsage(5, 5))
        assert (None, DAY, "draft", 3, 30, 3, 0) in usage_rows(engine)
        assert len(usage_rows(engine)) == 2
        assert ledger.spent(learner_id=ada, day=DAY) == (10, 43)

    def test_concurrent_records_all_count(self, engine: Engine, clock: FixedClock) -> None:
        ada = new_learner(engine, clock, "ada")
        ledger = SqlUsageLedger(engine)

        def record_ten() -> None:
            for _ in range(10):
                ledger.record(learner_id=ada, day=DAY, purpose="answer", usage=LlmUsage(3, 1))

        threads = [threading.Thread(target=record_ten) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert usage_rows(engine) == [(ada, DAY, "answer", 40, 120, 40, 0)]

    @pytest.mark.parametrize(
        ("limits", "learner_tokens", "overall_tokens", "allowed"),
        [
            ((1000, 10_000), 0, 0, True),
            ((1000, 10_000), 999, 9_999, True),
            ((1000, 10_000), 1000, 5_000, False),  # the learner's budget is spent
            ((1000, 10_000), 10, 10_000, False),  # everyone's is
            ((0, 10**10), 10**9, 10**9, True),  # 0: no limit
            ((1000, 0), 0, 10**9, True),
        ],
    )
    def test_the_budget_allows_a_call_until_a_limit_is_reached(
        self,
        engine: Engine,
        clock: FixedClock,
        limits: tuple[int, int],
        learner_tokens: int,
        overall_tokens: int,
        allowed: bool,
    ) -> None:
        ada, bob = new_learner(engine, clock, "ada"), new_learner(engine, clock, "bob")
        ledger = SqlUsageLedger(engine)
        if learner_tokens:
            ledger.record(learner_id=ada, day=DAY, purpose="answer",
                          usage=LlmUsage(learner_tokens - 1, 1))  # fmt: skip
        if overall_tokens - learner_tokens > 0:
            ledger.record(learner_id=bob, day=DAY, purpose="answer",
                          usage=LlmUsage(overall_tokens - learner_tokens, 0))  # fmt: skip
        spent = ledger.spent(learner_id=ada, day=DAY)
        assert spent == (learner_tokens, max(overall_tokens, learner_tokens))
        budget = Budget(per_learner=limits[0], overall=limits[1])
        assert budget.allows(*spent) is allowed

    def test_a_deleted_learners_usage_goes_with_them(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        ada, bob = new_learner(engine, clock, "ada"), new_learner(engine, clock, "bob")
        ledger = SqlUsageLedger(engine)
        ledger.record(learner_id=ada, day=DAY, purpose="answer", usage=LlmUsage(10, 1))
        ledger.record(learner_id=bob, day=DAY, purpose="answer", usage=LlmUsage(20, 2))
        with transaction(engine) as session:
            delete_learner(session, learner_id=ada)
        assert usage_rows(engine) == [(bob, DAY, "answer", 1, 20, 2, 0)]
        assert ledger.spent(learner_id=ada, day=DAY) == (0, 22)


class TestAnswerCache:
    def test_a_put_answer_comes_back_and_counts_its_hits(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        cache = SqlAnswerCache(engine, clock=clock)
        assert cache.get("k" * 64) is None
        cache.put("k" * 64, "Spacing works because forgetting is spread out.")
        assert cache.hits("k" * 64) == 0
        for _ in range(3):
            assert cache.get("k" * 64) == "Spacing works because forgetting is spread out."
        assert cache.hits("k" * 64) == 3
        assert cache.get("other") is None

    def test_a_second_put_replaces_the_text_and_restarts_the_count(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        cache = SqlAnswerCache(engine, clock=clock)
        cache.put("key", "first")
        cache.get("key")
        cache.put("key", "second")
        assert cache.hits("key") == 0
        assert cache.get("key") == "second"

    def test_an_entry_expires_after_its_time_to_live(
        self, engine: Engine, clock: FixedClock
    ) -> None:
        cache = SqlAnswerCache(engine, ttl_days=30, clock=clock)
        cache.put("key", "answer")
        clock.advance(days=29, hours=23)
        assert cache.get("key") == "answer"
        clock.advance(hours=2)
        assert cache.get("key") is None
        assert cache.hits("key") == 1  # the expired lookup counted nothing
        cache.put("fresh", "still good")
        assert cache.purge_expired() == 1
        assert cache.get("fresh") == "still good"
        cache.put("key", "answer again")  # a put after expiry starts over
        assert cache.get("key") == "answer again"


def spacing_key(question: str, **change: str | int) -> str:
    """The key of a question about spacing in the demo course, with some parts changed."""
    parts: dict[str, str | int] = {"course": "learning-how-to-learn", "revision": 3,
                                   "concept_id": "spacing", "language": "en", "level": "beginner"}  # fmt: skip
    parts.update(change)
    return answer_cache_key(
        course=str(parts["course"]), revision=parts["revision"], concept_id=str(parts["concept_id"]),
        question=question, language=str(parts["language"]), level=str(parts["level"]),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("how does spacing work", "How does spacing work?", True),
        ("how does spacing work", "  how   does spacing WORK ?!! ", True),
        ("how does spacing work", "Hi! Please, how does the spacing work?", True),
        ("what's spacing", "whats spacing", True),
        ("what’s spacing?", "What's spacing", True),  # a typographic apostrophe
        ("how does spacing work 🤔", "how does spacing work", True),
        ("Ｈｏｗ does spacing work", "how does spacing work", True),  # full-width
        ("how does spacing work", "why does spacing work", False),
        ("how does spacing work", "does spacing work", False),
        ("how does spacing work", "how does spacing not work", False),
        ("is spacing better than cramming", "is cramming better than spacing", False),
        ("how does spacing work", "how does spacing work for me", False),
        ("", "?", True),
    ],
)
def test_the_same_question_gets_the_same_key_and_another_does_not(
    first: str, second: str, same: bool
) -> None:
    assert (spacing_key(first) == spacing_key(second)) is same


@pytest.mark.parametrize(
    "change",
    [
        {"course": "another-course"},
        {"revision": 4},  # a content update retires every cached answer
        {"concept_id": "retrieval"},
        {"language": "de"},
        {"level": "advanced"},
    ],
)
def test_the_key_changes_with_the_course_revision_concept_language_and_level(
    change: dict[str, str | int],
) -> None:
    assert spacing_key("how does spacing work") != spacing_key("how does spacing work", **change)


def test_the_key_is_a_sha256_hex_digest_and_the_revision_may_be_a_string() -> None:
    key = spacing_key("how does spacing work")
    assert len(key) == 64 and int(key, 16) >= 0
    assert key == spacing_key("how does spacing work", revision="3")


@pytest.mark.parametrize(
    ("language", "question", "normalised"),
    [
        ("en", "Why do the cells die?", "why do cells die"),
        ("de", "Warum sterben die Zellen?", "warum sterben zellen"),
        (
            "de",
            "Wie funktioniert das Üben mit Abstand, bitte?",
            "wie funktioniert üben mit abstand",
        ),
        ("de", "Was ist der Unterschied?", "was ist unterschied"),
        ("xx", "The why?", "why"),  # an unknown language falls back to English fillers
    ],
)
def test_fillers_are_dropped_by_language(language: str, question: str, normalised: str) -> None:
    assert normalise_question(question, language=language) == normalised
