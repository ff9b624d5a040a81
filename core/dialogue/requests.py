"""Requests inside short sentences: a command word ("can you show my progress", "delete my data")
or an activity ("quick quiz pls", "gib mir ein quiz", "let's do the next lesson")."""

from __future__ import annotations

from core.dialogue import phrases
from core.dialogue.parsing import Keyword, command_of
from core.dialogue.wording import strip_fillers
from core.events import InboundEvent

MAX_REQUEST_WORDS = 7  # "can you give me a quick quiz please": longer texts are not requests
ACTIVITY_KEYWORDS = (Keyword.QUIZ, Keyword.TODAY, Keyword.MORE, Keyword.START)


def command_in(words: list[str]) -> Keyword | None:
    """A command word in a short request: "can you show my progress", "delete my data"."""
    if not 1 < len(words) <= 6:
        return None
    rest = [w for w in words if w not in phrases.COMMAND_CUES]
    if len(rest) != 1:
        return None
    keyword = command_of(InboundEvent.text_message(rest[0]))
    # "quiz me", "next lesson": activity requests (activity_request below)
    return keyword if keyword not in (None, Keyword.STOP, *ACTIVITY_KEYWORDS) else None


def activity_request(words: list[str], raw: str) -> Keyword | None:
    """QUIZ or MORE for a short request naming an activity, in any order of the request words."""
    text = " ".join(words)
    request = strip_fillers(words)
    if request in phrases.QUIZ_REQUESTS:
        return Keyword.QUIZ
    if request in phrases.LESSON_REQUESTS:
        return Keyword.MORE
    if len(words) > MAX_REQUEST_WORDS or raw.strip().endswith("?"):
        return None
    named = [w for w in words if w not in phrases.REQUEST_WORDS and w not in phrases.FILLERS]
    if (len(named) == 1 and named[0] in phrases.QUIZ_WORDS) or text == "test me":
        return Keyword.QUIZ
    if len(named) == 1 and named[0] in phrases.LESSON_WORDS:
        return Keyword.MORE
    return None
