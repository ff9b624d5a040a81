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
    FEWER = "fewer"  # fewer reminders
    MUTE = "mute"  # reminders off (not an unsubscribe)
    REMIND = "remind"  # reminders on
    QUIET = "quiet"  # quiet hours: "quiet 22-7"


ALIASES = {  # normalized; German beside English (the learner may write either)
    "unsubscribe": Keyword.STOP,
    "quit": Keyword.STOP,
    "stopp": Keyword.STOP,
    "abmelden": Keyword.STOP,
    "today s three": Keyword.TODAY,
    "today s session": Keyword.TODAY,  # the menu's button labels, typed
    "quick quiz": Keyword.QUIZ,
    "my progress": Keyword.PROGRESS,
    "one more round": Keyword.MORE,
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
    "fewer reminders": Keyword.FEWER,
    "less reminders": Keyword.FEWER,
    "remind me less": Keyword.FEWER,
    "weniger erinnerungen": Keyword.FEWER,
    "stop reminders": Keyword.MUTE,
    "stop reminding me": Keyword.MUTE,
    "reminders off": Keyword.MUTE,
    "no reminders": Keyword.MUTE,
    "no more reminders": Keyword.MUTE,
    "keine erinnerungen": Keyword.MUTE,
    "erinnerungen aus": Keyword.MUTE,
    "reminders on": Keyword.REMIND,
    "reminders": Keyword.REMIND,
    "remind me": Keyword.REMIND,
    "erinnerungen an": Keyword.REMIND,
    "erinnerungen": Keyword.REMIND,
    "quiet hours": Keyword.QUIET,
    "ruhezeit": Keyword.QUIET,
    "ruhezeiten": Keyword.QUIET,
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


def is_yes(event: InboundEvent, *, whole: bool = False) -> bool:
    """A yes; `whole`: the whole message must be one (before something that cannot be undone)."""
    if whole:
        return event.choice_id == "yes" or normalize(event.text) in YES
    return event.choice_id == "yes" or _first_clause(event.text) in YES or _only(event.text, "👍✅")


def is_no(event: InboundEvent) -> bool:
    return event.choice_id == "no" or _first_clause(event.text) in NO or _only(event.text, "👎❌")


def _first_clause(text: str) -> str:
    """ "nope, not comfortable with that" -> "nope" (the rest only says why); "yeah sure" and
    "ok fine" -> "yes" (a clause made of yes words)."""
    clause = normalize(re.split(r"[,.!;]", text.strip(), maxsplit=1)[0])
    words = clause.split()
    if len(words) > 1 and all(w in YES or w in ("fine", "go", "ahead", "alright") for w in words):
        return "yes"
    return clause


def _only(text: str, emoji: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and all(ch in emoji or ch.isspace() or ord(ch) in (0xFE0F, 0x200D)
                                  for ch in stripped)  # fmt: skip


_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|uhr)?$")  # "21 Uhr" too


def parse_time_of_day(text: str) -> str | None:
    """'7', '7:30', '19.30', '7pm', '7:30 am' -> 'HH:MM'; None if it is not a time."""
    match = _TIME.match(text.strip().lower())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").replace(".", "")
    if suffix in ("am", "pm"):
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
    # German names of places, and countries with one zone
    "munchen": "Europe/Berlin", "koln": "Europe/Berlin", "hamburg": "Europe/Berlin",
    "frankfurt": "Europe/Berlin", "stuttgart": "Europe/Berlin", "dusseldorf": "Europe/Berlin",
    "leipzig": "Europe/Berlin", "dresden": "Europe/Berlin", "hannover": "Europe/Berlin",
    "wien": "Europe/Vienna", "genf": "Europe/Zurich", "basel": "Europe/Zurich",
    "bern": "Europe/Zurich", "rom": "Europe/Rome", "mailand": "Europe/Rome",
    "prag": "Europe/Prague", "warschau": "Europe/Warsaw", "lissabon": "Europe/Lisbon",
    "moskau": "Europe/Moscow", "brussel": "Europe/Brussels", "kopenhagen": "Europe/Copenhagen",
    "athen": "Europe/Athens", "deutschland": "Europe/Berlin", "germany": "Europe/Berlin",
    "osterreich": "Europe/Vienna", "austria": "Europe/Vienna", "schweiz": "Europe/Zurich",
    "switzerland": "Europe/Zurich", "france": "Europe/Paris", "frankreich": "Europe/Paris",
    "spain": "Europe/Madrid", "spanien": "Europe/Madrid", "italy": "Europe/Rome",
    "italien": "Europe/Rome", "netherlands": "Europe/Amsterdam", "niederlande": "Europe/Amsterdam",
    "japan": "Asia/Tokyo", "cet": "Europe/Berlin", "cest": "Europe/Berlin", "mez": "Europe/Berlin",
    "est": "America/New_York", "edt": "America/New_York", "cst": "America/Chicago",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "ist": "Asia/Kolkata",
    "bst": "Europe/London", "jst": "Asia/Tokyo",
}  # fmt: skip
# "I live in Munich", "ich wohne in Wien": the place after such a lead-in
_PLACE_LEAD_IN = re.compile(
    r"^(i live in|i m in|im in|i am in|i m from|im from|i am from|i m based in|based in|in|near"
    r"|from|ich wohne in|ich lebe in|ich bin in|ich komme aus|ich bin aus|aus|bei|wohne in)\s+"
)


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
    place = normalize(raw)
    for candidate in (place, _PLACE_LEAD_IN.sub("", place), *raw.split(",")):
        city = normalize(candidate)
        zone = CITY_ALIASES.get(city) or _zones_by_city().get(city)
        if zone:
            return zone
    return None


def local_clock(zone: str, now: datetime) -> str:
    return now.astimezone(ZoneInfo(zone)).strftime("%H:%M")
