"""FSRS review cards, one per quiz item, and the scheduler that moves them.

A quiz item is the unit a learner answers and PAU grades, so it is the unit FSRS models: each item
has its own memory state (stability, difficulty) and due time. Answers are pass/fail: a wrong
answer is `Rating.Again`, a right one `Rating.Good`.

Card life cycle (py-fsrs states):

    new ──wrong──▶ learning (again in 10 min) ──right──▶ review (in days, growing)
     └───right──────────────────────────────────────────▶ review
    review ──wrong──▶ relearning (again in 10 min) ──right──▶ review

Card state is stored as the JSON-safe `fsrs.Card.to_dict()`; every datetime is aware UTC.
Elapsed time counts in the learner's study days (`review_day`), as FSRS's parameters do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, cast

from fsrs import Card, Rating, Scheduler
from fsrs.card import CardDict
from fsrs.scheduler import DEFAULT_PARAMETERS

# One short same-day step: a wrongly answered item comes back within the session, a rightly
# answered new item graduates at once (asking it again ten minutes later would only annoy).
LEARNING_STEPS = (timedelta(minutes=10),)
RELEARNING_STEPS = (timedelta(minutes=10),)
# Days roll over at 04:00 in the learner's zone (Anki's convention, under which FSRS's parameters
# were fitted): an answer at 01:00 still belongs to the evening before.
DAY_ROLLOVER = timedelta(hours=4)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; naive datetimes are refused, since their zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware: {moment!r}")
    return moment.astimezone(UTC)


def review_day(moment: datetime, zone: tzinfo = UTC) -> date:
    """The learner's study day of `moment`."""
    return (as_utc(moment).astimezone(zone) - DAY_ROLLOVER).date()


def forgetting_curve(elapsed_days: float, stability: float, decay: float) -> float:
    """FSRS-6 recall probability after `elapsed_days`; `decay` is parameter w20 (positive)."""
    factor = 0.9 ** (-1.0 / decay) - 1.0
    return float((1.0 + factor * max(elapsed_days, 0.0) / stability) ** -decay)


@dataclass(frozen=True)
class ReviewLogEntry:
    """One graded answer to a quiz item (`reviewed_at` is stored in UTC; naive is refused)."""

    item_id: str
    correct: bool
    reviewed_at: datetime
    duration_ms: int | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reviewed_at", as_utc(self.reviewed_at))

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "correct": self.correct,
            "reviewed_at": self.reviewed_at.isoformat(),
            "duration_ms": self.duration_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReviewLogEntry:
        duration = data.get("duration_ms")
        return cls(
            item_id=str(data["item_id"]),
            correct=bool(data["correct"]),
            reviewed_at=datetime.fromisoformat(data["reviewed_at"]),
            duration_ms=None if duration is None else int(duration),
        )


@dataclass(frozen=True)
class ReviewCard:
    """The review state of one quiz item; `fsrs_state` is py-fsrs `Card.to_dict()`."""

    item_id: str
    fsrs_state: dict[str, Any] = field(hash=False)

    @property
    def due(self) -> datetime:
        return as_utc(datetime.fromisoformat(self.fsrs_state["due"]))

    @property
    def stability(self) -> float | None:
        value = self.fsrs_state.get("stability")
        return None if value is None else float(value)

    @property
    def last_review(self) -> datetime | None:
        value = self.fsrs_state.get("last_review")
        return None if value is None else as_utc(datetime.fromisoformat(value))

    def to_dict(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "fsrs_state": dict(self.fsrs_state)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReviewCard:
        state = dict(data["fsrs_state"])
        Card.from_dict(cast(CardDict, state))  # refuses a malformed state now, not at review
        return cls(item_id=str(data["item_id"]), fsrs_state=state)

    def to_fsrs(self) -> Card:
        return Card.from_dict(cast(CardDict, self.fsrs_state))


def fsrs_card_id(item_id: str) -> int:
    """A stable integer id for py-fsrs (48 bits, so it survives JSON in any language)."""
    return int.from_bytes(hashlib.sha256(item_id.encode()).digest()[:6], "big")


class ReviewScheduler:
    """FSRS scheduling for quiz items; `parameters=None` means the FSRS-6 defaults.

    Pure: every method takes `now`; nothing reads the clock. With `fuzz=True` review intervals of
    three days or more get py-fsrs's small random spread (so cards learned together drift apart);
    tests pass `fuzz=False` to get exact dates. `zone` is the learner's time zone: it decides
    when their day rolls over.
    """

    def __init__(
        self,
        parameters: Sequence[float] | None = None,
        desired_retention: float = 0.9,
        *,
        fuzz: bool = True,
        zone: tzinfo = UTC,
    ) -> None:
        if not 0.0 < desired_retention < 1.0:
            raise ValueError(f"desired_retention must be in (0, 1): {desired_retention}")
        self.zone = zone
        self._scheduler = Scheduler(
            parameters=tuple(DEFAULT_PARAMETERS if parameters is None else parameters),
            desired_retention=desired_retention,
            learning_steps=LEARNING_STEPS,
            relearning_steps=RELEARNING_STEPS,
            enable_fuzzing=fuzz,
        )

    @property
    def parameters(self) -> tuple[float, ...]:
        return self._scheduler.parameters

    @property
    def desired_retention(self) -> float:
        return self._scheduler.desired_retention

    def new_card(self, item_id: str, now: datetime) -> ReviewCard:
        """A card never reviewed, due at once."""
        card = Card(card_id=fsrs_card_id(item_id), due=as_utc(now))
        return ReviewCard(item_id=item_id, fsrs_state=dict(card.to_dict()))

    def review(
        self, card: ReviewCard, *, correct: bool, now: datetime, duration_ms: int | None = None
    ) -> tuple[ReviewCard, ReviewLogEntry]:
        """The card after one graded answer at `now`, and the log entry of that answer."""
        moment = as_utc(now)
        reviewed, _ = self._scheduler.review_card(
            self._on_study_days(card.to_fsrs(), moment),
            Rating.Good if correct else Rating.Again,
            review_datetime=moment,
            review_duration=duration_ms,
        )
        entry = ReviewLogEntry(
            item_id=card.item_id, correct=correct, reviewed_at=moment, duration_ms=duration_ms
        )
        return ReviewCard(item_id=card.item_id, fsrs_state=dict(reviewed.to_dict())), entry

    def _on_study_days(self, card: Card, moment: datetime) -> Card:
        """`card` with its last review moved so that py-fsrs sees the elapsed study days.

        py-fsrs counts whole 24-hour periods: a card answered at 20:00 and again at 09:00 the
        next morning would be a same-day repeat to it (short-term update, stability barely
        moves). FSRS's parameters, as fsrs-rs fits them, count study days: that is 1 day. Only
        the elapsed-day count changes; py-fsrs still stamps the real review time.
        """
        if card.last_review is not None:
            days = (review_day(moment, self.zone) - review_day(card.last_review, self.zone)).days
            if days > 0:
                card.last_review = moment - timedelta(days=days)
        return card

    def retrievability(self, card: ReviewCard, now: datetime) -> float:
        """The predicted chance the learner recalls the item at `now` (0 for an unseen card).

        Elapsed time counts in study days, as in `review` and in FSRS's training: recall stays
        1.0 until the learner's day rolls over.
        """
        last_review, stability = card.last_review, card.stability
        if last_review is None or stability is None:
            return 0.0
        elapsed_days = (review_day(now, self.zone) - review_day(last_review, self.zone)).days
        return forgetting_curve(elapsed_days, stability, self.parameters[20])

    def due(self, cards: Iterable[ReviewCard], now: datetime) -> list[ReviewCard]:
        """Cards due at `now`, the most likely forgotten first (ties: earliest due, then id)."""
        moment = as_utc(now)
        due_cards = [card for card in cards if card.due <= moment]
        return sorted(due_cards, key=lambda c: (self.retrievability(c, moment), c.due, c.item_id))
