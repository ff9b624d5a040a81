"""The offline explain-back grader: which key points an answer covers, and a score in [0, 1].

    each key point ─▶ support = mix of
        meaning: its wordpieces aligned to the answer's (`alignment`, BERTScore-style recall,
                 question words demoted), in the one piece of the answer that says it best
        words:   share of its concepts (lemmas, synonyms) the answer uses, beyond the question's
    ─▶ credit per point (a ramp) ─▶ score = mean credit, each point weighted by its content words
    ─▶ a clause contradicting a point (see `contradiction`): that point earns nothing, the score
       drops a rubric step and is capped at 2/5; when the answer says the opposite of the point
       or of the question's premise, or such clauses are most of it, the score is 0
    ─▶ empty or "i don't know": 0; one content word: half

Without the embedding model the same steps run on words alone (`method="lexical"`). `Tuning` was
fitted on training data only: SAF's `training` split and the first five concepts of PAU's
calibration set (`bench/grader_quality.py --fit`); the same script reports the held-out figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.grading import encoder
from core.grading.alignment import semantic_support, word_support
from core.grading.contradiction import find_contradictions
from core.grading.lexical import content_concepts, is_no_answer
from core.grading.segment import points_from_reference, question_premise
from core.texts import Catalog


@dataclass(frozen=True)
class Grade:
    """A graded explanation: each key point is covered, missed or contradicted (one of the
    three); `misconception` says the first contradiction in words for the learner. `method` is
    "semantic" (embedding model) or "lexical" (words only)."""

    score: float
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    misconception: str | None
    method: str
    contradicted: tuple[str, ...] = ()
    key_points: tuple[str, ...] = ()  # all of them, in order


@dataclass(frozen=True)
class Tuning:
    """Where support turns into credit; fitted on the SAF training split (`bench/grader_quality.py
    --fit`), one set for each method."""

    point_low: float  # support (in the whole answer) at which a point starts to earn credit
    point_high: float  # support at which it earns full credit
    word_weight: float  # share of the word-level support in a point's support
    covered_from: float = 0.3  # support from which a point is listed as covered
    misconception_step: float = 0.2  # a contradiction costs one rubric step ...
    misconception_cap: float = 0.4  # ... and caps the score
    misconception_main: float = 0.5  # share of the answer from which it scores 0
    min_words: int = 2  # content words below which the score shrinks in proportion


AGREEMENT = 0.5  # how far above the share of covered points the score may go (of what is left)
SEMANTIC = Tuning(point_low=-0.1, point_high=0.4, word_weight=0.3, covered_from=0.25)
LEXICAL = Tuning(point_low=-0.1, point_high=0.5, word_weight=1.0, covered_from=0.3)


@dataclass(frozen=True)
class Evidence:
    """What the score is computed from; kept apart so that tuning can refit `Tuning` cheaply."""

    method: str  # "semantic" or "lexical"
    key_points: tuple[str, ...]
    semantic: tuple[float, ...] | None  # per point, wordpiece alignment, local; None: no model
    semantic_whole: tuple[float, ...] | None  # the same over the whole answer (for the score)
    lexical: tuple[float, ...]  # per point, the same on concept keys
    weights: tuple[float, ...]  # per point: how much it says (its content words)
    contradicted: tuple[int, ...]  # key points the answer says the opposite of
    misconception: str | None
    misconception_share: float  # share of the answer's words in contradicting clauses
    says_the_opposite: bool  # reverses the point's comparison or denies the question's premise
    content_words: int
    no_answer: bool


def gather(
    *,
    question: str,
    reference: str,
    answer: str,
    key_points: Sequence[str] | None = None,
    semantic: bool | None = None,
) -> Evidence:
    """Measure the answer against the key points (from the reference's sentences if none).

    `semantic=None` uses the embedding model when it is installed."""
    points = tuple(p.strip() for p in (key_points or points_from_reference(reference)) if p.strip())
    model = encoder.get_encoder() if semantic is not False else None
    no_answer = is_no_answer(answer)
    words_ = word_support(question=question, points=points, answer=answer)
    meaning = (
        semantic_support(model, question=question, points=points, answer=answer)
        if model is not None and points and not no_answer
        else None
    )
    premise = question_premise(question) or question
    found = (
        []
        if no_answer
        else find_contradictions(answer=answer, key_points=points, question=question)
    )
    answer_words = len(content_concepts(answer))
    wrong_words = sum(len(content_concepts(c.said)) for c in found)
    return Evidence(
        method="lexical" if model is None else "semantic",
        key_points=points,
        semantic=None if meaning is None else meaning.local,
        semantic_whole=None if meaning is None else meaning.whole,
        lexical=words_.local,
        weights=(meaning or words_).weight,
        contradicted=tuple(sorted({c.point for c in found if c.point is not None})),
        misconception=found[0].describe(points, premise) if found else None,
        misconception_share=min(1.0, wrong_words / max(answer_words, 1)),
        says_the_opposite=any(c.kind in ("reversal", "premise") for c in found),
        content_words=answer_words,
        no_answer=no_answer,
    )


def _ramp(value: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (value - low) / max(high - low, 1e-9)))


def judge(evidence: Evidence, tuning: Tuning | None = None) -> Grade:
    """Turn evidence into a Grade, with `tuning` (default: the one for the method available).

    A point is covered when its local support reaches `covered_from` (fitted on the calibration
    set's rubric, which counts points). The score is the mean credit of the points (each
    weighted by its content words) from their support in the whole answer, which ranks answers
    better; it is then kept within the band the covered points allow, so the two agree."""
    method = evidence.method
    tuning = tuning or (SEMANTIC if method == "semantic" else LEXICAL)
    points = evidence.key_points
    if evidence.no_answer or not points:
        return Grade(0.0, (), points, None, method, (), points)
    word_weight = tuning.word_weight if evidence.semantic is not None else 1.0

    def mixed(meaning: tuple[float, ...] | None) -> list[float]:
        return [
            (1 - word_weight) * m + word_weight * w
            for m, w in zip(meaning or evidence.lexical, evidence.lexical, strict=True)
        ]

    local, whole = mixed(evidence.semantic), mixed(evidence.semantic_whole)
    credit = [_ramp(s, tuning.point_low, tuning.point_high) for s in whole]
    for point in evidence.contradicted:
        credit[point], local[point] = 0.0, -1.0
    weights = [max(w, 1e-6) for w in evidence.weights]
    score = sum(c * w for c, w in zip(credit, weights, strict=True)) / sum(weights)
    is_covered = [s >= tuning.covered_from for s in local]
    share = sum(w for w, c in zip(weights, is_covered, strict=True) if c) / sum(weights)
    score = min(share + AGREEMENT * (1 - share), max(share / 2, score))
    score *= min(1.0, evidence.content_words / tuning.min_words)
    if evidence.misconception is not None:
        # the rubric: a misconception costs a step and caps the score; as the main content of
        # the answer, or when the answer says the opposite of the point or premise, 0
        score = min(tuning.misconception_cap, max(0.0, score - tuning.misconception_step))
        if evidence.says_the_opposite or evidence.misconception_share >= tuning.misconception_main:
            score, is_covered = 0.0, [False] * len(points)
    contradicted = tuple(points[i] for i in evidence.contradicted)
    covered = tuple(p for p, c in zip(points, is_covered, strict=True) if c)
    missed = tuple(p for p in points if p not in covered and p not in contradicted)
    return Grade(
        round(min(1.0, max(0.0, score)), 4), covered, missed, evidence.misconception, method,
        contradicted, points,
    )  # fmt: skip


def grade(
    *, question: str, reference: str, answer: str, key_points: Sequence[str] | None = None
) -> Grade:
    """Grade a learner's explanation against the reference answer and its key points."""
    evidence = gather(question=question, reference=reference, answer=answer, key_points=key_points)
    return judge(evidence)


def feedback(grade: Grade, language: str = "en") -> str:
    """The short reply to the learner: what they covered and what is still missing."""
    return Catalog(language)(
        "explain_feedback",
        covered=list(grade.covered),
        missed=list(grade.missed),
        contradicted=list(grade.contradicted),
        wanted=[p for p in grade.key_points if p not in grade.covered],
        misconception=grade.misconception,
        score=round(grade.score * 100),
    )
