"""Time to plan "today's three" for a learner with 1,000 review cards.

Measured in one run, each the median of many repeats:
  - plan_session alone, with 0 due reviews (the baseline) and with 1,000 due reviews;
  - loading the learner's due reviews from SQLite (indexed `due`, FSRS retrievability computed);
  - a whole "today" message through the runner: load, plan, save, outbox (SQLite commits).

    python bench/planner.py [--cards 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.content_loader import load_course
from core.events import InboundEvent
from core.learner import ActivityRecord, ConceptProgress, DueReview
from core.mastery import MasteryState
from core.planner import PlannerInput, plan_session
from core.replies import Reply
from storage.content_repo import import_course
from storage.db import make_engine, transaction
from storage.learner_store import SqlLearnerStore, learner_id_for
from storage.locks import LocalLocks
from webhooks.config import Settings
from webhooks.container import Pau

COURSE = load_course(Path(__file__).resolve().parent.parent / "content" / "science-of-learning")
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


class NullSender:
    async def send(self, address: str, reply: Reply) -> None:
        return None


def median_ms(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def studied_progress() -> dict[str, ConceptProgress]:
    mastery = MasteryState().with_evidence(1.0, 1.0, NOW - timedelta(days=3))
    return {c.id: ConceptProgress(lessons=1, answered=4, correct=3, mastery=mastery,
                                  last_studied=(NOW - timedelta(days=3)).isoformat()) for c in COURSE.concepts}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cards", type=int, default=1000)
    args = parser.parse_args()
    items = [(item.id, c.id) for c in COURSE.concepts for item in c.quiz]
    card_items = [
        (f"{items[n % len(items)][0]}#{n}", items[n % len(items)][1]) for n in range(args.cards)
    ]

    progress = studied_progress()
    empty = PlannerInput(now=NOW, course=COURSE, progress=progress)
    due = tuple(
        DueReview(item, concept, 0.3 + 0.6 * n / args.cards)
        for n, (item, concept) in enumerate(card_items)
    )
    full = PlannerInput(now=NOW, course=COURSE, progress=progress, due_reviews=due)
    baseline = median_ms(lambda: plan_session(empty), 300)
    with_cards = median_ms(lambda: plan_session(full), 300)

    engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/planner.db")
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401

    SQLModel.metadata.create_all(engine)
    with transaction(engine) as session:
        import_course(session, course=COURSE, now=NOW)
        learner_id = learner_id_for(session, channel="bench", external_id="heavy", now=NOW)
    with transaction(engine) as session:
        store = SqlLearnerStore(session)
        for n, (item, concept) in enumerate(card_items):
            reviewed_at = NOW - timedelta(days=30 + n % 20)
            store.review(
                learner_id, ActivityRecord("quiz", concept, item, correct=n % 4 != 0), reviewed_at
            )

    def load_due() -> int:
        with transaction(engine) as session:
            return len(SqlLearnerStore(session).load(learner_id, NOW).due_reviews)

    loading = median_ms(load_due, 50)
    pau = Pau(settings=Settings(), engine=engine, locks=LocalLocks(), clock=lambda: NOW)
    pau.senders["bench"] = NullSender()
    for text in ("hi", "yes", "Ada", "1", "2", "1", "Berlin", "no"):
        pau.ingest(
            channel="bench",
            sender_id="heavy",
            platform_message_id=f"setup-{text}",
            event=InboundEvent.text_message(text),
        )
    pau.process_pending()
    counter = iter(range(10**6))

    def whole_today() -> None:
        pau.ingest(channel="bench", sender_id="heavy", platform_message_id=f"today-{next(counter)}",
                   event=InboundEvent.text_message("today"))  # fmt: skip
        pau.runner.process_learner(learner_id)

    whole = median_ms(whole_today, 50)
    print(
        f"learner with {args.cards} review cards ({len(due)} due in the pure case, {load_due()} loaded from SQLite)"
    )
    print(f"{'what':<52} {'median ms':>10} {'x baseline':>11}")
    print(f"{'plan_session, no due reviews (baseline)':<52} {baseline:>10.3f} {1.0:>11.1f}")
    print(
        f"{'plan_session, ' + str(args.cards) + ' due reviews':<52} {with_cards:>10.3f} {with_cards / baseline:>11.1f}"
    )
    print(
        f"{'load due reviews from SQLite (+ retrievability)':<52} {loading:>10.3f} {loading / baseline:>11.1f}"
    )
    print(
        f"{'whole today message through the runner (SQLite)':<52} {whole:>10.3f} {whole / baseline:>11.1f}"
    )


if __name__ == "__main__":
    main()
