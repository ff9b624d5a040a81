"""Words and typos for comparing typed answers (used by core/dialogue/typed_answers.py).

A typed text becomes a `Phrase`: its words normalized by core.content.normalize (case, accents,
punctuation), leading articles (English and German) dropped. Simple English plurals are folded
when words are compared. Typos are counted with the Damerau-Levenshtein distance, within a
budget scaled to the length of the word they are a typo of.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations

from core.content import normalize

Phrase = tuple[str, ...]

ARTICLES = frozenset("the a an der die das den dem des ein eine einen einem einer eines".split())
MAX_BUDGET = 2  # the most edits a typo may be off by, for a word of 8 letters or more
MAX_REORDERED = 4  # word order is free for phrases of up to this many words


def phrase(text: str, *, articles: bool = False) -> Phrase:
    """The words of a text, normalized, leading articles dropped unless `articles`."""
    words = tuple(normalize(text).split())
    return words if articles else drop_articles(words)


def spellings(text: str) -> tuple[Phrase, ...]:
    """The phrase, then with its leading articles if it has any: "te testing effect" is a typo
    of "the testing effect", and "testing effect" is right."""
    bare, full = phrase(text), phrase(text, articles=True)
    return (bare,) if bare == full else (bare, full)


def folded(words: Phrase) -> Phrase:
    """The words with plurals folded: equal folded phrases are the same answer."""
    return tuple(singular(word) for word in words)


def singular(word: str) -> str:
    """English -s/-es/-ies folding. Both sides are folded, so it only has to be consistent."""
    if len(word) <= 3 or any(ch.isdigit() for ch in word):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def drop_articles(words: Phrase) -> Phrase:
    """Without leading articles ("the savings"), unless nothing else is left."""
    while len(words) > 1 and words[0] in ARTICLES:
        words = words[1:]
    return words


def edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): a swap of neighbours is one."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                row[j] = min(row[j], before[j - 2] + 1)
        before, previous = previous, row
    return previous[-1]


@lru_cache(maxsize=8192)  # the same course words are compared on every answer
def word_edits(typed: str, target: str) -> int:
    """Edits between two words, a plural ending free: "sens" is one edit off "sense"."""
    if singular(typed) == singular(target):
        return 0
    return min(edits(typed, target), edits(singular(typed), singular(target)))


def typo_budget(word: str, *, in_phrase: bool = False) -> int:
    """Edits a typo of this word may be off by: 0 up to 3 letters, 1 up to 7, else 2; 0 for
    anything with a digit (a year off by one is a different year). In a phrase of several
    words, which tell the answer apart, a word of two or three letters may be off by one."""
    if any(ch.isdigit() for ch in word):
        return 0
    if len(word) <= 3:
        return 1 if in_phrase and len(word) >= 2 else 0
    return _length_budget(len(word))


def _length_budget(letters: int) -> int:
    return 0 if letters <= 3 else 1 if letters <= 7 else MAX_BUDGET


def close(typed: Phrase, target: Phrase) -> bool:
    """Word by word, in order, each within the target word's typo budget."""
    return len(typed) == len(target) and all(
        word_edits(word, goal) <= typo_budget(goal)
        for word, goal in zip(typed, target, strict=True)
    )


def distances(typed: Phrase, target: Phrase) -> tuple[int, int | None]:
    """(Fewest edits from typed to target, fewest edits with every word within its budget).

    The first is exact up to MAX_BUDGET and only a lower bound beyond: nothing further matters.
    Words may come in any order. A phrase of several words is also never more than the budget
    of its letters together off. With a different number of words the phrases are compared
    without spaces, one edit more: "retrievalpractice" is one edit off "retrieval practice".
    """
    spacing = int(len(typed) != len(target))
    at_least = spacing + min(
        abs(len("".join(typed)) - len("".join(target))),
        abs(len("".join(folded(typed))) - len("".join(folded(target)))),
    )
    if at_least > MAX_BUDGET:  # too far to matter, whatever the letters: not worth counting
        return at_least, None
    if spacing:
        joined = "".join(target)
        apart = edits("".join(typed), joined) + 1
        return apart, apart if apart <= typo_budget(joined) else None
    several = len(target) > 1
    whole_budget = _length_budget(len("".join(target)))  # numbers have their own budget, 0
    budgets = [typo_budget(goal, in_phrase=several) for goal in target]
    table = [[word_edits(word, goal) for goal in target] for word in typed]
    size = len(typed)
    orders = permutations(range(size)) if size <= MAX_REORDERED else iter((range(size),))
    fewest, fewest_within = 10**6, None
    for order in orders:
        per_word = [table[word][goal] for goal, word in enumerate(order)]
        total = sum(per_word)
        fewest = min(fewest, total)
        if total <= whole_budget and all(map(int.__le__, per_word, budgets)):
            fewest_within = total if fewest_within is None else min(fewest_within, total)
    return fewest, fewest_within


def nearest(typed: Phrase, forms: tuple[Phrase, ...]) -> tuple[int, int | None]:
    """`distances` to the closest of several spellings of one answer."""
    pairs = [distances(typed, form) for form in forms]
    within = [count for _, count in pairs if count is not None]
    return min(fewest for fewest, _ in pairs), min(within, default=None)
