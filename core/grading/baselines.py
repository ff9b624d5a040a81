"""Naive graders to measure the real one against (`core.grading.evaluation`).

- word recall: share of the reference's distinct content words (Snowball stems, stopwords
  dropped) that the answer also uses;
- cosine: the sentence encoder's similarity of the whole answer to the whole reference;
- blend: their mean.

They know nothing of key points, questions or contradictions: a grader worth shipping must beat
them on answers and questions it was not tuned on.
"""

from __future__ import annotations

from functools import cache

import snowballstemmer

from core.grading import encoder
from core.grading.lexical import STOPWORDS, words

_stemmer = snowballstemmer.stemmer("english")


@cache
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def stems(text: str) -> set[str]:
    """The distinct Snowball stems of the content words of `text`."""
    return {stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1}


def word_recall(reference: str, answer: str) -> float:
    wanted = stems(reference)
    return len(wanted & stems(answer)) / len(wanted) if wanted else 0.0


def cosine(reference: str, answer: str) -> float:
    """Whole text against whole text; raises RuntimeError without the embedding model."""
    vectors = encoder.encode([reference, answer])
    return float(vectors[0] @ vectors[1])


def blend(reference: str, answer: str) -> float:
    return (word_recall(reference, answer) + cosine(reference, answer)) / 2
