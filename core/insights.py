"""What the admin page says about learners, from their history: mastery per concept over time, an
activity calendar, the reasons a learner looks at risk, and a cohort's retention curve.

Pure functions on plain values (no I/O): storage/reports.py reads the facts, the admin page draws.

At-risk reasons (`at_risk_reasons`), each a short phrase shown to staff, in this order:
- "onboarding not finished after N days": consented at least a day ago, still in onboarding.
- "inactive N days": N >= INACTIVE_DAYS whole days since they last did or wrote anything.
- "N wrong answers in a row": the newest N >= WRONG_IN_A_ROW graded quiz answers were all wrong.
- "mastery falling on spacing": of their last SPACED_WINDOW spaced reviews (an answer to an item
  they last answered at least SPACED_AT_LEAST earlier), at least LAPSES_FOR_RISK were lapses (the
  item was right last time and is wrong now): what they had learned does not survive the gaps.
- "unreachable": the channel refused our messages (they blocked PAU, the number is gone).
- "nudges off" / "paused": they turned reminders off or paused; nothing will bring them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.learner import ConceptProgress
from core.mastery import EXPLAIN_WEIGHT, MASTERED, QUIZ_WEIGHT, MasteryState

INACTIVE_DAYS = 3
WRONG_IN_A_ROW = 3
SPACED_AT_LEAST = timedelta(hours=20)  # "the next day" without knowing their time zone
SPACED_WINDOW = 5
LAPSES_FOR_RISK = 2
ONBOARDING_GRACE = timedelta(days=1)
CALENDAR_WEEKS = 26


@dataclass(frozen=True)
class ActivityPoint:
    """One row of the learner's history, as the insights need it (no response text)."""

    kind: str
    at: datetime
    concept_id: str = ""
    item_id: str = ""
    correct: bool | None = None
    score: float | None = None


@dataclass(frozen=True)
class QuizOutcome:
    item_id: str
    correct: bool
    at: datetime


@dataclass(frozen=True)
class RiskFacts:
    """What the at-risk rules look at, per learner. `recent_quizzes`: their last graded quiz
    answers (a bounded number), oldest first."""

    consented_at: datetime | None
    onboarding: bool  # still in an onboarding state
    last_active_at: datetime | None  # their last activity or message, whichever is later
    recent_quizzes: tuple[QuizOutcome, ...] = ()
    unreachable: bool = False
    nudges: bool = True
    paused: bool = False


def _whole_days(since: datetime, now: datetime) -> int:
    return max(0, int((now - since).total_seconds() // 86400))


def _days_phrase(days: int) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def wrong_in_a_row(quizzes: Sequence[QuizOutcome]) -> int:
    """How many of the newest answers were wrong, counted back to the last right one."""
    count = 0
    for outcome in reversed(quizzes):
        if outcome.correct:
            break
        count += 1
    return count


def spaced_lapses(quizzes: Sequence[QuizOutcome]) -> tuple[int, int]:
    """(lapses, spaced reviews) among the last SPACED_WINDOW spaced reviews in `quizzes`."""
    previous: dict[str, QuizOutcome] = {}
    spaced: list[bool] = []  # True: a lapse
    for outcome in sorted(quizzes, key=lambda q: q.at):
        before = previous.get(outcome.item_id)
        if before is not None and outcome.at - before.at >= SPACED_AT_LEAST:
            spaced.append(before.correct and not outcome.correct)
        previous[outcome.item_id] = outcome
    window = spaced[-SPACED_WINDOW:]
    return sum(window), len(window)


def at_risk_reasons(facts: RiskFacts, now: datetime) -> list[str]:
    """Why this learner may be dropping out, as phrases for staff (empty: not at risk)."""
    reasons: list[str] = []
    if facts.onboarding:
        since = facts.consented_at
        if since is not None and now - since >= ONBOARDING_GRACE:
            days = _whole_days(since, now)
            reasons.append(f"onboarding not finished after {_days_phrase(days)}")
    if facts.last_active_at is not None:
        idle = _whole_days(facts.last_active_at, now)
        if idle >= INACTIVE_DAYS:
            reasons.append(f"inactive {idle} days")
    wrong = wrong_in_a_row(facts.recent_quizzes)
    if wrong >= WRONG_IN_A_ROW:
        reasons.append(f"{wrong} wrong answers in a row")
    lapses, _ = spaced_lapses(facts.recent_quizzes)
    if lapses >= LAPSES_FOR_RISK:
        reasons.append("mastery falling on spacing")
    if facts.unreachable:
        reasons.append("unreachable")
    if not facts.onboarding and not facts.nudges:
        reasons.append("nudges off")
    if facts.paused:
        reasons.append("paused")
    return reasons


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone or "UTC")).date()


def _evidence(point: ActivityPoint) -> tuple[float, float] | None:
    """(value, weight) of an activity as mastery evidence, as core.progress.apply_activity has
    it; None for what is no evidence."""
    if not point.concept_id:
        return None
    if point.kind == "quiz" and point.correct is not None:
        return (1.0 if point.correct else 0.0), QUIZ_WEIGHT
    if point.kind == "explain_back" and point.score is not None:
        return point.score, EXPLAIN_WEIGHT
    return None


def mastery_over_time(
    activities: Iterable[ActivityPoint], now: datetime, timezone: str = ""
) -> dict[str, list[tuple[date, float]]]:
    """Mastery per concept over time, by replaying the history through the engine's own update
    (MasteryState.with_evidence, with the evidence and weights core.progress.apply_activity
    gives it: a test keeps the two equal), so answers weigh as they did live.

    One point per concept and local day with evidence: its mastery right after that day's last
    evidence; then one point today (decayed to `now`), so the chart shows forgetting too.
    Activities must come oldest first."""
    states: dict[str, MasteryState] = {}
    series: dict[str, dict[date, float]] = {}
    for point in activities:
        evidence = _evidence(point)
        if evidence is None:
            continue  # a lesson, a skipped quiz, a question: no graded evidence, nothing to plot
        value, weight = evidence
        state = states.get(point.concept_id, MasteryState()).with_evidence(value, weight, point.at)
        states[point.concept_id] = state
        day = local_date(point.at, timezone)
        series.setdefault(point.concept_id, {})[day] = state.mastery(point.at)
    today = local_date(now, timezone)
    for concept_id, days in series.items():
        days[today] = states[concept_id].mastery(now)
    return {concept: sorted(days.items()) for concept, days in series.items()}


@dataclass(frozen=True)
class CalendarDay:
    day: date
    count: int
    future: bool = False


def activity_calendar(
    moments: Iterable[datetime], now: datetime, timezone: str = "", weeks: int = CALENDAR_WEEKS
) -> list[list[CalendarDay]]:
    """A GitHub-style grid: `weeks` columns of seven local days (Monday first), the last column
    holding today; each day with the number of activities on it. Days after today are `future`."""
    today = local_date(now, timezone)
    first = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    counts: dict[date, int] = {}
    for moment in moments:
        day = local_date(moment, timezone)
        if first <= day <= today:
            counts[day] = counts.get(day, 0) + 1
    grid: list[list[CalendarDay]] = []
    for week in range(weeks):
        start = first + timedelta(weeks=week)
        days = [start + timedelta(days=offset) for offset in range(7)]
        grid.append([CalendarDay(d, counts.get(d, 0), d > today) for d in days])
    return grid


def week_start(day: date) -> date:
    """The Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def retention_curve(members: Mapping[int, tuple[date, Iterable[date]]], today: date) -> list[float]:
    """Share of a cohort active in week 0, 1, 2 ... after each member's own start.

    `members`: learner id -> (their start day, the days they did something). Week k of a member
    is days [start + 7k, start + 7k + 7). The curve runs from week 0 to the last week that has
    begun for the cohort's latest starter, so every point has every member in its denominator."""
    if not members:
        return []
    latest_start = max(start for start, _ in members.values())
    weeks = max(0, (today - latest_start).days) // 7 + 1
    active_in = [0] * weeks
    for start, days in members.values():
        seen = {(day - start).days // 7 for day in days if day >= start}
        for week in seen:
            if week < weeks:
                active_in[week] += 1
    return [count / len(members) for count in active_in]


def completed(
    progress: Mapping[str, ConceptProgress], concept_ids: Sequence[str], now: datetime
) -> bool:
    """Finished the course: every concept of it mastered now (mastery >= MASTERED)."""
    return bool(concept_ids) and all(
        cid in progress and progress[cid].mastery.mastery(now) >= MASTERED for cid in concept_ids
    )


def mean_mastery(
    progress: Mapping[str, ConceptProgress], concept_ids: Sequence[str], now: datetime
) -> float:
    """Mastery now averaged over every concept of the course (unstudied ones count as 0)."""
    if not concept_ids:
        return 0.0
    total = sum(progress[c].mastery.mastery(now) for c in concept_ids if c in progress)
    return total / len(concept_ids)
