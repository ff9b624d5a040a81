"""A learner's answers as fsrs-rs training items: what FSRS predicts, and from what.

fsrs-rs learns from `FSRSItem`s: one card's reviews in time order as (rating, delta_t) with
delta_t in whole days since the card's previous review (0 for the first review and for same-day
repeats, which FSRS-6 models as short-term reviews). Each item is a prefix of a card's history
whose last review is the one to predict; only the first review of a later day is predicted, so
there is one prediction per card and day, and same-day repeats appear only as history.

Days are the learner's study days (`review_day`: they roll over at 04:00 in the learner's zone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

from fsrs import Rating
from fsrs_rs_python import FSRSItem, FSRSReview

from core.review.cards import ReviewLogEntry, review_day


@dataclass(frozen=True)
class TrainingItem:
    """One card's reviews up to and including the review to predict."""

    item_id: str
    reviewed_at: datetime  # the time of the last review, the predicted one
    reviews: tuple[tuple[int, int], ...]  # (rating, days since the card's previous review)

    @property
    def recalled(self) -> bool:
        return self.reviews[-1][0] != Rating.Again

    @property
    def elapsed_days(self) -> int:
        return self.reviews[-1][1]

    def to_fsrs(self) -> FSRSItem:
        return FSRSItem([FSRSReview(rating, delta_t) for rating, delta_t in self.reviews])

    def history_to_fsrs(self) -> FSRSItem:
        """The reviews before the predicted one: what the memory state is computed from."""
        return FSRSItem([FSRSReview(rating, delta_t) for rating, delta_t in self.reviews[:-1]])


def training_items(history: Sequence[ReviewLogEntry], *, zone: tzinfo = UTC) -> list[TrainingItem]:
    """Every predictable review in `history`, as an item, ordered by review time."""
    by_item: dict[str, list[ReviewLogEntry]] = defaultdict(list)
    for entry in history:
        by_item[entry.item_id].append(entry)
    items: list[TrainingItem] = []
    for item_id, entries in by_item.items():
        entries.sort(key=lambda entry: entry.reviewed_at)
        reviews: list[tuple[int, int]] = []
        previous_day: date | None = None
        for entry in entries:
            day = review_day(entry.reviewed_at, zone)
            elapsed = 0 if previous_day is None else (day - previous_day).days
            reviews.append((int(Rating.Good if entry.correct else Rating.Again), elapsed))
            if elapsed > 0:
                items.append(TrainingItem(item_id, entry.reviewed_at, tuple(reviews)))
            previous_day = day
    items.sort(key=lambda item: item.reviewed_at)
    return items


def split_by_time(
    items: Sequence[TrainingItem], holdout_fraction: float
) -> tuple[list[TrainingItem], list[TrainingItem]]:
    """Items before a cut-off time, and the later ones (about `holdout_fraction` of them).

    No review at or after the cut-off is in the first part, not even as history.
    """
    ordered = sorted(items, key=lambda item: item.reviewed_at)
    if len(ordered) < 2:
        return list(ordered), []
    cut = min(max(round(len(ordered) * (1.0 - holdout_fraction)), 1), len(ordered) - 1)
    cutoff = ordered[cut].reviewed_at
    return (
        [item for item in ordered if item.reviewed_at < cutoff],
        [item for item in ordered if item.reviewed_at >= cutoff],
    )
