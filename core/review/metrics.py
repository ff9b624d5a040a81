"""How well a memory model predicts recall: log loss and RMSE(bins), as the FSRS benchmark.

RMSE(bins) groups predictions by (days elapsed, number of earlier review days, lapses), each on
a log scale, compares mean predicted and actual recall per group, and weights groups by size. It
is fsrs-rs's `r_matrix_index` metric, reimplemented so any model (not only FSRS) can be scored on
the same items.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from fsrs import Rating
from fsrs_rs_python import FSRS

from core.review.cards import forgetting_curve
from core.review.history import TrainingItem

# Keeps the log loss finite for a model that predicts certainty (a constant of 1.0, say).
EPSILON = 1e-4


def predict_recall(parameters: Sequence[float], items: Sequence[TrainingItem]) -> list[float]:
    """FSRS's recall probability for each item's last review, from the reviews before it."""
    if not items:
        return []
    states = FSRS(list(parameters)).memory_state_batch([item.history_to_fsrs() for item in items])
    decay = parameters[20]
    return [
        forgetting_curve(item.elapsed_days, state.stability, decay)
        for item, state in zip(items, states, strict=True)
    ]


def log_loss(predictions: Sequence[float], items: Sequence[TrainingItem]) -> float:
    """Mean binary cross-entropy of recall predictions (lower is better)."""
    if len(predictions) != len(items) or not items:
        raise ValueError("need one prediction per item, and at least one item")
    total = 0.0
    for p, item in zip(predictions, items, strict=True):
        p = min(max(p, EPSILON), 1.0 - EPSILON)
        total -= math.log(p) if item.recalled else math.log(1.0 - p)
    return total / len(items)


def _log_bin(value: float, base: float, scale: float) -> float:
    return scale * base ** math.floor(math.log(value, base))


def bin_key(item: TrainingItem) -> tuple[int, int, int]:
    """fsrs-rs's RMSE bin of an item: (elapsed days, review days so far, lapses so far)."""
    delta_bin = round(_log_bin(item.elapsed_days, 3.62, 2.48) * 100)
    length = sum(1 for _, delta_t in item.reviews if delta_t > 0) + 1
    length_bin = round(_log_bin(length, 1.89, 1.99))
    lapses = sum(
        1 for rating, delta_t in item.reviews[:-1] if rating == Rating.Again and delta_t > 0
    )
    lapse_bin = 0 if lapses == 0 else round(_log_bin(lapses, 1.73, 1.65))
    return delta_bin, length_bin, lapse_bin


def rmse_bins(predictions: Sequence[float], items: Sequence[TrainingItem]) -> float:
    """Root mean squared gap between predicted and actual recall per bin, weighted by bin size."""
    if len(predictions) != len(items) or not items:
        raise ValueError("need one prediction per item, and at least one item")
    sums: dict[tuple[int, int, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for p, item in zip(predictions, items, strict=True):
        group = sums[bin_key(item)]
        group[0] += p
        group[1] += 1.0 if item.recalled else 0.0
        group[2] += 1.0
    squared = sum((pred - real) ** 2 / count for pred, real, count in sums.values())
    return math.sqrt(squared / len(items))
