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

from dataclasses import dataclass
from enum import StrEnum

from core.content import QuizItem
from core.dialogue import phrases
from core.dialogue.parsing import CHOICE_PREFIX, Keyword, command_of, is_no, is_yes
from core.dialogue.phrases import canon
from core.dialogue.requests import activity_request, command_in
from core.dialogue.states import ONBOARDING, State
from core.dialogue.typed_answers import TypedOutcome, answer_candidates, check_typed, pick_option
from core.dialogue.wording import (
    clauses,
    gibberish,
    labels_of,
    split_into,
    starts_with,
    strip_fillers,
)
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
    CRISIS = "crisis"  # self-harm or crisis language: safe words and an urgent mentor
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
MAX_UNKNOWING_WORDS = 7  # "i dont know how to explain it": longer, it is an answer
MAX_TYPED_ANSWER_WORDS = 8  # a typed quiz answer is short; a long text there is a comment
MAX_OPENING_WORDS = 5  # "hello there", "thanks a ton": a short message opening with a phrase
SOCIAL_ORDER = (  # a message of several phrases means the strongest one
    (Meaning.DONT_KNOW, phrases.DONT_KNOW_WORDS),
    (Meaning.SKIP, phrases.SKIP_WORDS),
    (Meaning.GOODBYE, phrases.GOODBYES),
    (Meaning.THANKS, phrases.THANKS),
    (Meaning.GREETING, phrases.GREETINGS),
    (Meaning.SMALL_TALK, phrases.SMALL_TALK),
)
LABELLED = tuple((str(meaning), words) for meaning, words in SOCIAL_ORDER)
SKIP_OPENINGS = frozenset(w for w in phrases.SKIP_WORDS if "skip" in w or "uberspringen" in w)


def understand(event: InboundEvent, context: Context) -> Understood:
    """The one decision about what an event means; the step routes by it."""
    if event.kind is EventKind.UNSUPPORTED:
        return Understood(Meaning.UNSUPPORTED)
    if event.kind is EventKind.POLL_ANSWER:
        return Understood(Meaning.ANSWER)
    if event.kind is EventKind.CHOICE:
        return _choice(event.choice_id)
    text = canon(event.text)
    words = text.split()
    keyword = command_of(event)
    if keyword is Keyword.STOP or text in phrases.STOP_WORDS or phrases.STOP_PATTERN.match(text):
        return Understood(Meaning.STOP)
    if phrases.CRISIS.search(text):
        return Understood(Meaning.CRISIS)
    if context.pending:  # "Are you sure?": a command goes ahead, anything else answers
        return Understood(Meaning.COMMAND, keyword) if keyword else Understood(Meaning.ANSWER)
    if context.state in YES_NO_STATES and (is_yes(event) or is_no(event)):
        return Understood(Meaning.ANSWER)
    if _answers_open_quiz(context, event.text):
        return Understood(Meaning.ANSWER)
    command = keyword or command_in(words)
    if command is not None:
        return Understood(Meaning.COMMAND, command)
    quiet = phrases.QUIET_REQUEST.match(event.text)
    if quiet is not None:  # "quiet 22-7", "quiet hours 22:30 to 6:30"
        return Understood(Meaning.COMMAND, Keyword.QUIET, quiet.group(1).strip())
    if words and words[0] in phrases.LANGUAGE_WORDS and len(words) <= 4:  # "sprache auf deutsch"
        named = [w for w in words[1:] if w not in phrases.FILLERS and w not in ("to", "auf", "in")]
        return Understood(Meaning.COMMAND, Keyword.LANG, " ".join(named))
    if _cancels(event.text, words, context):
        return Understood(Meaning.CANCEL)
    if _asks_for_a_person(text, words, context):
        return Understood(Meaning.HUMAN)
    if context.state is State.EXPLAIN_GRADING:  # the answer is given; all else waits a moment
        asks = event.text.strip().endswith("?") and len(words) >= 2
        return Understood(Meaning.QUESTION if asks else Meaning.ANSWER)
    if context.state in ONBOARDING:
        return _onboarding(event.text, words)
    return _phrase(event.text, words, context) or _question_or_answer(event.text, words, context)


def _cancels(raw: str, words: list[str], context: Context) -> bool:
    """ "cancel", "can we end the quiz, no time rn", and a short "…, beenden" (not at the end of
    an explanation, where "…is never enough" is an answer)."""
    text = " ".join(words)
    if text in phrases.CANCEL_WORDS:
        return True
    if any(phrases.CANCEL_PATTERN.match(clause) for clause in clauses(raw)):
        return True
    short = 1 < len(words) <= 6 and context.state not in FREE_TEXT_STATES
    return short and words[-1] in phrases.CANCEL_WORDS


def _asks_for_a_person(text: str, words: list[str], context: Context) -> bool:
    """ "I want to talk to a real person", "mentor"; while an answer in sentences is asked for,
    only a request or a few words ("talk to someone about it" may be part of an answer)."""
    if len(words) > 15 or not phrases.HUMAN.search(text):
        return False
    free_text = context.state in FREE_TEXT_STATES
    return not free_text or len(words) <= 3 or bool(phrases.REQUEST.search(text))


def _onboarding(raw: str, words: list[str]) -> Understood:
    """A set-up question is open: social talk or a question about it, else its answer."""
    social = _social(raw)
    if social is not None and social.meaning is not Meaning.SKIP:
        return social
    if gibberish(words):
        return Understood(Meaning.UNCLEAR)
    if starts_with(words, phrases.DONT_KNOW_WORDS, MAX_UNKNOWING_WORDS):
        return Understood(Meaning.DONT_KNOW)
    asks = raw.strip().endswith("?") or (len(words) >= 3 and words[0] in phrases.QUESTION_STARTS)
    return Understood(Meaning.QUESTION if asks and len(words) >= 3 else Meaning.ANSWER)


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
    if choice_id == "mentor:ask":  # "Ask a mentor", under an answer the course does not have
        return Understood(Meaning.HUMAN)
    if choice_id == "done":
        return Understood(Meaning.GOODBYE)
    return Understood(Meaning.ANSWER)


def _answers_open_quiz(context: Context, raw: str) -> bool:
    item = context.item
    if context.state is not State.QUIZ or item is None:
        return False
    if item.has_options:
        return any(pick_option(item, reading) is not None for reading in answer_candidates(raw))
    return any(
        check_typed(item, reading).outcome is not TypedOutcome.WRONG
        for reading in answer_candidates(raw)
    )


def _phrase(raw: str, words: list[str], context: Context) -> Understood | None:
    """Whole-message phrases: skip, don't know, requests, and social talk."""
    text = " ".join(words)
    if context.state is State.LESSON and _lesson_read(raw, words):
        return Understood(Meaning.ANSWER)
    if text in phrases.SKIP_WORDS:
        return Understood(Meaning.SKIP)
    if text in phrases.CONFUSED:
        return Understood(Meaning.UNCLEAR)
    request = activity_request(words, raw)
    if request is not None:
        return Understood(Meaning.ACTIVITY, request)
    if not text:  # only emoji ("👍", "😂") is a reaction; only punctuation ("/", "?") is unclear
        emoji = any(ord(ch) > 0x2000 for ch in raw)
        return (
            Understood(Meaning.SMALL_TALK, argument="ack") if emoji else Understood(Meaning.UNCLEAR)
        )
    if starts_with(words, phrases.DONT_KNOW_WORDS, MAX_UNKNOWING_WORDS):
        return Understood(Meaning.DONT_KNOW)  # "i dont know how to explain it"
    return _social(raw)


def _lesson_read(raw: str, words: list[str]) -> bool:
    """ "ok", "got it, thanks", "weiter", 👍: the lesson is read ("thanks", "lol" alone: not)."""
    if not words:
        return "👍" in raw
    kept = strip_fillers(words)
    if kept in phrases.THANKS:
        return False
    if not kept and " ".join(words) not in phrases.CONTINUE_WORDS:
        return False
    return split_into(tuple(words), phrases.CONTINUE_WORDS | phrases.THANKS)


def _social(raw: str) -> Understood | None:
    """The message read, clause by clause, as known phrases and fillers; None if it is not."""
    found: set[str] = set()
    for clause in clauses(raw) or [""]:
        words = tuple(clause.split())
        labels = labels_of(words, LABELLED)  # "thanks so much": a phrase may hold a filler word
        if labels is None:  # "this was actually really helpful": fillers inside a phrase
            labels = labels_of(tuple(w for w in words if w not in phrases.FILLERS), LABELLED)
        if labels is None:
            return None
        found |= labels
    meaning = next((m for m, _ in SOCIAL_ORDER if str(m) in found), None)
    said = canon(raw)
    patience = said in phrases.ACKS or strip_fillers(said.split()) in phrases.ACKS
    if meaning is Meaning.SMALL_TALK and patience:
        return Understood(meaning, argument="ack")  # "ok", "one sec": patience, not a chat
    return Understood(meaning) if meaning else None


def _opening(words: list[str]) -> Understood | None:
    """A short message that opens with a phrase: "skip this question please", "thank you very
    much pau", "hello there"; never one long enough to be an answer."""
    if starts_with(words, SKIP_OPENINGS, MAX_OPENING_WORDS + 1):
        return Understood(Meaning.SKIP)
    for meaning, opening in (
        (Meaning.DONT_KNOW, phrases.DONT_KNOW_WORDS),
        (Meaning.UNCLEAR, phrases.CONFUSED),
        (Meaning.GOODBYE, phrases.GOODBYES),
        (Meaning.THANKS, phrases.THANKS),
        (Meaning.GREETING, phrases.GREETINGS),
    ):
        if starts_with(words, opening, MAX_OPENING_WORDS):
            return Understood(meaning)
    return None


def _question_or_answer(raw: str, words: list[str], context: Context) -> Understood:
    state = context.state
    text = " ".join(words)
    asks = raw.strip().endswith("?")
    starts_asking = any(text == s or text.startswith(s + " ") for s in phrases.ASKING_STARTS)
    questioning = asks or (len(words) >= 3 and words[0] in phrases.QUESTION_STARTS) or starts_asking
    if gibberish(words):
        return Understood(Meaning.UNCLEAR)
    if state in FREE_TEXT_STATES:
        if len(words) <= MAX_ASKING_WORDS and (asks or starts_asking):
            return Understood(Meaning.QUESTION)
        opening = _opening(words)
        if opening is not None:
            return opening
        token = all(w in phrases.ACKS or w in phrases.CONTINUE_WORDS for w in words[:2])
        if len(text) < 3 or (len(words) <= 2 and token):  # "yes", "ok cool": not an answer
            return Understood(Meaning.UNCLEAR)
        return Understood(Meaning.ANSWER)
    if questioning:
        return Understood(Meaning.QUESTION)
    opening = _opening(words)
    if opening is not None:
        return opening
    typed_quiz = state is State.QUIZ and context.item is not None and not context.item.has_options
    if typed_quiz:
        comment = len(words) > MAX_TYPED_ANSWER_WORDS
        return Understood(Meaning.SMALL_TALK if comment else Meaning.ANSWER)
    if len(words) >= 4:  # a statement: about the course when idle, a comment during an activity
        return Understood(Meaning.QUESTION if state is State.IDLE else Meaning.SMALL_TALK)
    return Understood(Meaning.UNCLEAR)
