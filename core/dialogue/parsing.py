"""Reading learner text: commands, yes/no, questions, times of day and time zones."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from core.content import normalize
from core.events import EventKind, InboundEvent


class Keyword(StrEnum):
    START = "start"
    TODAY = "today"
    QUIZ = "quiz"
    ASK = "ask"
    MENU = "menu"
    HELP = "help"
    PROGRESS = "progress"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    EXPORT = "export"
    DELETE = "delete"
    MORE = "more"
    GOAL = "goal"
    LANG = "lang"


ALIASES = {  # normalized; German beside English (the learner may write either)
    "unsubscribe": Keyword.STOP,
    "quit": Keyword.STOP,
    "stopp": Keyword.STOP,
    "abmelden": Keyword.STOP,
    "today s three": Keyword.TODAY,
    "session": Keyword.TODAY,
    "lesson": Keyword.TODAY,
    "heute": Keyword.TODAY,
    "lektion": Keyword.TODAY,
    "one more": Keyword.MORE,
    "continue learning": Keyword.MORE,
    "topic": Keyword.GOAL,
    "topics": Keyword.GOAL,
    "ziel": Keyword.GOAL,
    "language": Keyword.LANG,
    "sprache": Keyword.LANG,
    "hilfe": Keyword.HELP,
    "fortschritt": Keyword.PROGRESS,
    "pausieren": Keyword.PAUSE,
    "fortsetzen": Keyword.RESUME,
    "exportieren": Keyword.EXPORT,
    "meine daten": Keyword.EXPORT,
    "loschen": Keyword.DELETE,
    "frage": Keyword.ASK,
}

YES = {
    "yes",
    "y",
    "yeah",
    "yep",
    "sure",
    "ok",
    "okay",
    "i agree",
    "ja",
    "klar",
    "gerne",
    "ja bitte",
    "einverstanden",
    "agree",
    "yes please",
    "of course",
    "👍",
}
NO = {
    "no",
    "n",
    "nope",
    "no thanks",
    "no thank you",
    "not now",
    "nah",
    "nein",
    "nein danke",
    "lieber nicht",
}
CHOICE_PREFIX = "cmd:"


def command_of(event: InboundEvent) -> Keyword | None:
    """The global command an event asks for, if any (`/stop`, `STOP`, a menu button...)."""
    if event.kind is EventKind.CHOICE and event.choice_id.startswith(CHOICE_PREFIX):
        raw = event.choice_id.removeprefix(CHOICE_PREFIX)
    elif event.kind in (EventKind.COMMAND, EventKind.TEXT):
        raw = event.text.strip().lstrip("/").split("@", 1)[0]
    else:
        return None
    word = normalize(raw)
    if word in ALIASES:
        return ALIASES[word]
    try:
        return Keyword(word)
    except ValueError:
        return None


def is_yes(event: InboundEvent) -> bool:
    return event.choice_id == "yes" or normalize(event.text) in YES


def is_no(event: InboundEvent) -> bool:
    return event.choice_id == "no" or normalize(event.text) in NO


_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$")


def parse_time_of_day(text: str) -> str | None:
    """'7', '7:30', '19.30', '7pm', '7:30 am' -> 'HH:MM'; None if it is not a time."""
    match = _TIME.match(text.strip().lower())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").replace(".", "")
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


@cache
def _zones_by_city() -> dict[str, str]:
    zones: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in name:
            continue
        city = normalize(name.rsplit("/", 1)[1].replace("_", " "))
        zones.setdefault(city, name)
    return zones


CITY_ALIASES = {
    "london": "Europe/London", "uk": "Europe/London", "new york": "America/New_York",
    "nyc": "America/New_York", "san francisco": "America/Los_Angeles", "la": "America/Los_Angeles",
    "munich": "Europe/Berlin", "delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
    "india": "Asia/Kolkata", "beijing": "Asia/Shanghai", "utc": "UTC", "gmt": "UTC",
}  # fmt: skip


def parse_timezone(text: str) -> str | None:
    """An IANA zone from 'Europe/Berlin', 'Berlin', 'new york' or 'UTC+2'; None if unknown."""
    raw = text.strip()
    if not raw or len(raw) > 64:
        return None
    try:
        if "/" in raw or raw.upper() == "UTC":
            ZoneInfo(raw)
            return raw
    except (ZoneInfoNotFoundError, ValueError):
        pass
    offset = _OFFSET.match(raw.lower().replace(" ", ""))
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        if minutes == 0 and hours <= 14:
            # Etc/GMT zones have inverted signs: UTC+2 is Etc/GMT-2.
            return "UTC" if hours == 0 else f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
        return None
    city = normalize(raw)
    return CITY_ALIASES.get(city) or _zones_by_city().get(city)


def local_clock(zone: str, now: datetime) -> str:
    return now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
