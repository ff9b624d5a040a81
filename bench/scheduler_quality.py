"""How well PAU's review scheduler predicts recall, offline, on one real learner's Anki log.

Data and methodology: ../shared/data/README.md. 12,580 pass/fail reviews of 1,205 cards become
fsrs-rs items (core/review/history.py): one prediction per card and study day (days roll over at
04:00 UTC), same-day repeats only as history. The items go through fsrs-rs's 5-fold time-series
split (6 equal segments; fold k trains on segments 0..k and predicts segment k+1), and every model
predicts the same test items:

  (a) PAU shipped scheduler   core.review as shipped: fit_learner_parameters on the fold's
                              training history (defaults when it refuses), then each card replayed
                              through ReviewScheduler (py-fsrs) and its retrievability read
  (b) FSRS-6 defaults         fsrs-rs with the default parameters
  (c) FSRS-6 per learner      fsrs-rs compute_parameters on the fold's training items (reference)
  (d) fixed ladder            1-3-7-14-30 days; see ladder_recall
  (e) constant                the fold's training recall rate, for every review

Log loss and RMSE(bins) are core/review/metrics.py (fsrs-rs's definitions); (c) is cross-checked
against fsrs_rs_python.evaluate_with_time_series_splits.

The split runs twice. "chronological": items ordered by review time, a true time-series split
(the situation PAU is in: fit on the past, predict the future). "by card": items grouped by card
in order of first review, which is how the README's reference figures were computed (fsrs-rs
splits items in the order given); it reproduces them.

    python bench/scheduler_quality.py [--data PATH] [--learning-curve]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import fsrs_rs_python
from fsrs.scheduler import DEFAULT_PARAMETERS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.review import ReviewLogEntry, ReviewScheduler, fit_learner_parameters
from core.review.history import TrainingItem, split_by_time, training_items
from core.review.metrics import log_loss, predict_recall, rmse_bins
from core.review.optimizer import optimise

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "anki_review_log_one_learner.csv"
N_SPLITS = 5
LADDER_DAYS = (1, 3, 7, 14, 30)
LADDER_RECALL_AT_INTERVAL = 0.9


@dataclass(frozen=True)
class Fold:
    train: list[TrainingItem]
    test: list[TrainingItem]
    history: list[ReviewLogEntry]  # the answers behind `train`: what PAU would have seen


def load_entries(path: Path) -> list[ReviewLogEntry]:
    with path.open(newline="") as file:
        return [
            ReviewLogEntry(
                item_id=row["card_id"],
                correct=int(row["review_rating"]) > 1,
                reviewed_at=datetime.fromisoformat(row["review_time"]),
                duration_ms=int(row["review_duration"]) if row["review_duration"] else None,
            )
            for row in csv.DictReader(file)
        ]


def by_card(items: Sequence[TrainingItem], entries: Sequence[ReviewLogEntry]) -> list[TrainingItem]:
    first_seen: dict[str, int] = {}
    for entry in sorted(entries, key=lambda e: e.reviewed_at):
        first_seen.setdefault(entry.item_id, len(first_seen))
    return sorted(items, key=lambda item: first_seen[item.item_id])  # stable: by time within card


def folds(items: Sequence[TrainingItem], entries: Sequence[ReviewLogEntry]) -> list[Fold]:
    """fsrs-rs's TimeSeriesSplit, with the training history for each fold."""
    segment = len(items) // (N_SPLITS + 1)
    result = []
    for k in range(N_SPLITS):
        end = len(items) if k == N_SPLITS - 1 else (k + 2) * segment
        train, test = list(items[: (k + 1) * segment]), list(items[(k + 1) * segment : end])
        last_trained: dict[str, datetime] = {}
        for item in train:
            last_trained[item.item_id] = max(
                item.reviewed_at, last_trained.get(item.item_id, item.reviewed_at)
            )
        history = [
            e
            for e in entries
            if e.item_id in last_trained and e.reviewed_at <= last_trained[e.item_id]
        ]
        result.append(Fold(train, test, history))
    return result


def replay_recall(
    scheduler: ReviewScheduler, test: Sequence[TrainingItem], entries: Sequence[ReviewLogEntry]
) -> list[float]:
    """ReviewScheduler's retrievability at each test review, after replaying the card's earlier answers."""
    answers: dict[str, list[ReviewLogEntry]] = defaultdict(list)
    for entry in entries:
        answers[entry.item_id].append(entry)
    wanted: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(test):
        wanted[item.item_id].append(index)
    predictions = [0.0] * len(test)
    for item_id, indexes in wanted.items():
        targets = sorted(indexes, key=lambda i: test[i].reviewed_at)
        history = sorted(answers[item_id], key=lambda e: e.reviewed_at)
        card = scheduler.new_card(item_id, history[0].reviewed_at)
        position = 0
        for index in targets:
            moment = test[index].reviewed_at
            while history[position].reviewed_at < moment:
                answer = history[position]
                card, _ = scheduler.review(
                    card,
                    correct=answer.correct,
                    now=answer.reviewed_at,
                    duration_ms=answer.duration_ms,
                )
                position += 1
            predictions[index] = scheduler.retrievability(card, moment)
    return predictions


def ladder_recall(item: TrainingItem) -> float:
    """Recall under a fixed 1-3-7-14-30-day ladder.

    The step climbs one rung per review day answered right and falls to the bottom on a wrong one
    (same-day repeats do not move it). Memory decays exponentially with the rung's interval as
    its stability, i.e. recall is 90% when the ladder brings the card back, as a fixed schedule
    tacitly assumes: R = 0.9 ** (elapsed / interval).
    """
    step = 0
    for rating, delta_t in item.reviews[1:-1]:
        if delta_t > 0:
            step = min(step + 1, len(LADDER_DAYS) - 1) if rating > 1 else 0
    return float(LADDER_RECALL_AT_INTERVAL ** (item.elapsed_days / LADDER_DAYS[step]))


def shipped(fold: Fold, entries: Sequence[ReviewLogEntry], notes: list[str]) -> list[float]:
    choice = fit_learner_parameters(fold.history)
    notes.append("fitted" if choice.parameters else f"defaults ({choice.reason})")
    return replay_recall(ReviewScheduler(choice.parameters, fuzz=False), fold.test, entries)


def fitted(fold: Fold) -> list[float]:
    parameters = optimise(fold.train)
    return predict_recall(
        DEFAULT_PARAMETERS if isinstance(parameters, str) else parameters, fold.test
    )


def constant(fold: Fold) -> list[float]:
    rate = sum(item.recalled for item in fold.train) / len(fold.train)
    return [rate] * len(fold.test)


def evaluate(title: str, items: list[TrainingItem], entries: list[ReviewLogEntry]) -> None:
    splits = folds(items, entries)
    tested = [item for fold in splits for item in fold.test]
    notes: list[str] = []
    models: list[tuple[str, Callable[[Fold], list[float]]]] = [
        ("(a) PAU shipped scheduler", lambda fold: shipped(fold, entries, notes)),
        (
            "(b) FSRS-6 default parameters",
            lambda fold: predict_recall(DEFAULT_PARAMETERS, fold.test),
        ),
        ("(c) FSRS-6 optimised per learner", fitted),
        ("(d) fixed 1-3-7-14-30-day ladder", lambda fold: [ladder_recall(i) for i in fold.test]),
        ("(e) constant average recall", constant),
    ]
    scores = {}
    for name, model in models:
        predictions = [p for fold in splits for p in model(fold)]
        scores[name] = (log_loss(predictions, tested), rmse_bins(predictions, tested))
    baseline = scores["(b) FSRS-6 default parameters"][0]
    print(f"\n{title}: {len(items)} items, {len(tested)} predicted over {N_SPLITS} folds")
    print(f"{'model':<36} {'log loss':>9} {'RMSE(bins)':>11} {'LL / (b)':>9}")
    for name, (loss, rmse) in scores.items():
        print(f"{name:<36} {loss:>9.4f} {rmse:>11.4f} {loss / baseline:>9.3f}")
    check = fsrs_rs_python.evaluate_with_time_series_splits([item.to_fsrs() for item in items])
    print(
        f"cross-check (c), fsrs_rs_python.evaluate_with_time_series_splits: {check.log_loss:.4f} / {check.rmse_bins:.4f}"
    )
    print("(a) per fold: " + "; ".join(notes))


def learning_curve(
    items: list[TrainingItem],
    sizes: Sequence[int] = (200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 3000),
    ahead: int = 500,
) -> None:
    """Fit on N consecutive items, predict the next `ahead`: fitted vs defaults, raw and gated."""
    print(
        f"\nlearning curve: fit on N items, predict the next {ahead}; log loss minus defaults' (< 0 is better)"
    )
    print(
        f"{'N':>5} {'windows':>8} {'refused':>8} {'fit: mean':>10} {'fit better':>11} {'gated: mean':>12}"
    )
    for size in sizes:
        raw, gated, refused = [], [], 0
        for start in range(0, len(items) - size - ahead, 200):
            train, test = items[start : start + size], items[start + size : start + size + ahead]
            default = log_loss(predict_recall(DEFAULT_PARAMETERS, test), test)
            candidate = optimise(train)
            if isinstance(candidate, str):
                refused += 1
                continue
            raw.append(log_loss(predict_recall(candidate, test), test) - default)
            early, holdout = split_by_time(train, 0.2)
            check = optimise(early)
            keep = not isinstance(check, str) and log_loss(
                predict_recall(check, holdout), holdout
            ) < log_loss(predict_recall(DEFAULT_PARAMETERS, holdout), holdout)
            gated.append(raw[-1] if keep else 0.0)
        if raw:
            better = sum(d < 0 for d in raw) / len(raw)
            print(
                f"{size:>5} {len(raw) + refused:>8} {refused:>8} {statistics.mean(raw):>+10.4f} {better:>11.0%} {statistics.mean(gated):>+12.4f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--learning-curve", action="store_true", help="also show how much history a fit needs"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    entries = load_entries(args.data)
    items = training_items(entries)
    cards = len({e.item_id for e in entries})
    print(f"{args.data.name}: {len(entries)} reviews of {cards} cards")
    evaluate("chronological (true time-series split)", items, entries)
    evaluate("by card (the README's reference protocol)", by_card(items, entries), entries)
    if args.learning_curve:
        learning_curve(items)
    print(f"\nwall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
