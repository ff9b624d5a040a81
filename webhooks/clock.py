"""Time travel for the operator and the newcomer: the moments `pau nudge --at` and `pau chat --at`
take, the chat's movable clock, and the `clock` words typed in the chat (`clock +1d`).

A time written without an offset is UTC on the command line (the operator's view), and the
learner's local time in the chat's `clock` command (the learner's view).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

STEP = timedelta(minutes=15)  # the chat's clock moves this far at a time, the nudge sweep at each
LONGEST_MOVE = timedelta(days=31)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AMOUNT = re.compile(r"^\+\s*(\d{1,4})\s*(m|min|h|d|w)$")
CLOCK_HELP = (
    "clock shows the time; clock +30m, +2h, +1d or +1w moves it on; "
    "clock 2026-12-07T08:30 goes to that moment (your local time)"
)


class BadMoment(ValueError):
    """A time PAU cannot read; its message says what to write instead."""


def parse_moment(text: str, zone: tzinfo = UTC) -> datetime:
    """An ISO time (2026-12-02T08:30+01:00, 2026-12-02 08:30, 2026-12-02T07:30Z); without an
    offset it is in `zone`. The result is in UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadMoment(f"{text!r} is not an ISO time: write e.g. 2026-12-02T08:30+01:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


class MovableClock:
    """The real time, plus however far it was moved on: it runs on by itself while the chat goes
    on (answer times stay real), and it never goes back."""

    def __init__(self, start: datetime | None = None, now: Callable[[], datetime] | None = None):
        self._real = now or (lambda: datetime.now(UTC))
        self._offset = (start - self._real()) if start is not None else timedelta(0)

    def __call__(self) -> datetime:
        return self._real() + self._offset

    def move_to(self, moment: datetime) -> None:
        self._offset += max(moment - self(), timedelta(0))


@dataclass(frozen=True)
class ClockWords:
    """What a `clock ...` line asks: to move to `target`, or only to be shown the time."""

    target: datetime | None


def is_clock_line(line: str) -> bool:
    words = line.strip().lower().split(maxsplit=1)
    return bool(words) and words[0] == "clock"


def parse_clock_line(line: str, now: datetime, zone: ZoneInfo | None) -> ClockWords:
    """`clock`, `clock +30m` (m, h, d, w), `clock 2026-12-07T08:30` (local time, when the zone
    is known). Raises BadMoment for anything else, or for a move back in time or too far."""
    argument = line.strip()[len("clock") :].strip().lower()
    if not argument:
        return ClockWords(None)
    if argument.startswith("-"):
        raise BadMoment("the clock only moves forward (it would change the past)")
    amount = _AMOUNT.match(argument)
    if amount:
        unit = _UNITS[amount.group(2)]
        delta = timedelta(**{unit: int(amount.group(1))})
        # days and weeks on the wall clock (07:00 stays 07:00 across a DST change); hours not
        wall = zone is not None and unit in ("days", "weeks")
        start = now.astimezone(zone if wall else UTC)
        target = (start + delta).astimezone(UTC)
    elif argument[:1].isdigit():
        target = parse_moment(argument.upper(), zone or UTC)
    else:
        raise BadMoment(f"I did not get {argument!r}: {CLOCK_HELP}")
    if target < now:
        raise BadMoment(f"the clock only moves forward: it is {shown(now, zone)} already")
    if target - now > LONGEST_MOVE:
        raise BadMoment(f"one month at a time, at most ({LONGEST_MOVE.days} days)")
    return ClockWords(target)


def steps(start: datetime, end: datetime, step: timedelta = STEP) -> Iterator[datetime]:
    """The moments from `start` to `end`: on each quarter hour (08:00, 08:15, ...), then `end`,
    so what falls due at 08:00 happens at 08:00."""
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    moment = epoch + ((start - epoch) // step + 1) * step
    while moment < end:
        yield moment
        moment += step
    if end > start:
        yield end


def shown(moment: datetime, zone: ZoneInfo | None) -> str:
    """'Tue 2 Dec, 08:30 in Europe/Berlin (07:30 UTC)', or the UTC time alone."""
    utc = moment.astimezone(UTC)
    if zone is None or zone.key == "UTC":
        return f"{day_and_time(utc)} UTC"
    return f"{day_and_time(moment.astimezone(zone))} in {zone.key} ({utc:%H:%M} UTC)"


def day_and_time(moment: datetime) -> str:
    """'Tue 2 Dec, 08:30' (no zero before the day)."""
    return f"{moment:%a} {moment.day} {moment:%b}, {moment:%H:%M}"


def full_utc(moment: datetime) -> str:
    """'Tue 2 Dec 2026, 07:30 UTC'."""
    utc = moment.astimezone(UTC)
    return f"{utc:%a} {utc.day} {utc:%b %Y}, {utc:%H:%M} UTC"


def marker(moment: datetime, zone: ZoneInfo | None) -> str:
    """The line above what PAU sends while the clock moves: '— Tue 2 Dec, 08:30 (Europe/Berlin) —'
    (the learner's local time)."""
    local = moment.astimezone(zone or UTC)
    return f"— {day_and_time(local)} ({zone.key if zone else 'UTC'}) —"
