"""How a message is cut into the phrases of core/dialogue/phrases.py: clauses, fillers, a split
into known phrases, keyboard mashing. Pure and cached; the rules that use them are in meaning.py."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

from core.dialogue.phrases import FILLERS, canon

MAX_PHRASE_WORDS = 5  # the longest phrase of the lists, in words
MAX_SOCIAL_WORDS = 15  # a clause longer than this is never only social talk
Labelled = tuple[tuple[str, frozenset[str]], ...]  # (label, phrases), strongest first
KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "yxcvbnm", "zxcvbnm")


def clauses(raw: str) -> list[str]:
    """The message cut at punctuation, each piece in `canon` form, empty ones dropped."""
    return [c for c in (canon(piece) for piece in re.split(r"[,.!;?…]+", raw)) if c]


def strip_fillers(words: Sequence[str]) -> str:
    """The words without fillers at either end ("ok thanks pau" -> "thanks")."""
    kept = list(words)
    while kept and kept[0] in FILLERS:
        kept.pop(0)
    while kept and kept[-1] in FILLERS:
        kept.pop()
    return " ".join(kept)


def starts_with(words: Sequence[str], phrases: frozenset[str], max_words: int) -> bool:
    """Whether a short message starts with one of `phrases` ("no idea tbh", "skip this please")."""
    if len(words) > max_words:
        return False
    text = " ".join(words)
    return any(text == phrase or text.startswith(phrase + " ") for phrase in phrases)


@lru_cache(maxsize=4096)
def split_into(words: tuple[str, ...], phrases: frozenset[str]) -> bool:
    """Whether the words split into `phrases` and fillers."""
    if not words:
        return True
    if len(words) > MAX_SOCIAL_WORDS:
        return False
    return any(
        (" ".join(words[:n]) in phrases or " ".join(words[:n]) in FILLERS)
        and split_into(words[n:], phrases)
        for n in range(1, min(MAX_PHRASE_WORDS, len(words)) + 1)
    )


@lru_cache(maxsize=4096)
def labels_of(words: tuple[str, ...], labelled: Labelled) -> frozenset[str] | None:
    """The labels of a split of `words` into labelled phrases and fillers, or None if there is
    no such split. Cached, so overlapping phrases ("bye" / "bye bye") cost nothing twice."""
    if not words:
        return frozenset()
    if len(words) > MAX_SOCIAL_WORDS:
        return None
    for size in range(min(MAX_PHRASE_WORDS, len(words)), 0, -1):
        head = " ".join(words[:size])
        found = {label for label, phrases in labelled if head in phrases}
        if not found and head not in FILLERS:
            continue
        rest = labels_of(words[size:], labelled)
        if rest is not None:
            return rest | found
    return None


def gibberish(words: Sequence[str]) -> bool:
    """Keyboard mashing ("asdfjkl", "dfghj", "kjkjkjk"): few vowels, and mostly letters that sit
    next to each other on the keyboard ("thanks" and "strength" are words)."""
    letters = "".join(w for w in words if w.isalpha())
    if len(letters) < 4:
        return False
    vowels = sum(ch in "aeiouyäöü" for ch in letters) / len(letters)
    pairs = list(pairwise(letters))
    neighbours = sum(_neighbours(a, b) for a, b in pairs) / len(pairs)
    return vowels < 0.2 and neighbours >= 0.5


def _neighbours(a: str, b: str) -> bool:
    return a == b or any(
        a in row and b in row and abs(row.index(a) - row.index(b)) == 1 for row in KEYBOARD_ROWS
    )
