"""Offline answers: find the course passage that best matches a question (BM25 over paragraphs).

This is the honest fallback when no LLM tutor is configured: it quotes the course, it never invents.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from core.content import Course, normalize

STOPWORDS = frozenset(
    """a an the and or but if of to in on at for with by from as is are was were be been being it
    its this that these those i you he she we they me my your our their what why how when where who
    which do does did can could should would will shall may might must not no so than then there
    here about into over under more most very just also any some such only own same too s t ll re ve
    d m tell explain mean means please know want get""".split()
)
SUFFIXES = (
    "ations", "ation", "ings", "ing", "ies", "ied", "ness", "ments", "ment",
    "ers", "er", "ed", "es", "s", "ly",
)  # fmt: skip


def stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    joined = re.sub(r"(?<=\w)-(?=\w)", "", text)  # "re-reading" and "rereading" are one word
    return [stem(w) for w in normalize(joined).split() if w not in STOPWORDS and len(w) > 1]


@dataclass(frozen=True)
class Passage:
    concept_id: str
    concept_title: str
    text: str
    question: str = ""  # a mentor's FAQ answer: the question it answered (matched, not quoted)

    @property
    def from_faq(self) -> bool:
        return bool(self.question)


@dataclass(frozen=True)
class Answer:
    passage: Passage
    score: float


class CourseIndex:
    """BM25 over the course's lesson paragraphs and summaries, and mentors' FAQ answers."""

    K1 = 1.2
    B = 0.75
    MIN_SCORE = 1.5

    def __init__(self, course: Course) -> None:
        self.passages: list[Passage] = []
        for concept in course.concepts:
            title = concept.title
            for bubble in concept.lesson:
                for paragraph in re.split(r"\n\s*\n", bubble):
                    if paragraph.strip():
                        self.passages.append(Passage(concept.id, title, paragraph.strip()))
            if concept.summary:
                self.passages.append(Passage(concept.id, title, concept.summary))
        for faq in course.faq:
            answered = course.concept(faq.concept_id)
            title = answered.title if answered else course.title
            self.passages.append(Passage(faq.concept_id, title, faq.answer, faq.question))
        self.documents = [
            Counter(terms(f"{p.concept_title} {p.question} {p.text}")) for p in self.passages
        ]
        lengths = [sum(d.values()) for d in self.documents]
        self.average_length = sum(lengths) / max(len(lengths), 1)
        frequency: Counter[str] = Counter()
        for document in self.documents:
            frequency.update(document.keys())
        total = len(self.documents)
        self.idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in frequency.items()}

    def best(self, question: str) -> Answer | None:
        query = set(terms(question))
        best: Answer | None = None
        for passage, document in zip(self.passages, self.documents, strict=True):
            length = sum(document.values())
            score = 0.0
            for term in query & document.keys():
                tf = document[term]
                norm = tf + self.K1 * (1 - self.B + self.B * length / self.average_length)
                score += self.idf[term] * tf * (self.K1 + 1) / norm
            if score >= self.MIN_SCORE and (best is None or score > best.score):
                best = Answer(passage, score)
        return best


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*\"“])")


def excerpt(passage: str, question: str, max_chars: int = 420) -> str:
    """The sentences of a passage that best match the question, in their original order."""
    sentences = SENTENCE_END.split(passage)
    if len(passage) <= max_chars or len(sentences) == 1:
        return passage
    query = set(terms(question))
    ranked = sorted(
        range(len(sentences)), key=lambda i: (-len(query & set(terms(sentences[i]))), i)
    )
    chosen: list[int] = []
    length = 0
    for index in ranked:
        if chosen and length + len(sentences[index]) > max_chars:
            break
        chosen.append(index)
        length += len(sentences[index]) + 1
    return " ".join(sentences[i] for i in sorted(chosen))


@cache
def index_for(course: Course) -> CourseIndex:
    return CourseIndex(course)
