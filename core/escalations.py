"""Escalation to a human mentor: what the dialogue asks for, and when a mentor will answer.

A learner's "mentor" or "I want a human" (or crisis language) opens an escalation: the step
returns an `EscalationRequest` in its transition, the runner stores it in the same transaction
(and, when it is urgent, a command that pings the on-duty mentors). The mentor's reply and their
"resolved" come back as internal events (`mentor_replied`, `mentor_resolved`), so the dialogue
stays the only writer of what the learner sees (DESIGN.md §2, §8).

`MentorHours` are the operator's configured hours (`PAU_MENTOR_HOURS`, e.g.
"mon-fri 09:00-17:00 Europe/Berlin"): they tell the learner roughly when to expect an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.content import Course
from core.retrieval import excerpt, index_for

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_PATTERN = re.compile(
    r"^\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})(?:\s+(?P<zone>\S+))?\s*$"
)
MAX_QUESTION_CHARS = 2000
EMPHASIS = re.compile(r"(?<!\w)[*_]([^*_\n]+)[*_](?!\w)")  # the course's *Markdown* emphasis


@dataclass(frozen=True)
class EscalationRequest:
    """A question for a mentor, as the step saw it. `draft` is a suggested answer from the course
    (the mentor edits it); `concept_id` what the learner was studying."""

    question: str
    reason: str = "asked"  # asked | crisis | tutor | no_answer
    urgent: bool = False
    concept_id: str = ""
    draft: str = ""


@dataclass(frozen=True)
class MentorHours:
    """When mentors answer: the same hours on a run of weekdays, in one time zone."""

    days: frozenset[int] = frozenset(range(5))  # 0 = Monday
    start: time = time(9, 0)
    end: time = time(17, 0)
    zone: str = "UTC"

    @staticmethod
    def parse(text: str) -> MentorHours:
        """ "mon-fri 09:00-17:00 Europe/Berlin", "mon-sun 08:00-20:00"; raises ValueError."""
        match = HOURS_PATTERN.match(text.strip().lower())
        if match is None:
            raise ValueError(f"mentor hours {text!r}: expected e.g. 'mon-fri 09:00-17:00 UTC'")
        first = DAY_NAMES.index(match["first"]) if match["first"] in DAY_NAMES else -1
        last = DAY_NAMES.index(match["last"]) if match["last"] in DAY_NAMES else first
        if first < 0 or last < 0:
            raise ValueError(f"mentor hours {text!r}: days are mon, tue, ... sun")
        days = frozenset((first + n) % 7 for n in range((last - first) % 7 + 1))
        start, end = (
            time.fromisoformat(match["start"].zfill(5)),
            time.fromisoformat(match["end"].zfill(5)),
        )
        if end <= start:
            raise ValueError(f"mentor hours {text!r}: the end comes before the start")
        zone = match["zone"] or "UTC"
        try:
            ZoneInfo(_zone_name(text, zone))
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"mentor hours {text!r}: unknown time zone {zone!r}") from error
        return MentorHours(days, start, end, _zone_name(text, zone))

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.zone))
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_opening(self, now: datetime) -> datetime:
        """`now` when mentors are in; otherwise the start of their next working day."""
        if self.is_open(now):
            return now
        zone = ZoneInfo(self.zone)
        local = now.astimezone(zone)
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            opening = datetime.combine(day, self.start, zone)
            if day.weekday() in self.days and opening > local:
                return opening
        return now  # no working day at all: cannot happen with a parsed MentorHours


def _zone_name(text: str, lowered: str) -> str:
    """The zone as the operator wrote it (zone names are case-sensitive)."""
    for word in text.split():
        if word.lower() == lowered:
            return word
    return lowered if lowered != "utc" else "UTC"


@dataclass(frozen=True)
class Wait:
    """What the learner is told: an answer soon (mentors are in) or from a day and time."""

    soon: bool
    opening: datetime  # in the learner's time zone


def expected_wait(hours: MentorHours, now: datetime, learner_zone: str) -> Wait:
    opening = hours.next_opening(now)
    try:
        zone = ZoneInfo(learner_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return Wait(soon=opening == now, opening=opening.astimezone(zone))


def draft_answer(course: Course | None, question: str) -> tuple[str, str]:
    """A suggested answer from the course (the best passage or a mentor's earlier FAQ answer)
    and its concept id; ("", "") when nothing matches."""
    if course is None or not question.strip():
        return "", ""
    found = index_for(course).best(question)
    if found is None:
        return "", ""
    passage = found.passage
    source = "From an earlier mentor answer" if passage.from_faq else "From the lesson"
    quoted = EMPHASIS.sub(r"\1", excerpt(passage.text, question))  # plain text to edit
    return f"{source} “{passage.concept_title}”: {quoted}", passage.concept_id
