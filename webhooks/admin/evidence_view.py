"""View models of one learner for the admin page: the detail page and the evidence report (HTML
and PDF), built from storage.reports.LearnerReport with core.insights. Plain frozen values; the
only markup is the charts', whose text is escaped where they are drawn (charts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

from core.insights import ActivityPoint, activity_calendar, local_date, mastery_over_time
from core.mastery import MASTERED, level
from storage.reports import LearnerReport
from webhooks.admin import charts

RECENT_ACTIVITIES = 20
KIND_LABELS = {"explain_back": "explain-back", "mentor_request": "mentor request"}


@dataclass(frozen=True)
class ActivityLine:
    when: str  # local "YYYY-MM-DD HH:MM"
    kind: str
    concept: str
    result: str


@dataclass(frozen=True)
class ConceptLine:
    title: str
    percent: int
    level: str
    mastered: bool


@dataclass(frozen=True)
class EvidenceView:
    learner_id: int
    name: str
    course_title: str
    period: str
    generated: str
    totals: tuple[tuple[str, str], ...]
    concepts: tuple[ConceptLine, ...]
    activities: tuple[ActivityLine, ...]  # oldest first

    @property
    def total_activities(self) -> int:
        return len(self.activities)


@dataclass(frozen=True)
class LearnerDetailView:
    id: int
    name: str
    channel: str
    phone: str | None
    timezone: str
    language: str
    joined: str
    last_active: str
    course_title: str
    streak: int
    best_streak: int
    xp: int
    freezes: int
    nudges_sent: int
    last_nudge: str
    open_escalations: int
    studied: int
    mastered: int
    chart: Markup
    calendar: Markup
    calendar_total: int
    concepts: tuple[ConceptLine, ...]
    recent: tuple[ActivityLine, ...]  # newest first


def _when(moment: datetime | None, timezone: str) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(ZoneInfo(timezone or "UTC")).strftime("%Y-%m-%d %H:%M")


def _when_zoned(moment: datetime | None, timezone: str) -> str:
    """The local time with its zone named ("2026-12-01 22:46 Europe/Berlin"): the learner list
    shows UTC, so an unlabelled local time would read as UTC."""
    if moment is None:
        return "-"
    return f"{_when(moment, timezone)} {timezone or 'UTC'}"


def _result(point: ActivityPoint) -> str:
    if point.kind == "quiz":
        return {True: "correct", False: "incorrect", None: "skipped"}[point.correct]
    if point.score is not None:
        return f"score {round(point.score * 100)}%"
    return "done"


def _lines(report: LearnerReport, last: int | None = None) -> list[ActivityLine]:
    """The activities as lines, oldest first (only the `last` few when given)."""
    pairs = list(zip(report.activities, report.activity_courses, strict=True))
    return [
        ActivityLine(
            when=_when(point.at, report.timezone),
            kind=KIND_LABELS.get(point.kind, point.kind),
            concept=report.titles.get((course, point.concept_id), point.concept_id) or "-",
            result=_result(point),
        )
        for point, course in (pairs[-last:] if last else pairs)
    ]


def _concepts(report: LearnerReport, now: datetime) -> tuple[ConceptLine, ...]:
    """Every concept of the course, in order, with mastery now (unstudied: 0 %)."""
    lines = []
    for concept_id, title in report.concepts:
        progress = report.progress.get(concept_id)
        value = progress.mastery.mastery(now) if progress else 0.0
        lines.append(ConceptLine(title, round(value * 100), str(level(value)), value >= MASTERED))
    return tuple(lines)


def _course_points(report: LearnerReport) -> list[ActivityPoint]:
    return [
        point
        for point, course in zip(report.activities, report.activity_courses, strict=True)
        if course == report.course_slug
    ]


def detail_view(report: LearnerReport, now: datetime) -> LearnerDetailView:
    """The learner detail page: profile, chart, calendar, streak, nudges, recent activities."""
    titles = dict(report.concepts)
    over_time = mastery_over_time(_course_points(report), now, report.timezone)
    series = {titles.get(cid, cid): points for cid, points in over_time.items()}
    today = local_date(now, report.timezone)
    starts = [points[0][0] for points in series.values() if points]
    chart = charts.mastery_chart(series, min(starts), today) if starts else Markup("")
    grid = activity_calendar((a.at for a in report.activities), now, report.timezone)
    motivation = report.motivation
    masteries = [p.mastery.mastery(now) for p in report.progress.values()]
    return LearnerDetailView(
        id=report.id, name=report.name, channel=report.channel, phone=report.phone,
        timezone=report.timezone or "UTC", language=report.language,
        joined=_when_zoned(report.created_at, report.timezone),
        last_active=_when_zoned(report.last_active, report.timezone),
        course_title=report.course_title, streak=report.streak,
        best_streak=motivation.best_streak, xp=motivation.xp, freezes=motivation.freezes,
        nudges_sent=report.nudges_sent,
        last_nudge=_when_zoned(report.last_nudge_at, report.timezone),
        open_escalations=report.open_escalations, studied=len(report.progress),
        mastered=sum(1 for m in masteries if m >= MASTERED), chart=chart,
        calendar=charts.activity_calendar(grid),
        calendar_total=sum(day.count for week in grid for day in week),
        concepts=_concepts(report, now),
        recent=tuple(reversed(_lines(report, RECENT_ACTIVITIES))),
    )  # fmt: skip


def evidence_view(report: LearnerReport, now: datetime) -> EvidenceView:
    """The evidence report: every activity with its result and date, mastery per concept, totals."""
    points = report.activities
    quizzes = [p for p in points if p.kind == "quiz" and p.correct is not None]
    right = sum(1 for p in quizzes if p.correct)
    explained = [p.score for p in points if p.kind == "explain_back" and p.score is not None]
    concepts = _concepts(report, now)
    period = "no activities yet"
    if points:
        zone = report.timezone
        period = f"{_when(points[0].at, zone)[:10]} to {_when(points[-1].at, zone)[:10]}"
    share = f" ({round(100 * right / len(quizzes))}%)" if quizzes else ""
    average = f"{round(100 * sum(explained) / len(explained))}%" if explained else "-"
    totals = (
        ("Activities", str(len(points))),
        ("Lessons", str(sum(1 for p in points if p.kind == "lesson"))),
        ("Quiz answers", str(len(quizzes))),
        ("Correct", f"{right}{share}"),
        ("Explain-backs", str(len(explained))),
        ("Explain-back average", average),
        ("Concepts mastered", f"{sum(1 for c in concepts if c.mastered)} of {len(concepts)}"),
        ("Streak", f"{report.streak} {'day' if report.streak == 1 else 'days'}"),
        ("XP", str(report.motivation.xp)),
    )
    return EvidenceView(
        learner_id=report.id,
        name=report.name,
        course_title=report.course_title,
        period=period,
        generated=_when_zoned(now, report.timezone),
        totals=totals,
        concepts=concepts,
        activities=tuple(_lines(report)),
    )
