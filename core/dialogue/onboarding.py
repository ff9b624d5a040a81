"""Onboarding, one question at a time: consent, name, course, level, time, zone, nudges."""

from __future__ import annotations

import logging
from dataclasses import replace

from core.content import normalize
from core.dialogue import phrases, session
from core.dialogue.model import Transition, Turn
from core.dialogue.parsing import (
    NO,
    YES,
    command_of,
    is_no,
    is_yes,
    local_clock,
    parse_time_of_day,
    parse_timezone,
)
from core.dialogue.phrases import canon
from core.dialogue.states import State
from core.dialogue.wording import gibberish
from core.events import EventKind, InboundEvent
from core.replies import Choices, Option, Reply, Text
from core.texts import available_languages

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 40
NOT_NAMES = YES | NO | phrases.GREETINGS | phrases.SKIP_WORDS | phrases.DONT_KNOW_WORDS
MAX_NAME_WORDS = 4
LEVELS = ("new", "some", "confident")
DAILY_TIMES = {"morning": "08:00", "lunch": "12:30", "evening": "19:00"}


def question_for(turn: Turn, state: State) -> list[Reply]:
    """The question a learner in `state` is being asked (used to ask it and to ask it again)."""
    t = turn.t
    if state is State.CONSENT:
        return [Text(t("welcome")), consent_choices(turn)]
    if state is State.NAME:
        return [Text(t("ask_name"))]
    if state is State.COURSE:
        courses = sorted(turn.world.courses.values(), key=lambda c: c.title)
        if not courses:
            log.warning(
                "no course imported: a learner is waiting to choose one (pau content import)"
            )
            return [Text(t("no_course_yet"))]
        lines = [Text(t("course_list", courses=courses))]
        options = tuple(Option(f"course:{c.slug}", c.title[:60]) for c in courses[:10])
        return [*lines, Choices(t("ask_course"), options)]
    if state is State.LEVEL:
        options = tuple(Option(f"level:{level}", t(f"level_{level}")) for level in LEVELS)
        return [Choices(t("ask_level"), options)]
    if state is State.DAILY_TIME:
        options = tuple(
            Option(f"time:{key}", t(f"time_{key}", time=value))
            for key, value in DAILY_TIMES.items()
        )
        return [Choices(t("ask_daily_time"), options)]
    if state is State.TIMEZONE:
        return [Text(t("ask_timezone"))]
    options = (Option("yes", t("button_nudges_yes")), Option("no", t("button_nudges_no")))
    return [Choices(t("ask_nudges", time=turn.snapshot.profile.daily_time), options)]


def _could_be_a_name(name: str) -> bool:
    """Not "hi", "skip", "quiz me", "why?", a command word or keyboard mashing."""
    words = canon(name).split()
    if not words or len(words) > MAX_NAME_WORDS or "?" in name or gibberish(words):
        return False
    said = " ".join(words)
    command = command_of(InboundEvent.text_message(name)) is not None
    request = said in phrases.QUIZ_REQUESTS or said in phrases.LESSON_REQUESTS
    return not (said in NOT_NAMES or normalize(name) in NOT_NAMES or command or request)


def consent_choices(turn: Turn) -> Choices:
    t = turn.t
    options = (Option("yes", t("button_agree")), Option("no", t("button_decline")))
    return Choices(t("consent_prompt"), options)


def platform_language(code: str) -> str:
    """'de-DE' or 'de' -> 'de' when PAU speaks it, else ''."""
    language = code.split("-", 1)[0].split("_", 1)[0].lower()
    return language if language in available_languages() else ""


def zone_label(zone: str) -> str:
    """A zone in the learner's terms: 'UTC+2', not 'Etc/GMT-2' (whose sign is inverted)."""
    if zone.startswith("Etc/GMT") and len(zone) > len("Etc/GMT"):
        offset = zone.removeprefix("Etc/GMT")
        return f"UTC{'-' if offset.startswith('+') else '+'}{offset[1:]}"
    return zone


def ask(turn: Turn, state: State, *intro: Reply) -> Transition:
    return turn.go(state, *intro, *question_for(turn, state))


def _course_choice(turn: Turn, event: InboundEvent) -> str | None:
    courses = sorted(turn.world.courses.values(), key=lambda c: c.title)
    if event.choice_id.startswith("course:"):
        slug = event.choice_id.removeprefix("course:")
        return slug if slug in turn.world.courses else None
    text = event.text.strip().lower()
    if text.isdigit() and 1 <= int(text) <= len(courses):
        return courses[int(text) - 1].slug
    matches = [c.slug for c in courses if text and (text in c.title.lower() or text == c.slug)]
    return matches[0] if len(matches) == 1 else None


def _level_choice(event: InboundEvent) -> str | None:
    if event.choice_id.startswith("level:") and event.choice_id[6:] in LEVELS:
        return event.choice_id[6:]
    text = event.text.strip().lower()
    if text in {"1", "2", "3"}:
        return LEVELS[int(text) - 1]
    for level, words in (
        ("new", ("new", "beginner", "none", "nothing")),
        ("some", ("some", "bit", "little")),
        ("confident", ("confident", "well", "expert", "advanced")),
    ):
        if any(w in text for w in words):
            return level
    return None


def _time_choice(event: InboundEvent) -> str | None:
    key = (
        event.choice_id.removeprefix("time:")
        if event.choice_id.startswith("time:")
        else event.text.strip().lower()
    )
    if key in ("1", "2", "3"):  # the option's number (a session at 1 a.m. is not what is meant)
        return list(DAILY_TIMES.values())[int(key) - 1]
    return DAILY_TIMES.get(key) or parse_time_of_day(event.text)


def _welcome(turn: Turn, event: InboundEvent) -> Transition:
    """The first message: the welcome and the consent question, in the language the learner's
    app is set to when PAU speaks it (`lang` changes it any time)."""
    language = platform_language(event.language)
    if not language or language == turn.snapshot.profile.language:
        return turn.stay(*question_for(turn, State.CONSENT), asked=True)
    profile = replace(turn.snapshot.profile, language=language)
    speaking = Turn(replace(turn.snapshot, profile=profile), turn.now, turn.world)
    welcome = speaking.stay(*question_for(speaking, State.CONSENT), asked=True)
    return welcome.then(language=language)


def handle(turn: Turn, event: InboundEvent) -> Transition:
    state = turn.snapshot.state
    t = turn.t
    if state is State.CONSENT and not turn.snapshot.data.get("asked"):
        return _welcome(turn, event)  # the first message, whatever it is (a sticker too)
    if event.kind is EventKind.UNSUPPORTED:
        return turn.stay(Text(t("unsupported_onboarding")), *question_for(turn, state))
    if state is State.CONSENT:
        if is_yes(event):
            return ask(turn, State.NAME, Text(t("consent_thanks"))).then(consented=True)
        if is_no(event):
            return Transition(State.CONSENT, {}, (Text(t("consent_declined")),), erase_learner=True)
        return turn.stay(Text(t("consent_reask")), *question_for(turn, state)[1:])
    if state is State.NAME:
        name = " ".join(event.text.split())[:MAX_NAME_CHARS]
        if event.kind is not EventKind.TEXT or not _could_be_a_name(name):
            return turn.stay(*question_for(turn, state))
        return ask(turn, State.COURSE, Text(t("greet_name", name=name))).then(name=name)
    if state is State.COURSE:
        slug = _course_choice(turn, event)
        if slug is None and not turn.world.courses:  # nothing to choose from yet
            return turn.stay(*question_for(turn, state))
        if slug is None:
            return turn.stay(Text(t("didnt_catch")), *question_for(turn, state))
        return ask(turn, State.LEVEL).then(course_slug=slug)
    if state is State.LEVEL:
        level = _level_choice(event)
        if level is None:
            return turn.stay(Text(t("didnt_catch")), *question_for(turn, state))
        return ask(turn, State.DAILY_TIME).then(level=level)
    if state is State.DAILY_TIME:
        time = _time_choice(event)
        if time is None:
            return turn.stay(Text(t("bad_time")), *question_for(turn, state))
        return ask(turn, State.TIMEZONE).then(daily_time=time)
    if state is State.TIMEZONE:
        zone = parse_timezone(event.text)
        if zone is None:
            return turn.stay(Text(t("bad_timezone")), *question_for(turn, state))
        clock = local_clock(zone, turn.now)
        confirm = Text(t("timezone_set", zone=zone_label(zone), clock=clock))
        return turn.go(State.NUDGES, confirm, *question_for(turn, State.NUDGES)).then(timezone=zone)
    # State.NUDGES
    if not (is_yes(event) or is_no(event)):
        return turn.stay(Text(t("didnt_catch")), *question_for(turn, state))
    nudges = is_yes(event)
    course = turn.course
    profile = turn.snapshot.profile
    done = Text(t("onboarding_done", name=profile.name, nudges=nudges, time=profile.daily_time))
    if course is None:
        return turn.go(State.IDLE, done, Text(t("no_course")))
    plan = session.todays_three(turn)
    return session.start(turn, plan, done).then(nudges=nudges)
