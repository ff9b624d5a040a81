"""Spaced review: FSRS cards per quiz item, the scheduler's timing, and per-learner parameters."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

import pytest
from fsrs.scheduler import DEFAULT_PARAMETERS

from core.review import (
    MIN_REVIEWS_FOR_OPTIMISATION,
    ReviewCard,
    ReviewLogEntry,
    ReviewScheduler,
    fit_learner_parameters,
)
from core.review.history import split_by_time, training_items
from core.review.metrics import log_loss, rmse_bins

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def answer(scheduler: ReviewScheduler, card: ReviewCard, correct: bool, at: datetime) -> ReviewCard:
    return scheduler.review(card, correct=correct, now=at, duration_ms=None)[0]


def intervals_of_right_answers(scheduler: ReviewScheduler, count: int) -> list[timedelta]:
    card, now, intervals = scheduler.new_card("q", NOW), NOW, []
    for _ in range(count):
        card = answer(scheduler, card, True, now)
        intervals.append(card.due - now)
        now = card.due
    return intervals


def test_a_new_card_is_due_at_once() -> None:
    scheduler = ReviewScheduler(fuzz=False)
    card = scheduler.new_card("spacing-1", NOW)
    assert card.due == NOW
    assert card.stability is None
    assert scheduler.due([card], NOW) == [card]
    assert scheduler.retrievability(card, NOW) == 0.0


def test_a_wrong_answer_comes_back_minutes_later_the_same_day() -> None:
    scheduler = ReviewScheduler(fuzz=False)
    card = answer(scheduler, scheduler.new_card("q", NOW), False, NOW)
    assert card.due - NOW == timedelta(minutes=10)
    later = answer(scheduler, card, True, card.due)  # right this time: off to days
    assert later.due - card.due >= timedelta(days=1)
    lapsed = answer(scheduler, later, False, later.due)  # a lapse relearns the same day too
    assert lapsed.due - later.due == timedelta(minutes=10)


def test_right_answers_push_the_next_review_out_by_days_and_growing() -> None:
    intervals = intervals_of_right_answers(ReviewScheduler(fuzz=False), 5)
    assert intervals[0] >= timedelta(days=1)
    assert all(a < b for a, b in pairwise(intervals))
    assert intervals[-1] > timedelta(days=30)


def test_a_higher_desired_retention_brings_reviews_sooner() -> None:
    relaxed = intervals_of_right_answers(ReviewScheduler(desired_retention=0.8, fuzz=False), 4)
    strict = intervals_of_right_answers(ReviewScheduler(desired_retention=0.95, fuzz=False), 4)
    assert all(s <= r for s, r in zip(strict, relaxed, strict=True))
    assert strict[-1] < relaxed[-1]


def test_the_answer_time_is_kept_in_the_log_entry() -> None:
    scheduler = ReviewScheduler(fuzz=False)
    card = scheduler.new_card("q", NOW)
    _, entry = scheduler.review(card, correct=True, now=NOW, duration_ms=4200)
    assert entry == ReviewLogEntry("q", correct=True, reviewed_at=NOW, duration_ms=4200)


def test_the_next_morning_is_the_next_day_not_a_same_day_repeat() -> None:
    scheduler = ReviewScheduler(fuzz=False)
    evening = NOW.replace(hour=20)
    card = answer(scheduler, scheduler.new_card("q", evening), True, evening)
    next_morning = answer(scheduler, card, True, evening + timedelta(hours=13))
    next_evening = answer(scheduler, card, True, evening + timedelta(hours=23))
    same_night = answer(scheduler, card, True, evening + timedelta(hours=6))  # 02:00: same day
    assert next_morning.stability == next_evening.stability  # both one study day later
    assert same_night.stability is not None and next_morning.stability is not None
    assert same_night.stability < next_morning.stability


def test_the_day_rolls_over_in_the_learners_zone() -> None:
    evening = NOW.replace(hour=20)  # 15:00 in New York (UTC-5)
    after_midnight_utc = evening + timedelta(hours=10)  # 06:00 UTC, 01:00 in New York
    for zone, same_day in ((UTC, False), (timezone(timedelta(hours=-5)), True)):
        scheduler = ReviewScheduler(fuzz=False, zone=zone)
        card = answer(scheduler, scheduler.new_card("q", evening), True, evening)
        recall = scheduler.retrievability(card, after_midnight_utc)
        assert recall == 1.0 if same_day else 0.9 < recall < 1.0


def test_due_cards_come_most_likely_forgotten_first() -> None:
    scheduler = ReviewScheduler(fuzz=False)
    weak = answer(scheduler, scheduler.new_card("weak", NOW), False, NOW)  # relearn in 10 min
    strong = scheduler.new_card("strong", NOW)
    for _ in range(3):
        strong = answer(scheduler, strong, True, strong.due)
    fresh = scheduler.new_card("fresh", NOW + timedelta(days=1))  # never seen: recall 0
    moment = strong.due + timedelta(days=2)
    assert scheduler.retrievability(weak, moment) < scheduler.retrievability(strong, moment)
    assert [c.item_id for c in scheduler.due([strong, weak, fresh], moment)] == [
        "fresh",
        "weak",
        "strong",
    ]
    not_yet = scheduler.new_card("later", moment + timedelta(hours=1))
    assert not_yet not in scheduler.due([not_yet], moment)


def test_equally_forgotten_cards_come_earliest_due_first() -> None:
    scheduler = ReviewScheduler(fuzz=False)
    cards = [
        scheduler.new_card(name, NOW + timedelta(minutes=m)) for name, m in [("b", 5), ("a", 9)]
    ]
    assert [c.item_id for c in scheduler.due(cards, NOW + timedelta(hours=1))] == ["b", "a"]


def test_cards_and_log_entries_survive_a_json_round_trip() -> None:
    scheduler = ReviewScheduler(fuzz=False)
    card, entry = scheduler.review(
        scheduler.new_card("q", NOW), correct=False, now=NOW, duration_ms=900
    )
    card = answer(scheduler, card, True, card.due)
    stored = json.loads(json.dumps(card.to_dict()))
    restored = ReviewCard.from_dict(stored)
    assert restored == card and restored.due == card.due and restored.stability == card.stability
    assert answer(scheduler, restored, True, card.due) == answer(scheduler, card, True, card.due)
    assert ReviewLogEntry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry


def test_naive_datetimes_are_refused_and_other_zones_are_converted() -> None:
    scheduler = ReviewScheduler(fuzz=False)
    with pytest.raises(ValueError, match="timezone-aware"):
        scheduler.new_card("q", datetime(2025, 3, 3, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        ReviewLogEntry("q", True, datetime(2025, 3, 3, 9, 0), None)
    berlin_morning = NOW.astimezone(timezone(timedelta(hours=1)))
    card, entry = scheduler.review(
        scheduler.new_card("q", berlin_morning), correct=True, now=berlin_morning
    )
    assert entry.reviewed_at.tzinfo is UTC and card.last_review == NOW


def test_same_day_repeats_are_history_and_days_roll_over_at_four() -> None:
    day0 = NOW
    entries = [
        ReviewLogEntry("q", False, day0, None),
        ReviewLogEntry("q", True, day0 + timedelta(minutes=10), None),
        ReviewLogEntry("q", True, day0.replace(hour=3) + timedelta(days=1), None),  # still day 0
        ReviewLogEntry("q", True, day0 + timedelta(days=2, hours=1), None),
    ]
    [item] = training_items(list(reversed(entries)))
    assert item.reviews == ((1, 0), (3, 0), (3, 0), (3, 2))
    assert item.recalled and item.elapsed_days == 2


def test_fitting_refuses_with_too_little_history() -> None:
    history = [
        ReviewLogEntry(f"q{i % 20}", i % 3 > 0, NOW + timedelta(days=i), None) for i in range(200)
    ]
    choice = fit_learner_parameters(history)
    assert choice.parameters is None
    assert choice.reason.startswith("too little history")
    assert choice.log_loss_default is None and choice.log_loss_fitted is None
    with pytest.raises(ValueError):
        fit_learner_parameters(history, holdout_fraction=1.0)


def simulated_learner(items: int = 150, seed: int = 7) -> list[ReviewLogEntry]:
    """A learner who forgets much faster than FSRS's defaults expect.

    Known model: recall = 0.9 ** (days / S); S starts at 0.5 days, grows 2.2x on each right answer
    on a new day and falls back to 0.5 on a wrong one. Reviews come at random gaps of 1-15 days,
    with a same-day retry 10 minutes after each miss.
    """
    rng = random.Random(seed)
    history: list[ReviewLogEntry] = []
    for index in range(items):
        item_id, moment, stability = (
            f"item-{index}",
            NOW + timedelta(hours=rng.randrange(0, 240)),
            0.5,
        )
        history.append(ReviewLogEntry(item_id, True, moment, 3000))
        for _ in range(9):
            gap = timedelta(days=rng.randint(1, 15), minutes=rng.randint(-90, 90))
            recalled = rng.random() < 0.9 ** (gap / timedelta(days=1) / stability)
            moment += gap
            history.append(ReviewLogEntry(item_id, recalled, moment, 3000))
            if recalled:
                stability *= 2.2
            else:
                stability = 0.5
                history.append(ReviewLogEntry(item_id, True, moment + timedelta(minutes=10), 3000))
    return history


def test_a_simulated_learners_own_parameters_beat_the_defaults_on_their_later_reviews() -> None:
    history = simulated_learner()
    assert len(training_items(history)) >= MIN_REVIEWS_FOR_OPTIMISATION
    choice = fit_learner_parameters(history)
    assert choice.parameters is not None, choice.reason
    assert choice.log_loss_fitted is not None and choice.log_loss_default is not None
    assert choice.log_loss_fitted < choice.log_loss_default
    assert choice.parameters[2] < DEFAULT_PARAMETERS[2]  # a first right answer lasts less
    scheduler = ReviewScheduler(choice.parameters, fuzz=False)  # py-fsrs accepts them
    assert intervals_of_right_answers(scheduler, 1) < intervals_of_right_answers(
        ReviewScheduler(fuzz=False), 1
    )


def test_the_holdout_is_strictly_later_than_the_training_part() -> None:
    items = training_items(simulated_learner(items=30))
    train, holdout = split_by_time(items, 0.2)
    assert train and holdout and len(train) + len(holdout) == len(items)
    assert max(i.reviewed_at for i in train) < min(i.reviewed_at for i in holdout)


def test_log_loss_and_rmse_bins_of_perfect_and_constant_predictions() -> None:
    items = training_items(simulated_learner(items=30))
    truth = [1.0 if item.recalled else 0.0 for item in items]
    assert log_loss(truth, items) < 1e-3 and rmse_bins(truth, items) == 0.0
    rate = sum(truth) / len(truth)
    expected = -(rate * math.log(rate) + (1 - rate) * math.log(1 - rate))
    assert log_loss([rate] * len(items), items) == pytest.approx(expected)
