"""Spaced review with FSRS: one card per quiz item, and per-learner parameters.

`ReviewScheduler` moves cards (py-fsrs); `fit_learner_parameters` fits a learner's own FSRS-6
parameters from their answers (fsrs-rs) and keeps them only when they beat the defaults on the
learner's latest reviews. Quality is measured offline by `bench/scheduler_quality.py`.
"""

from core.review.cards import ReviewCard, ReviewLogEntry, ReviewScheduler
from core.review.optimizer import (
    MIN_ITEMS_FOR_OPTIMISATION,
    MIN_REVIEWS_FOR_OPTIMISATION,
    ParameterChoice,
    fit_learner_parameters,
)

__all__ = [
    "MIN_ITEMS_FOR_OPTIMISATION",
    "MIN_REVIEWS_FOR_OPTIMISATION",
    "ParameterChoice",
    "ReviewCard",
    "ReviewLogEntry",
    "ReviewScheduler",
    "fit_learner_parameters",
]
