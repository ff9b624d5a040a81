"""Per-learner FSRS parameters, fitted with fsrs-rs and kept only when they predict better.

    history ──▶ training items ──▶ earlier part ──fit──▶ candidate parameters
                                   later part (holdout): log loss of defaults vs candidate
    candidate better on the holdout ──▶ refit on the whole history ──▶ the learner's parameters
    otherwise ──▶ None (keep the FSRS-6 defaults), with the reason

The holdout is the learner's own later reviews, so the choice answers the question that matters:
would these parameters have predicted what this learner did next better than the defaults?
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo

from fsrs.scheduler import DEFAULT_PARAMETERS, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS
from fsrs_rs_python import FSRS

from core.review.cards import RELEARNING_STEPS, ReviewLogEntry
from core.review.history import TrainingItem, split_by_time, training_items
from core.review.metrics import log_loss, predict_recall

# Counted in predictable reviews: an item's first answer on a later study day than its previous
# answer (same-day repeats say little about forgetting). FSRS-6 has 21 parameters, and its
# defaults were fitted on ~10,000 Anki collections, so they are hard to beat with little data.
# Measured on the one-learner Anki log in ../shared/data (`bench/scheduler_quality.py
# --learning-curve`: fit on N consecutive reviews, predict the next 500): below ~800 reviews a fit
# predicted worse than the defaults in most windows, and still did on average after the holdout
# check; around 1,000 it is a wash; from ~1,500 it wins. Below 1,000 the defaults are the better
# bet, and 1,000 leaves a 200-review holdout for the default-vs-fitted comparison.
MIN_REVIEWS_FOR_OPTIMISATION = 1000
# The four initial stabilities (w0-w3) are learned from each item's first review days, at most one
# outcome per item, so a few items reviewed very often cannot pin them down. (That log had 293
# items among its first 1,000 predictable reviews; a 40-item course alone never qualifies.)
MIN_ITEMS_FOR_OPTIMISATION = 100
ROUND_TO = 6  # decimals kept: fsrs-rs computes in float32


@dataclass(frozen=True)
class ParameterChoice:
    """The parameters to schedule a learner with (`None`: the FSRS-6 defaults), and why.

    The log losses are on the holdout (the learner's latest reviews), with the defaults and with
    parameters fitted on the reviews before it; both are `None` when no fit was attempted.
    """

    parameters: tuple[float, ...] | None
    reason: str
    log_loss_default: float | None
    log_loss_fitted: float | None


def optimise(items: Sequence[TrainingItem]) -> tuple[float, ...] | str:
    """fsrs-rs's optimised parameters for `items`, made valid for py-fsrs; or why it failed."""
    try:
        raw = FSRS(list(DEFAULT_PARAMETERS)).compute_parameters(
            [item.to_fsrs() for item in items], num_relearning_steps=len(RELEARNING_STEPS)
        )
    except ValueError as error:  # fsrs-rs reports e.g. NotEnoughData this way
        return f"fsrs-rs: {error}"
    if len(raw) != len(DEFAULT_PARAMETERS) or not all(math.isfinite(w) for w in raw):
        return f"fsrs-rs returned {len(raw)} parameters, not {len(DEFAULT_PARAMETERS)} finite ones"
    # float32 values can sit a hair outside py-fsrs's bounds (0.8 becomes 0.800000011...), and
    # py-fsrs refuses out-of-bounds parameters, so round and clamp to its bounds.
    return tuple(
        min(max(round(w, ROUND_TO), low), high)
        for w, low, high in zip(raw, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True)
    )


def is_default(parameters: Sequence[float]) -> bool:
    """Whether fsrs-rs handed back the defaults (it does so silently when data are too thin)."""
    return all(
        abs(w - d) < 10**-ROUND_TO * 5 for w, d in zip(parameters, DEFAULT_PARAMETERS, strict=True)
    )


def fit_learner_parameters(
    history: Sequence[ReviewLogEntry], *, holdout_fraction: float = 0.2, zone: tzinfo = UTC
) -> ParameterChoice:
    """Parameters fitted to one learner's answers, or `None` with the reason to keep defaults.

    Fits on the earlier part of `history` (by time), scores defaults and the fit on the later
    `holdout_fraction`; when the fit predicts better, refits on the whole history (the latest
    reviews say the most about the learner now) and returns that. `zone` is the learner's time
    zone, which decides what counts as a new day.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1): {holdout_fraction}")
    items = training_items(history, zone=zone)
    item_count = len({item.item_id for item in items})
    if len(items) < MIN_REVIEWS_FOR_OPTIMISATION or item_count < MIN_ITEMS_FOR_OPTIMISATION:
        return ParameterChoice(
            None,
            f"too little history: {len(items)} reviews on a later day, over {item_count} items"
            f" (needs {MIN_REVIEWS_FOR_OPTIMISATION} over {MIN_ITEMS_FOR_OPTIMISATION})",
            None,
            None,
        )
    train, holdout = split_by_time(items, holdout_fraction)
    candidate = optimise(train)
    if isinstance(candidate, str):
        return ParameterChoice(None, f"optimiser failed: {candidate}", None, None)
    loss_default = log_loss(predict_recall(DEFAULT_PARAMETERS, holdout), holdout)
    if is_default(candidate):
        return ParameterChoice(
            None, "optimiser kept the defaults: too little signal", loss_default, loss_default
        )
    loss_fitted = log_loss(predict_recall(candidate, holdout), holdout)
    if loss_fitted >= loss_default:
        return ParameterChoice(
            None,
            f"fitted parameters do not predict the latest {len(holdout)} reviews better",
            loss_default,
            loss_fitted,
        )
    final = optimise(items)
    if isinstance(final, str) or is_default(final):
        final = candidate  # the refit failed; the validated candidate is still an improvement
    return ParameterChoice(
        final,
        f"fitted parameters predict the latest {len(holdout)} reviews better",
        loss_default,
        loss_fitted,
    )
