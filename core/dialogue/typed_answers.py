"""Typed quiz answers: what a typed answer may differ in and still count (content/FORMAT.md).

`check_typed(item, text, competitors)` judges a typed answer: right, a near miss (a small typo,
"Almost — it's spelled …", which counts as right) or wrong. `pick_option(item, text)` says which
option a typed multiple-choice or true/false answer picks ("b", "option 2", "the first one",
the option's text), or None when that is unclear and the learner should be asked again.
Both are pure functions of their arguments.

Tolerated: case, accents and punctuation; leading articles (English and German); simple plurals;
word order; for a cloze, up to three of the words right next to the blank typed along
("distributed practice" for "___ practice"). Those differences leave an answer right. Typos
within core/dialogue/spelling.py's `typo_budget` make it a near miss, unless the typed text is
as close to a competing real answer of the course.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from core.content import Course, QuizItem, QuizType, normalize
from core.dialogue.phrases import ANSWER_LEAD_IN, ANSWER_LEAD_OUT, canon
from core.dialogue.spelling import (
    ARTICLES,
    Phrase,
    close,
    drop_articles,
    folded,
    nearest,
    phrase,
    spellings,
)

CONTEXT_WORDS = 3  # how many words on each side of a cloze blank may be typed along
BLANK = "___"  # normalize() keeps underscores, so the blank survives it


class TypedOutcome(StrEnum):
    RIGHT = "right"
    NEAR_MISS = "near_miss"  # within the typo budget: counts as right, the spelling is shown
    WRONG = "wrong"


@dataclass(frozen=True)
class TypedVerdict:
    """How a typed answer fared. `spelled` is the accepted answer it matched, as the course
    writes it (None when wrong), for "Almost — it's spelled …"."""

    outcome: TypedOutcome
    spelled: str | None = None

    @property
    def counts_as_correct(self) -> bool:
        """The rule of content/FORMAT.md: a near miss counts as right."""
        return self.outcome is not TypedOutcome.WRONG


def check_typed(item: QuizItem, text: str, competitors: Iterable[str] = ()) -> TypedVerdict:
    """Judge a typed answer against the item's `answer` and its `accept:` list.

    `competitors` are other real answers (pass `course_competitors(course, item)`): a typo is
    a near miss only if it is strictly closer to one of the item's answers than to each of them.
    An answer the item accepts is right even if it is a competitor too. For an item with
    options the text is read by `pick_option` and an unclear one is wrong, so call
    `pick_option` first to ask again instead.
    """
    if item.has_options:
        chosen = pick_option(item, text)
        if chosen is not None and chosen == item.correct_index:
            return TypedVerdict(TypedOutcome.RIGHT, item.correct_answer)
        return TypedVerdict(TypedOutcome.WRONG)
    accepted = [spellings(answer) for answer in item.answers]
    own = {_identity(forms) for forms in accepted}
    rivals = [forms for forms in map(spellings, competitors) if _identity(forms) not in own]
    right: int | None = None  # the first accepted answer it equals, plurals and order aside
    best: tuple[int, int] | None = None  # (edits, position) of the closest within the budget
    for typed in _readings(item, text):
        for position, forms in enumerate(accepted):
            if typed in forms:  # literally, so "saving" is spelled "saving", not "savings"
                return TypedVerdict(TypedOutcome.RIGHT, item.answers[position])
            fewest, within = nearest(typed, forms)
            if fewest == 0:
                right = position if right is None else right
                continue
            if within is None or right is not None:
                continue
            if all(nearest(typed, rival)[0] > within for rival in rivals):
                best = min(best or (within, position), (within, position))
    if right is not None:
        return TypedVerdict(TypedOutcome.RIGHT, item.answers[right])
    if best is None:
        return TypedVerdict(TypedOutcome.WRONG)
    return TypedVerdict(TypedOutcome.NEAR_MISS, item.answers[best[1]])


def _identity(forms: tuple[Phrase, ...]) -> Phrase:
    """What makes two answers the same answer: their words, in any order, plurals folded."""
    return tuple(sorted(folded(forms[0])))


def answer_candidates(text: str) -> list[str]:
    """The text, and the answer in it after a lead-in or a change of mind: "I'd say b" -> "b",
    "hmm between a and b… going with b" -> "b", "ich glaube savings" -> "savings", and its first
    clause when the rest says why: "nope, false. you learn from mistakes too" -> "false"."""
    readings = [text]
    clauses = re.split(r"[,;…?]|\.\.\.|\.\s", text)
    for part in (text, clauses[-1], clauses[0], *clauses[1:-1]):
        stripped = ANSWER_LEAD_IN.sub("", canon(part)).strip()
        stripped = ANSWER_LEAD_OUT.sub("", stripped).strip()
        if stripped and stripped not in readings:
            readings.append(stripped)
    return readings


def course_competitors(course: Course, item: QuizItem) -> tuple[str, ...]:
    """The course's other real answers: every other item's answers and options."""
    return tuple(
        text
        for concept in course.concepts
        for other in concept.quiz
        if other.id != item.id and other.type is not QuizType.TRUE_FALSE
        for text in (*other.answers, *other.options)
    )


def _readings(item: QuizItem, text: str) -> list[Phrase]:
    """The typed words, and for a cloze also without the blank's neighbours typed along."""
    typed = phrase(text)
    before: Phrase = ()
    after: Phrase = ()
    if item.type is QuizType.CLOZE:
        words = phrase(item.question)
        blank = next((i for i, word in enumerate(words) if BLANK in word), None)
        if blank is not None:
            before = words[max(0, blank - CONTEXT_WORDS) : blank]
            after = words[blank + 1 : blank + 1 + CONTEXT_WORDS]
    size = len(typed)
    heads = [n for n in range(len(before) + 1) if close(typed[:n], before[len(before) - n :])]
    tails = [n for n in range(len(after) + 1) if close(typed[size - n :], after[:n])]
    return [
        drop_articles(typed[head : size - tail])
        for head in heads
        for tail in tails
        if head + tail < size
    ]


TRUE_WORDS = frozenset("true t right correct yes y wahr richtig ja stimmt".split())
FALSE_WORDS = frozenset(
    [*"false f wrong incorrect no n falsch nein unwahr".split(), "not true", "stimmt nicht"]
)
LEAD_INS = ("it s ", "its ", "that s ", "thats ", "it is ", "that is ", "das ist ", "es ist ")
POSITION_WORDS = frozenset("option answer choice number nr letter antwort nummer auswahl".split())
ORDINALS = {
    **{word: i for i, word in enumerate("first second third fourth fifth sixth".split())},
    **{word: i for i, word in enumerate("1st 2nd 3rd 4th 5th 6th".split())},
    **{
        stem + ending: i  # normalize() turns "fünfte" into "funfte"
        for i, stem in enumerate("erst zweit dritt viert funft sechst".split())
        for ending in ("e", "er", "es", "en", "em")
    },
}
LAST_WORDS = frozenset("last letzte letzter letztes letzten".split())
NUMBER_WORDS = {
    **{word: i for i, word in enumerate("one two three four five six".split())},
    **{word: i for i, word in enumerate("eins zwei drei vier funf sechs".split())},
}
STOPWORDS = frozenset(
    "a an the of to in on at by for with and or but is are was be it its you your i my we "
    "this that who what which as from not no only one all".split()
)


def pick_option(item: QuizItem, text: str) -> int | None:
    """Which option (0-based) a typed answer picks, or None when that is unclear.

    The option's own text wins over a position ("2" picks an option "2"); then, for true/false,
    true/false words (English and German); then a position: "b", "(b)", "2.", "option 2",
    "the second one", "last one", "die erste"; then the option's text with small typos, or a
    run of at least two content words of one option that no other option contains.
    """
    typed = phrase(text)
    if not typed:
        return None
    options = [spellings(option) for option in item.options]
    forms = [spelled[0] for spelled in options]
    if folded(typed) in (same := [folded(form) for form in forms]):
        return same.index(folded(typed))
    if item.type is QuizType.TRUE_FALSE:
        plain = normalize(text)
        for lead_in in LEAD_INS:
            plain = plain.removeprefix(lead_in)
        if plain in TRUE_WORDS | FALSE_WORDS:
            return 0 if plain in TRUE_WORDS else 1
    words = normalize(text).split()
    if any(word in POSITION_WORDS or word in ORDINALS or word in LAST_WORDS for word in words) or (
        len(words) == 1
    ):
        position = _position(words, forms)
        if position is not None:
            return position if 0 <= position < len(forms) else None
    return _by_text(typed, options)


def _position(words: list[str], forms: list[Phrase]) -> int | None:
    named = any(word in POSITION_WORDS for word in words)
    rest = [word for word in words if word not in POSITION_WORDS]
    while len(rest) > 1 and rest[0] in ARTICLES:  # "the", "die"; but "a" alone is a letter
        rest = rest[1:]
    if len(rest) == 2 and rest[1] == "one" and (rest[0] in ORDINALS or rest[0] in LAST_WORDS):
        rest = rest[:1]  # "the first one", "last one"
    if len(rest) != 1:
        return None
    word = rest[0]
    if word.isdigit():
        return int(word) - 1
    if len(word) == 1 and "a" <= word <= "z":
        return ord(word) - ord("a")
    if word in ORDINALS:
        return ORDINALS[word]
    if word in LAST_WORDS:
        return len(forms) - 1
    if word in NUMBER_WORDS and (named or len(words) == 1):  # "two", "option two"; not "the one"
        holders = [i for i, form in enumerate(forms) if word in form]  # "four": "Around four"
        if named or not holders:
            return NUMBER_WORDS[word]
        return holders[0] if len(holders) == 1 else -1
    return None


def _by_text(typed: Phrase, options: list[tuple[Phrase, ...]]) -> int | None:
    """The one option the text is a misspelling of, or the one holding a run of its words."""
    within = [
        (d, i) for i, forms in enumerate(options) if (d := nearest(typed, forms)[1]) is not None
    ]
    within.sort()
    if within and (len(within) == 1 or within[0][0] < within[1][0]):
        return within[0][1]
    if sum(word not in STOPWORDS for word in typed) < 2:
        return None
    size = len(typed)
    holders = [
        i
        for i, (form, *_) in enumerate(options)
        if any(folded(form[k : k + size]) == folded(typed) for k in range(len(form) - size + 1))
    ]
    return holders[0] if len(holders) == 1 else None
