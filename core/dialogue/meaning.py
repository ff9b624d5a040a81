"""What a learner's message means, decided once per event in the context of the open prompt.

Offline and deterministic: phrase lists in English and German and a few rules, no network and no
API key (the LLM tutor may later refine an UNCLEAR or QUESTION, never replace this). The step asks
`understand` once and routes by the answer (`step.ROUTES`).

The order of the rules is the policy:
  1. buttons, polls and media say what they are;
  2. STOP words opt out everywhere; a pending yes/no (delete?) takes anything else as its answer,
     and so does a yes or no where one is asked for;
  3. an answer that the open quiz accepts is an answer, even "next" or "pass" ("I'd say b" too);
  4. commands ("help", "lang de", "can you show my progress"), "cancel", a request for a human;
  5. whole-message phrases: skip, "I don't know", activity requests ("quick quiz pls"),
     greetings, thanks, goodbyes and small talk: a message made only of those phrases and
     fillers ("that was fun, see you tomorrow", "hiii sorry late"), the strongest one wins;
  6. a question, judged by what the open prompt expects: while an explanation or a reflection is
     asked for, only a short text ending in "?" (or "can you…") is a question, so an answer that
     starts with "When" or "What" is still an answer; keyboard mashing is unclear, never graded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.content import QuizItem
from core.dialogue import phrases as p
from core.dialogue.parsing import CHOICE_PREFIX, Keyword, command_of, is_no, is_yes
from core.dialogue.phrases import canon
from core.dialogue.states import ONBOARDING, State
from core.dialogue.typed_answers import TypedOutcome, answer_readings, check_typed, pick_option
from core.events import EventKind, InboundEvent


class Meaning(StrEnum):
    ANSWER = "answer"  # to the open prompt: a quiz, a reflection, a set-up question, a yes/no
    QUESTION = "question"  # about the course
    GREETING = "greeting"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    SMALL_TALK = "small_talk"
    SKIP = "skip"
    DONT_KNOW = "dont_know"
    HUMAN = "human"  # wants a person
    ACTIVITY = "activity"  # "quiz me", "next lesson": `keyword` says which
    COMMAND = "command"  # `keyword` (and `argument`, as in "lang de")
    CANCEL = "cancel"  # end the current activity, stay subscribed
    STOP = "stop"  # opt out of everything
    UNSUPPORTED = "unsupported"  # a sticker, a voice note...
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class Understood:
    meaning: Meaning
    keyword: Keyword | None = None
    argument: str = ""


@dataclass(frozen=True)
class Context:
    """What the open prompt expects: the state, the open quiz item, a pending confirmation."""

    state: State
    item: QuizItem | None = None
    pending: str = ""


FREE_TEXT_STATES = frozenset({State.REFLECTION, State.EXPLAIN})
YES_NO_STATES = frozenset({State.CONSENT, State.NUDGES})
MAX_ASKING_WORDS = 12  # while an explanation is asked for, longer texts are answers
MAX_PHRASE_WORDS = 5  # the longest phrase of the lists, in words
MAX_REQUEST_WORDS = 7  # "can you give me a quick quiz please": longer texts are not requests
MAX_TYPED_ANSWER_WORDS = 8  # a typed quiz answer is short; a long text there is a comment


def understand(event: InboundEvent, context: Context) -> Understood:
    """The one decision about what an event means; the step routes by it."""
    if event.kind is EventKind.UNSUPPORTED:
        return Understood(Meaning.UNSUPPORTED)
    if event.kind is EventKind.POLL_ANSWER:
        return Understood(Meaning.ANSWER)
    if event.kind is EventKind.CHOICE:
        return _choice(event.choice_id)
    text = canon(event.text)
    keyword = command_of(event)
    if keyword is Keyword.STOP or text in p.STOP_WORDS or p.STOP_PATTERN.match(text):
        return Understood(Meaning.STOP)
    if context.pending:  # "Are you sure?": a command goes ahead, anything else answers
        return Understood(Meaning.COMMAND, keyword) if keyword else Understood(Meaning.ANSWER)
    if context.state in YES_NO_STATES and (is_yes(event) or is_no(event)):
        return Understood(Meaning.ANSWER)
    if _answers_open_quiz(context, event.text):
        return Understood(Meaning.ANSWER)
    words = text.split()
    command = keyword or _command_in(words)
    if command is not None:
        return Understood(Meaning.COMMAND, command)
    if words and words[0] in p.LANGUAGE_WORDS and len(words) <= 4:  # "sprache auf deutsch"
        named = [w for w in words[1:] if w not in p.FILLERS and w not in ("to", "auf", "in")]
        return Understood(Meaning.COMMAND, Keyword.LANG, " ".join(named))
    if text in p.CANCEL_WORDS or any(p.CANCEL_PATTERN.match(c) for c in _clauses(event.text)):
        return Understood(Meaning.CANCEL)
    asks_for_human = len(words) <= 15 and p.HUMAN.search(text)
    if asks_for_human and (context.state not in FREE_TEXT_STATES or p.REQUEST.search(text)):
        return Understood(Meaning.HUMAN)
    if context.state is State.EXPLAIN_GRADING:  # the answer is given; all else waits a moment
        asks = event.text.strip().endswith("?") and len(words) >= 2
        return Understood(Meaning.QUESTION if asks else Meaning.ANSWER)
    if context.state in ONBOARDING:
        return _onboarding(event.text, words)
    if len(words) > 1 and words[-1] in p.CANCEL_WORDS:  # "ich hab keine lust mehr, beenden"
        return Understood(Meaning.CANCEL)
    return _phrase(event.text, words, context) or _question_or_answer(event.text, words, context)


def _onboarding(raw: str, words: list[str]) -> Understood:
    """A set-up question is open: social talk or a question about it, else its answer."""
    if _gibberish(words):
        return Understood(Meaning.UNCLEAR)
    if _starts_unknowing(words):
        return Understood(Meaning.DONT_KNOW)
    social = _social(raw)
    if social is not None and social.meaning is not Meaning.SKIP:
        return social
    asks = raw.strip().endswith("?") or (len(words) >= 3 and words[0] in p.QUESTION_STARTS)
    return Understood(Meaning.QUESTION if asks and len(words) >= 3 else Meaning.ANSWER)


def _clauses(raw: str) -> list[str]:
    return [c for c in (canon(piece) for piece in re.split(r"[,.!;?…]+", raw)) if c]


def _choice(choice_id: str) -> Understood:
    if choice_id.startswith(CHOICE_PREFIX):
        keyword = command_of(InboundEvent(EventKind.CHOICE, choice_id=choice_id))
        if keyword is Keyword.STOP:
            return Understood(Meaning.STOP)
        return Understood(Meaning.COMMAND, keyword) if keyword else Understood(Meaning.UNCLEAR)
    for prefix, keyword in (("goal:", Keyword.GOAL), ("lang:", Keyword.LANG)):
        if choice_id.startswith(prefix):
            return Understood(Meaning.COMMAND, keyword, choice_id.removeprefix(prefix))
    if choice_id == "skip":
        return Understood(Meaning.SKIP)
    if choice_id == "done":
        return Understood(Meaning.GOODBYE)
    return Understood(Meaning.ANSWER)


def _answers_open_quiz(context: Context, raw: str) -> bool:
    item = context.item
    if context.state is not State.QUIZ or item is None:
        return False
    if item.has_options:
        return any(pick_option(item, reading) is not None for reading in answer_readings(raw))
    return any(
        check_typed(item, reading).outcome is not TypedOutcome.WRONG
        for reading in answer_readings(raw)
    )


def _command_in(words: list[str]) -> Keyword | None:
    """A command word in a short request: "can you show my progress", "delete my data"."""
    if not 1 < len(words) <= 6:
        return None
    rest = [w for w in words if w not in p.COMMAND_CUES]
    if len(rest) != 1:
        return None
    keyword = command_of(InboundEvent.text_message(rest[0]))
    activities = (Keyword.QUIZ, Keyword.TODAY, Keyword.MORE, Keyword.START)  # requests, below
    return keyword if keyword not in (None, Keyword.STOP, *activities) else None


def _phrase(raw: str, words: list[str], context: Context) -> Understood | None:
    """Whole-message phrases: skip, don't know, requests, and social talk."""
    text = " ".join(words)
    if context.state is State.LESSON and _lesson_read(raw, words):
        return Understood(Meaning.ANSWER)
    if text in p.SKIP_WORDS:
        return Understood(Meaning.SKIP)
    request = _activity_request(words, raw)
    if request is not None:
        return Understood(Meaning.ACTIVITY, request)
    if not text:  # only emoji or punctuation: a reaction
        return Understood(Meaning.SMALL_TALK if raw.strip() and "?" not in raw else Meaning.UNCLEAR)
    if _starts_unknowing(words):
        return Understood(Meaning.DONT_KNOW)
    return _social(raw)


def _lesson_read(raw: str, words: list[str]) -> bool:
    """ "ok", "got it, thanks", "weiter", 👍: the lesson is read ("thanks", "lol" alone: not)."""
    if not words:
        return "👍" in raw
    kept = _strip_fillers(words)
    if kept in p.THANKS or not (kept or " ".join(words) in p.CONTINUE_WORDS):
        return False
    return _split_into(tuple(words), p.CONTINUE_WORDS | p.THANKS)


def _starts_unknowing(words: list[str]) -> bool:
    """ "i dont know how to explain it", "no idea tbh": short, and starting with not knowing."""
    text = " ".join(words)
    short = len(words) <= MAX_REQUEST_WORDS
    return short and any(text.startswith(phrase + " ") for phrase in p.DONT_KNOW_WORDS)


def _activity_request(words: list[str], raw: str) -> Keyword | None:
    text = " ".join(words)
    request = _strip_fillers(words)
    if request in p.QUIZ_REQUESTS:
        return Keyword.QUIZ
    if request in p.LESSON_REQUESTS:
        return Keyword.MORE
    if len(words) > MAX_REQUEST_WORDS or raw.strip().endswith("?"):
        return None
    named = [w for w in words if w not in p.REQUEST_WORDS and w not in p.FILLERS]
    if (len(named) == 1 and named[0] in p.QUIZ_WORDS) or text == "test me":
        return Keyword.QUIZ
    if len(named) == 1 and named[0] in p.LESSON_WORDS:
        return Keyword.MORE
    return None


def _strip_fillers(words: list[str]) -> str:
    kept = list(words)
    while kept and kept[0] in p.FILLERS:
        kept.pop(0)
    while kept and kept[-1] in p.FILLERS:
        kept.pop()
    return " ".join(kept)


SOCIAL_ORDER = (  # a message of several phrases means the strongest one
    (Meaning.DONT_KNOW, p.DONT_KNOW_WORDS),
    (Meaning.SKIP, p.SKIP_WORDS),
    (Meaning.GOODBYE, p.GOODBYES),
    (Meaning.THANKS, p.THANKS),
    (Meaning.GREETING, p.GREETINGS),
    (Meaning.SMALL_TALK, p.SMALL_TALK),
)


def _social(raw: str) -> Understood | None:
    """The message read, clause by clause, as known phrases and fillers; None if it is not."""
    found: set[Meaning] = set()
    for clause in _clauses(raw) or [""]:
        words = tuple(clause.split())
        meanings = _segments(words)  # "thanks so much": a phrase may hold a filler word
        if meanings is None:  # "this was actually really helpful": fillers inside a phrase
            meanings = _segments(tuple(w for w in words if w not in p.FILLERS))
        if meanings is None:
            return None
        found |= meanings
    return next((Understood(m) for m, _ in SOCIAL_ORDER if m in found), None)


def _segments(words: tuple[str, ...]) -> frozenset[Meaning] | None:
    """The meanings of a split of `words` into phrases (fillers mean nothing), or None."""
    if not words:
        return frozenset()
    for size in range(min(MAX_PHRASE_WORDS, len(words)), 0, -1):
        head = " ".join(words[:size])
        meanings = {m for m, phrases in SOCIAL_ORDER if head in phrases}
        if not meanings and head not in p.FILLERS:
            continue
        rest = _segments(words[size:])
        if rest is not None:
            return rest | meanings
    return None


def _split_into(words: tuple[str, ...], phrases: frozenset[str]) -> bool:
    """Whether the words split into `phrases` and fillers."""
    if not words:
        return True
    return any(
        (" ".join(words[:n]) in phrases or " ".join(words[:n]) in p.FILLERS)
        and _split_into(words[n:], phrases)
        for n in range(1, min(MAX_PHRASE_WORDS, len(words)) + 1)
    )


def _gibberish(words: list[str]) -> bool:
    """Keyboard mashing ("asdfjkl", "dfghj"): letters with almost no vowels."""
    letters = "".join(w for w in words if w.isalpha())
    vowels = sum(ch in "aeiouyäöü" for ch in letters)
    return len(letters) >= 4 and vowels / len(letters) < 0.2


def _question_or_answer(raw: str, words: list[str], context: Context) -> Understood:
    state = context.state
    text = " ".join(words)
    asks = raw.strip().endswith("?")
    starts_asking = any(text == s or text.startswith(s + " ") for s in p.ASKING_STARTS)
    questioning = asks or (len(words) >= 3 and words[0] in p.QUESTION_STARTS) or starts_asking
    if _gibberish(words):
        return Understood(Meaning.UNCLEAR)
    if state in FREE_TEXT_STATES:
        if len(words) <= MAX_ASKING_WORDS and (asks or starts_asking):
            return Understood(Meaning.QUESTION)
        return Understood(Meaning.ANSWER if len(text) >= 3 else Meaning.UNCLEAR)
    if questioning:
        return Understood(Meaning.QUESTION)
    typed_quiz = state is State.QUIZ and context.item is not None and not context.item.has_options
    if typed_quiz:
        comment = len(words) > MAX_TYPED_ANSWER_WORDS
        return Understood(Meaning.SMALL_TALK if comment else Meaning.ANSWER)
    if len(words) >= 4:  # a statement: about the course when idle, a comment during an activity
        return Understood(Meaning.QUESTION if state is State.IDLE else Meaning.SMALL_TALK)
    return Understood(Meaning.UNCLEAR)
