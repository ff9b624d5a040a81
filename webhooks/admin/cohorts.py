"""Admin page: at-risk learners (mentor and admin), each with its reasons, and cohorts (admin
only): learners grouped by course and ISO start week, with progress, completion and retention.

Completion is the share of a cohort who have mastered every concept of the course now; mean
mastery averages every concept of the course (unstudied ones at 0). Retention: see
core.insights.retention_curve (UTC days, week k counted from each learner's own start)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from core.insights import (
    at_risk_reasons,
    completed,
    mean_mastery,
    retention_curve,
    week_start,
)
from storage import reports
from storage.db import reading
from webhooks.admin import charts
from webhooks.admin.deps import AdminUser, PauDep, StaffUser, render

router = APIRouter()
AT_RISK_SHOWN = 500  # the page lists the most worrying first; more would not be read


@dataclass(frozen=True)
class AtRiskLine:
    id: int
    name: str
    channel: str
    course_title: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CohortLine:
    course_title: str
    week: str  # ISO week, "2026-W10"
    starts_on: str
    learners: int
    mean_mastery: int  # percent
    completion: int  # percent
    retention: tuple[int, ...]  # percent active in week 0, 1, 2 ...
    chart: Markup


@router.get("/at-risk")
def at_risk_page(request: Request, staff: StaffUser, pau: PauDep) -> HTMLResponse:
    now = pau.clock()
    with reading(pau.engine) as session:
        rows = reports.risk_facts(session, now=now)
    lines = [
        AtRiskLine(row.id, row.name, row.channel, row.course_title, tuple(reasons))
        for row in rows
        for reasons in [at_risk_reasons(row.facts, now)]
        if reasons
    ]
    lines.sort(key=lambda line: (-len(line.reasons), line.id))
    return render(request, "at_risk.html", staff, lines=lines[:AT_RISK_SHOWN], total=len(lines))


@router.get("/cohorts")
def cohorts_page(request: Request, staff: AdminUser, pau: PauDep) -> HTMLResponse:
    now = pau.clock()
    with reading(pau.engine) as session:
        facts = reports.cohort_facts(session)
    groups: dict[tuple[str, date], list[reports.CohortMember]] = defaultdict(list)
    for member in facts.members:
        groups[(member.course_slug, week_start(member.enrolled_at.date()))].append(member)
    lines = []
    for (slug, monday), members in sorted(
        groups.items(), key=lambda g: (g[0][0], -g[0][1].toordinal())
    ):
        concepts = facts.course_concepts.get(slug, ())
        curve = retention_curve(
            {m.learner_id: (m.enrolled_at.date(), m.active_days) for m in members}, now.date()
        )
        year, week, _ = monday.isocalendar()
        lines.append(
            CohortLine(
                course_title=facts.course_titles.get(slug, slug),
                week=f"{year}-W{week:02d}",
                starts_on=str(monday),
                learners=len(members),
                mean_mastery=round(
                    100
                    * sum(mean_mastery(m.progress, concepts, now) for m in members)
                    / len(members)
                ),
                completion=round(
                    100 * sum(completed(m.progress, concepts, now) for m in members) / len(members)
                ),
                retention=tuple(round(100 * share) for share in curve),
                chart=charts.retention_line(curve),
            )
        )
    return render(request, "cohorts.html", staff, cohorts=lines)
