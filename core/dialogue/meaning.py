"""What a learner's message means, decided once per event in the context of the open prompt.

Offline and deterministic: phrase lists in English and German and a few rules, no network and no
API key (the LLM tutor may later refine an UNCLEAR or QUESTION, never replace this). The step asks
`understand` once and routes by the answer (`step.ROUTES`).

The order of the rules is the policy:
  1. buttons, polls and media say what they are;
  2. STOP words opt out everywhere; a pending yes/no (delete?) takes anything else as its answer;
  3. an answer that the open quiz accepts is an answer, even "next" or "pass";
  4. commands ("help", "lang de"), then "cancel", then a request for a human;
  5. during onboarding everything else is the answer to the set-up question;
  6. whole-message phrases: skip, "I don't know", activity requests, greetings, thanks, goodbyes
     and small talk (a message made only of those: "that was fun, see you tomorrow");
  7. a question, judged by what the open prompt expects: while an explanation or a reflection is
     asked for, only a short text ending in "?" (or "can you…") is a question, so an answer that
     starts with "When" or "What" is still an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.content import QuizItem, normalize
from core.dialogue.parsing import CHOICE_PREFIX, Keyword, command_of
from core.dialogue.states import ONBOARDING, State
from core.dialogue.typed_answers import check_typed, pick_option
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


def canon(text: str) -> str:
    """`normalize`, with English contractions joined again ("don't" -> "dont", "I'm" -> "im")."""
    return re.sub(r"\b(\w+) (t|s|m|re|ll|ve|d)\b", r"\1\2", normalize(text))


def _phrases(*texts: str) -> frozenset[str]:
    return frozenset(canon(t) for t in texts)


STOP_WORDS = _phrases(
    "stop", "unsubscribe", "quit", "stopp", "abmelden", "abbestellen", "stop messaging me",
    "stop sending me messages", "no more messages", "keine nachrichten mehr",
)  # fmt: skip
CANCEL_WORDS = _phrases(
    "cancel", "abort", "exit", "stop this", "stop the quiz", "stop the session", "end session",
    "end the session", "not now", "enough for now", "abbrechen", "beenden", "genug", "jetzt nicht",
)  # fmt: skip
SKIP_WORDS = _phrases(
    "skip", "skip it", "skip this", "skip this one", "pass", "next", "next one", "next question",
    "move on", "überspringen", "weiter", "nächste", "nächste frage", "passe",
)  # fmt: skip
DONT_KNOW_WORDS = _phrases(
    "idk", "i don't know", "dont know", "don't know", "no idea", "i have no idea", "not sure",
    "i'm not sure", "no clue", "dunno", "i dunno", "i forgot", "i can't remember", "can't remember",
    "i don't remember", "keine ahnung", "weiß nicht", "ich weiß es nicht", "ich weiß nicht",
    "keinen plan", "vergessen", "hab ich vergessen",
)  # fmt: skip
CONTINUE_WORDS = _phrases(
    "continue", "next", "ok", "okay", "done", "got it", "ready", "yes", "go", "k", "let's go",
    "i read it", "read it", "sounds good", "sure", "yep", "cool", "nice", "weiter", "fertig", "ja",
    "los", "gelesen", "alles klar", "verstanden",
)  # fmt: skip
GREETINGS = _phrases(
    "hi", "hello", "hey", "hey there", "hi there", "hiya", "howdy", "yo", "good morning",
    "good afternoon", "good evening", "morning", "hallo", "hola", "servus", "moin", "guten morgen",
    "guten tag", "guten abend", "grüß dich", "hi pau", "hello pau",
)  # fmt: skip
THANKS = _phrases(
    "thanks", "thank you", "thx", "ty", "cheers", "thanks a lot", "many thanks",
    "thank you so much", "thanks so much", "much appreciated", "danke", "danke schön",
    "dankeschön", "vielen dank", "merci", "thank u",
)  # fmt: skip
GOODBYES = _phrases(
    "bye", "bye bye", "goodbye", "see you", "see you tomorrow", "see you later", "see ya", "cya",
    "later", "good night", "night", "gotta go", "i have to go", "i'm done", "done for today",
    "that's all for today", "talk later", "talk to you later", "tschüss", "ciao", "bis morgen",
    "bis dann", "bis bald", "bis später", "gute nacht", "auf wiedersehen", "ich muss los",
)  # fmt: skip
SMALL_TALK = _phrases(
    "how are you", "how are you doing", "how's it going", "what's up", "sup", "who are you",
    "what are you", "are you a bot", "are you human", "you're great", "you are great",
    "i love this", "that was fun", "this is fun", "that was helpful", "that was great", "cool",
    "nice", "great", "awesome", "lol", "haha", "wow", "ok", "okay", "k", "hmm", "good", "perfect",
    "wie geht's", "wie gehts", "wer bist du", "bist du ein bot", "super", "toll", "cool danke",
    "das war gut", "das hat spaß gemacht", "prima", "interesting", "interessant",
)  # fmt: skip
FILLERS = _phrases(
    "ok", "okay", "oh", "well", "so", "and", "but", "pau", "please", "bitte", "great"
)
QUIZ_REQUESTS = _phrases(
    "quiz me", "test me", "ask me a question", "give me a quiz", "another quiz",
    "another question", "one more question", "a quiz", "quiz please", "frag mich ab",
    "frag mich was", "noch eine frage",
)  # fmt: skip
LESSON_REQUESTS = _phrases(
    "next lesson", "new lesson", "another lesson", "give me a lesson", "teach me something",
    "let's learn", "i want to learn", "one more round", "more", "nächste lektion", "neue lektion",
    "noch eine runde", "weiter lernen", "bring mir was bei",
)  # fmt: skip
LANGUAGE_WORDS = _phrases("lang", "language", "sprache")
_HUMAN = re.compile(
    r"\b(real|actual|live) (person|human)\b"
    r"|\b(talk|speak|chat|write) (to|with) (a |an |the )?"
    r"(human|person|someone|somebody|mentor|teacher|tutor|people|team)\b"
    r"|^(a )?(human|mentor|person|agent|operator)$"
    r"|^(ein )?(mensch|mentor|mentorin)$|\b(echte[nmr]?|richtige[nmr]?) (mensch|menschen|person)\b"
    r"|\bmit (einem|einer|jemandem|der|dem)\b.*\b(sprechen|reden|schreiben)\b"
)
# while an answer in sentences is asked for, "talk to someone" is a request only when asked for
_REQUEST = re.compile(
    r"^(i (want|would like|wanna|need)|id like|can i|could i|may i|let me|please|get me|connect me"
    r"|ich (will|mochte|wurde gern|brauche)|kann ich)\b"
)
QUESTION_STARTS = _phrases(
    "what", "why", "how", "when", "where", "who", "which", "can", "could", "is", "are", "does",
    "do", "should", "would", "will", "explain", "tell me", "whats", "was", "warum", "wieso",
    "weshalb", "wie", "wann", "wo", "wer", "welche", "welcher", "welches", "kann", "kannst",
    "könnte", "ist", "sind", "gibt", "erklär", "erkläre",
)  # fmt: skip
ASKING_STARTS = _phrases(
    "can you", "could you", "would you", "please explain", "explain", "tell me", "what does",
    "what is", "what's", "what are", "how do", "how does", "kannst du", "was ist", "was bedeutet",
    "erklär mir", "erkläre mir", "was heißt",
)  # fmt: skip
FREE_TEXT_STATES = frozenset({State.REFLECTION, State.EXPLAIN})
MAX_ASKING_WORDS = 12  # while an explanation is asked for, longer texts are answers


def understand(event: InboundEvent, context: Context) -> Understood:
    """The one decision about what an event means; the step routes by it."""
    if event.kind is EventKind.UNSUPPORTED:
        return _onboarding_or(context, Understood(Meaning.UNSUPPORTED))
    if event.kind is EventKind.POLL_ANSWER:
        return Understood(Meaning.ANSWER)
    if event.kind is EventKind.CHOICE:
        return _choice(event.choice_id)
    text = canon(event.text)
    keyword = command_of(event)
    if keyword is Keyword.STOP or text in STOP_WORDS:
        return Understood(Meaning.STOP)
    if context.pending:  # "Are you sure?": a command goes ahead, anything else answers
        return Understood(Meaning.COMMAND, keyword) if keyword else Understood(Meaning.ANSWER)
    if _answers_open_quiz(context, event.text):
        return Understood(Meaning.ANSWER)
    if keyword is not None:
        return Understood(Meaning.COMMAND, keyword)
    words = text.split()
    if words and words[0] in LANGUAGE_WORDS and len(words) <= 2:
        return Understood(Meaning.COMMAND, Keyword.LANG, " ".join(words[1:]))
    if text in CANCEL_WORDS:
        return Understood(Meaning.CANCEL)
    if context.state in ONBOARDING:
        return Understood(Meaning.ANSWER)
    asks_for_human = len(words) <= 15 and _HUMAN.search(text)
    if asks_for_human and (context.state not in FREE_TEXT_STATES or _REQUEST.search(text)):
        return Understood(Meaning.HUMAN)
    if context.state is State.EXPLAIN_GRADING:  # the answer is given; all else waits a moment
        asks = event.text.strip().endswith("?") and len(words) >= 2
        return Understood(Meaning.QUESTION if asks else Meaning.ANSWER)
    return _phrase(event.text, text, context) or _question_or_answer(event.text, text, context)


def _onboarding_or(context: Context, understood: Understood) -> Understood:
    return Understood(Meaning.ANSWER) if context.state in ONBOARDING else understood


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
        return pick_option(item, raw) is not None
    return check_typed(item, raw).outcome != "wrong"


def _phrase(raw: str, text: str, context: Context) -> Understood | None:
    """Whole-message phrases: skip, don't know, requests, and social talk."""
    state = context.state
    if state is State.LESSON and (text in CONTINUE_WORDS or (not text and "👍" in raw)):
        return Understood(Meaning.ANSWER)
    if text in SKIP_WORDS:
        return Understood(Meaning.SKIP)
    if text in DONT_KNOW_WORDS:
        return Understood(Meaning.DONT_KNOW)
    request = _strip_fillers(text)
    if request in QUIZ_REQUESTS:
        return Understood(Meaning.ACTIVITY, Keyword.QUIZ)
    if request in LESSON_REQUESTS:
        return Understood(Meaning.ACTIVITY, Keyword.MORE)
    if not text:  # only emoji or punctuation: a reaction
        return Understood(Meaning.SMALL_TALK if raw.strip() and "?" not in raw else Meaning.UNCLEAR)
    return _social(raw)


def _strip_fillers(text: str) -> str:
    words = text.split()
    while words and words[0] in FILLERS:
        words.pop(0)
    while words and words[-1] in FILLERS:
        words.pop()
    return " ".join(words)


SOCIAL_ORDER = (  # a message of several social clauses means the strongest one
    (Meaning.GOODBYE, GOODBYES),
    (Meaning.THANKS, THANKS),
    (Meaning.GREETING, GREETINGS),
    (Meaning.SMALL_TALK, SMALL_TALK),
)


def _social(raw: str) -> Understood | None:
    pieces = re.split(r"[,.!;?…]+|\s+(?:and|und|but|aber)\s+", raw.casefold())
    clauses = [canon(piece) for piece in pieces if canon(piece)]
    found: set[Meaning] = set()
    for whole in clauses:
        clause = _strip_fillers(whole) or whole
        meaning = next((m for m, phrases in SOCIAL_ORDER if clause in phrases), None)
        if meaning is None:
            return None
        found.add(meaning)
    return next((Understood(m) for m, _ in SOCIAL_ORDER if m in found), None)


def _question_or_answer(raw: str, text: str, context: Context) -> Understood:
    state = context.state
    words = text.split()
    asks = raw.strip().endswith("?")
    starts_asking = any(text == s or text.startswith(s + " ") for s in ASKING_STARTS)
    if state in FREE_TEXT_STATES:
        if len(words) <= MAX_ASKING_WORDS and (asks or starts_asking):
            return Understood(Meaning.QUESTION)
        return Understood(Meaning.ANSWER if len(text) >= 3 else Meaning.UNCLEAR)
    questioning = asks or (len(words) >= 3 and words[0] in QUESTION_STARTS) or starts_asking
    if state is State.QUIZ and context.item is not None and not context.item.has_options:
        return Understood(Meaning.QUESTION if questioning else Meaning.ANSWER)
    if questioning or len(words) >= 4:
        return Understood(Meaning.QUESTION)
    return Understood(Meaning.UNCLEAR)
