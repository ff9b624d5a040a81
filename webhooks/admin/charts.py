"""Small inline SVG charts for the admin page, drawn in Python: mastery per concept over time, the
activity calendar and a cohort's retention curve. Every piece of text in them (concept titles,
above all) goes through `escape`, so the Markup returned is safe to put in a page as it is.

Compact on purpose: one <path> per concept (a point per day at most), one <rect> per day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from markupsafe import Markup

from core.insights import CalendarDay
from core.mastery import MASTERED

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22")  # fmt: skip
WIDTH, HEIGHT, LEFT, TOP, BOTTOM = 640, 220, 36, 10, 24
LEGEND_ROW = 18
CELL = 11  # a calendar day's square, gap included
SHADES = ("#ebedf0", "#9be9a8", "#40c463", "#30a14e", "#216e39")


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def mastery_chart(
    series: Mapping[str, Sequence[tuple[date, float]]], start: date, end: date
) -> Markup:
    """One line per concept (title -> (day, mastery 0..1) points, oldest first) over the days
    from `start` to `end`, a dashed line at the mastered threshold and a legend."""
    span = max(1, (end - start).days)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM

    def x(day: date) -> str:
        return _number(LEFT + plot_w * (day - start).days / span)

    def y(value: float) -> str:
        return _number(TOP + plot_h * (1 - min(1.0, max(0.0, value))))

    legend_h = LEGEND_ROW * len(series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart mastery-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + legend_h}" width="{WIDTH}" height="{HEIGHT + legend_h}">',
        "<title>Mastery per concept over time</title>",
        f'<line x1="{LEFT}" y1="{y(0)}" x2="{WIDTH - 10}" y2="{y(0)}" stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{y(MASTERED)}" x2="{WIDTH - 10}" y2="{y(MASTERED)}" '
        'stroke="#2ca02c" stroke-dasharray="4 3"/>',
    ]
    for value in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="2" y="{y(value)}" font-size="10" dy="3">{round(value * 100)}%</text>'
        )
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 6}" font-size="10">{start.isoformat()}</text>')
    parts.append(
        f'<text x="{WIDTH - 10}" y="{HEIGHT - 6}" font-size="10" text-anchor="end">'
        f"{end.isoformat()}</text>"
    )
    for index, (title, points) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        steps = " ".join(
            f"{'M' if i == 0 else 'L'}{x(d)} {y(v)}" for i, (d, v) in enumerate(points)
        )
        label = escape(title)
        if len(points) == 1:  # a path of one point draws nothing: a dot instead
            ((day, value),) = points
            parts.append(
                f'<circle class="concept-dot" cx="{x(day)}" cy="{y(value)}" r="4" '
                f'fill="{colour}"><title>{label}</title></circle>'
            )
        elif points:
            parts.append(
                f'<path class="concept-line" d="{steps}" fill="none" stroke="{colour}" '
                f'stroke-width="2"><title>{label}</title></path>'
            )
        row = HEIGHT + LEGEND_ROW * index + 12
        parts.append(f'<rect x="{LEFT}" y="{row - 9}" width="10" height="10" fill="{colour}"/>')
        last = points[-1][1] if points else 0.0
        parts.append(
            f'<text x="{LEFT + 16}" y="{row}" font-size="12">{label} ({round(last * 100)}%)</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _shade(count: int, most: int) -> str:
    if count <= 0:
        return SHADES[0]
    return SHADES[min(4, 1 + (count - 1) * 4 // max(1, most))]


def _month_labels(grid: Sequence[Sequence[CalendarDay]]) -> list[tuple[int, date]]:
    """(column, month) for each week holding a month's first day, and for the first week when
    its month starts before the grid (unless the next label follows too closely to fit)."""
    labels = [
        (column, day.day) for column, week in enumerate(grid) for day in week if day.day.day == 1
    ]
    if grid and grid[0] and (not labels or labels[0][0] >= 3):
        labels.insert(0, (0, grid[0][0].day))
    return labels


def activity_calendar(grid: Sequence[Sequence[CalendarDay]]) -> Markup:
    """The calendar grid (weeks as columns, Monday on top), a day's count in its tooltip."""
    most = max((day.count for week in grid for day in week), default=0)
    width, height = CELL * len(grid) + 42, CELL * 7 + 14  # room for the last month label
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart activity-calendar" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        "<title>Activities per day</title>",
    ]
    for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        parts.append(f'<text x="0" y="{14 + CELL * row + 8}" font-size="8">{name}</text>')
    for column, month in _month_labels(grid):
        parts.append(f'<text x="{30 + CELL * column}" y="9" font-size="8">{month:%b}</text>')
    for column, week in enumerate(grid):
        for row, day in enumerate(week):
            if day.future:
                continue
            noun = "activity" if day.count == 1 else "activities"
            parts.append(
                f'<rect x="{30 + CELL * column}" y="{14 + CELL * row}" width="{CELL - 2}" '
                f'height="{CELL - 2}" fill="{_shade(day.count, most)}" data-count="{day.count}">'
                f"<title>{day.day.isoformat()}: {day.count} {noun}</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def retention_line(curve: Sequence[float], width: int = 160, height: int = 40) -> Markup:
    """A cohort's retention curve (shares 0..1, week 0 first) as a small line; a dot while the
    cohort has only its first week (a polyline of one point draws nothing)."""
    if not curve:
        return Markup("")
    step = (width - 8) / max(1, len(curve) - 1)
    points = [
        (_number(4 + step * week), _number(4 + (height - 8) * (1 - share)))
        for week, share in enumerate(curve)
    ]
    if len(points) == 1:
        shape = f'<circle cx="{points[0][0]}" cy="{points[0][1]}" r="3" fill="#1f77b4"/>'
    else:
        joined = " ".join(f"{px},{py}" for px, py in points)
        shape = f'<polyline points="{joined}" fill="none" stroke="#1f77b4" stroke-width="2"/>'
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart retention" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f"<title>Share active per week since the start</title>{shape}</svg>"
    )
