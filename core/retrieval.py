"""Find the course passages that answer a question: BM25 plus sentence embeddings (hybrid).

The tutor grounds its answers in what this finds, and it is the honest fallback when no LLM
tutor is configured: it quotes the course, it never invents. Finding nothing relevant means
"offer a mentor".
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from core.content import Course, normalize
from core.grading.encoder import Matrix, encoder_available, get_encoder

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
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9*\"“])")


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
    """A passage found for a question and how relevant it is (see `CourseIndex.search`)."""

    passage: Passage
    relevance: float  # 0..1, what the ranking and the threshold use
    lexical: float  # 0..1, the share of the question's (rarity-weighted) words it covers
    semantic: float | None  # 0..1, meaning similarity; None without the sentence encoder


class CourseIndex:
    """Hybrid search over the course's lesson paragraphs and summaries and mentors' FAQ answers.

    Each passage gets two scores in 0..1 for a question:
    - lexical: its BM25 score over the highest score any passage could get for this question
      (every word matched, at saturation), words the course never uses counted at the highest
      idf: the share of the question, weighted by rarity, that the passage covers;
    - semantic: the best cosine similarity between the question and one of the passage's
      sentences (all-MiniLM-L6-v2, each sentence prefixed with its lesson's title), mapped from
      SEMANTIC_FLOOR (what unrelated texts score) to SEMANTIC_CEILING (a close paraphrase).
    `relevance` is their mean; passages below MIN_RELEVANCE are left out. Without the encoder
    the lexical score is the relevance, with its own threshold (MIN_LEXICAL_RELEVANCE).

    Why a weighted sum and not reciprocal rank fusion: RRF ranks as well (held-out top-1 27/30,
    top-3 30/30) but keeps only ranks, so something always comes first and it cannot say
    "nothing relevant" (0/11 off-topic questions rejected), which the tutor needs to offer a
    mentor. Measured on tests/data/retrieval_questions.yaml, weights and thresholds chosen on
    its "tune" half, figures from the held-out half (30 course questions, 11 off-topic):
    BM25 alone (raw score >= 1.5, before this): top-1 22/30, top-3 29/30, off-topic rejected 1/11;
    BM25 alone (lexical >= 0.1): top-1 22/30, top-3 29/30, rejected 8/11;
    hybrid (relevance >= 0.21): top-1 26/30, top-3 29/30, rejected 10/11.
    Sentence-level vectors beat one vector per paragraph (held-out top-1 24/30 vs 20/30 alone);
    the tune half's results hold for weights 0.35-0.55 and thresholds within about ±0.03.
    """

    K1 = 1.2
    B = 0.75
    SEMANTIC_WEIGHT = 0.5
    SEMANTIC_FLOOR = 0.1
    SEMANTIC_CEILING = 0.7
    MIN_RELEVANCE = 0.21
    MIN_LEXICAL_RELEVANCE = 0.1

    def __init__(self, course: Course, *, semantic: bool = True) -> None:
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
        self.lengths = [sum(d.values()) for d in self.documents]
        self.average_length = sum(self.lengths) / max(len(self.lengths), 1)
        frequency: Counter[str] = Counter()
        for document in self.documents:
            frequency.update(document.keys())
        total = len(self.documents)
        self.idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in frequency.items()}
        self.unknown_idf = math.log(1 + (total + 0.5) / 0.5)  # a word no passage uses
        self.semantic = semantic and encoder_available()
        self._vectors: Matrix | None = None  # one row per sentence, embedded on first use
        self._owners: NDArray[np.intp] = np.zeros(0, dtype=np.intp)  # each row's passage
        self._lock = threading.Lock()

    def search(self, question: str, limit: int = 3) -> list[Answer]:
        """The `limit` most relevant passages, best first, leaving out those below the
        threshold: an empty list means the course has nothing relevant to say."""
        lexical = self._lexical(question)
        semantic = self._semantic(question) if self.semantic and question.strip() else None
        if semantic is None:
            relevance, threshold = lexical, self.MIN_LEXICAL_RELEVANCE
        else:
            weight = self.SEMANTIC_WEIGHT
            relevance = [
                weight * s + (1 - weight) * w for s, w in zip(semantic, lexical, strict=True)
            ]
            threshold = self.MIN_RELEVANCE
        ranked = sorted(range(len(self.passages)), key=lambda i: -relevance[i])  # stable: ties
        return [
            Answer(
                self.passages[i],
                relevance=relevance[i],
                lexical=lexical[i],
                semantic=None if semantic is None else semantic[i],
            )
            for i in ranked[:limit]
            if relevance[i] >= threshold
        ]

    def best(self, question: str) -> Answer | None:
        """The most relevant passage, or None when nothing in the course is relevant."""
        found = self.search(question, limit=1)
        return found[0] if found else None

    def prepare(self) -> None:
        """Embed the passages now (a second or two) rather than on the first question."""
        if self.semantic:
            self._passage_vectors()

    def _lexical(self, question: str) -> list[float]:
        """BM25 of each passage over the most any passage could score for this question."""
        query = set(terms(question))
        ceiling = (self.K1 + 1) * sum(self.idf.get(t, self.unknown_idf) for t in query)
        if not ceiling:
            return [0.0] * len(self.passages)
        scores = []
        for document, length in zip(self.documents, self.lengths, strict=True):
            score = 0.0
            for term in query & document.keys():
                tf = document[term]
                norm = tf + self.K1 * (1 - self.B + self.B * length / self.average_length)
                score += self.idf[term] * tf * (self.K1 + 1) / norm
            scores.append(min(score / ceiling, 1.0))
        return scores

    def _semantic(self, question: str) -> list[float] | None:
        """Each passage's best sentence cosine with the question, mapped to 0..1."""
        encoder = get_encoder()
        vectors = self._passage_vectors()
        if encoder is None or vectors is None:
            return None
        cosines = vectors @ encoder.encode([question])[0]
        best = np.full(len(self.passages), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, cosines)
        span = self.SEMANTIC_CEILING - self.SEMANTIC_FLOOR
        return [float(x) for x in np.clip((best - self.SEMANTIC_FLOOR) / span, 0.0, 1.0)]

    def _passage_vectors(self) -> Matrix | None:
        # Under a lock: worker threads share the index, and the embedding should run once.
        with self._lock:
            if self._vectors is None:
                encoder = get_encoder()
                if encoder is None:
                    return None
                texts: list[str] = []
                owners: list[int] = []
                for number, passage in enumerate(self.passages):
                    sentences = SENTENCE_END.split(passage.text)
                    texts += [f"{passage.concept_title}: {s}" for s in sentences]
                    texts += [passage.question] if passage.question else []
                    owners += [number] * (len(sentences) + bool(passage.question))
                self._owners = np.array(owners, dtype=np.intp)
                self._vectors = encoder.encode(texts)
            return self._vectors


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


@lru_cache(maxsize=16)  # a few courses, and their last versions (not every reload)
def index_for(course: Course) -> CourseIndex:
    """The course's index, built once per process (passages are embedded on first search)."""
    return CourseIndex(course)
