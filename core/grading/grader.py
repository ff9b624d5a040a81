"""The offline explain-back grader: which key points an answer covers, and a score in [0, 1].

    answer ─▶ pieces: sentences, clauses, windows over run-ons, the whole answer
    each key point ─▶ support = mix of
        meaning: its best similarity to a piece (MiniLM), on the point's own scale
                 (0 = as close as the bare question, 1 = as close as the reference answer)
        words:   share of its lemmas/synonyms the answer uses (question words count half)
    ─▶ credit per point (a ramp) ─▶ score = on-topic share + coverage share
    ─▶ a clause contradicting a point or the question's premise (see `contradiction`): that
       point earns nothing, the score drops a rubric step and is capped at 2/5; when such
       clauses are most of the answer, the score is 0
    ─▶ empty or "i don't know": 0; one content word: half

Without the embedding model the same steps run on words alone (`method="lexical"`). `Tuning`
was fitted on five of the ten concepts of the human-labelled calibration set
(`tests/data/grading/`); `bench/grader_calibration.py` reports the agreement on the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.grading import encoder
from core.grading.contradiction import find_contradictions
from core.grading.lexical import content_concepts, is_no_answer
from core.grading.segment import answer_pieces, points_from_reference, question_premise
from core.texts import Catalog


@dataclass(frozen=True)
class Grade:
    """A graded explanation. `method` is "semantic" (embedding model) or "lexical" (words only)."""

    score: float
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    misconception: str | None
    method: str


@dataclass(frozen=True)
class Tuning:
    """Where similarities turn into credit; one set for each method."""

    point_low: float  # support at which a point starts to earn credit
    point_high: float  # support at which it earns full credit
    word_weight: float  # share of word overlap in a point's support
    gist_low: float
    gist_high: float
    gist_weight: float  # share of the score given for being on topic at all
    covered_at: float = 0.5  # credit from which a point is listed as covered
    misconception_step: float = 0.2  # a contradiction costs one rubric step ...
    misconception_cap: float = 0.4  # ... and caps the score
    misconception_main: float = 0.5  # share of the answer from which it scores 0
    min_words: int = 2  # content words below which the score shrinks in proportion


SEMANTIC = Tuning(
    point_low=0.2,
    point_high=0.55,
    word_weight=0.6,
    gist_low=0.05,
    gist_high=0.15,
    gist_weight=0.2,
    min_words=2,
)
LEXICAL = Tuning(
    point_low=-0.1,
    point_high=0.6,
    word_weight=1.0,
    gist_low=0.2,
    gist_high=0.5,
    gist_weight=0.1,
    min_words=2,
    covered_at=0.7,
)


@dataclass(frozen=True)
class Evidence:
    """What the score is computed from; kept apart so calibration can refit `Tuning` cheaply."""

    method: str  # "semantic" or "lexical"
    key_points: tuple[str, ...]
    semantic: tuple[float, ...] | None  # best piece similarity per point; None: no model
    semantic_full: tuple[float, ...] | None  # the same for the reference: full marks
    semantic_floor: tuple[float, ...] | None  # similarity of each point to the bare question
    lexical: tuple[float, ...]  # share of each point's concepts found in the answer
    lexical_full: tuple[float, ...]  # the same share in the reference
    gist_semantic: float | None  # whole answer against the reference
    gist_lexical: float
    contradicted: tuple[int, ...]  # key points the answer says the opposite of
    misconception: str | None
    misconception_share: float  # share of the answer's words in contradicting clauses
    content_words: int
    no_answer: bool


def _word_support(point: str, answer_concepts: set[str], question_concepts: set[str]) -> float:
    # words the question already gives away ("forgetting" for the forgetting curve) count half
    concepts = set(content_concepts(point))
    if not concepts:
        return 0.0
    weights = {c: 0.5 if c in question_concepts else 1.0 for c in concepts}
    return sum(w for c, w in weights.items() if c in answer_concepts) / sum(weights.values())


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
    answer_concepts_list = content_concepts(answer)
    answer_concepts = set(answer_concepts_list)
    question_concepts = set(content_concepts(question))
    lexical = tuple(_word_support(p, answer_concepts, question_concepts) for p in points)
    reference_concepts = set(content_concepts(reference))
    lexical_full = tuple(_word_support(p, reference_concepts, question_concepts) for p in points)
    reference_concepts -= question_concepts
    gist_lexical = len(reference_concepts & answer_concepts) / max(len(reference_concepts), 1)
    model = encoder.get_encoder() if semantic is not False else None
    no_answer = is_no_answer(answer)
    similarities = full = floor = None
    gist_semantic: float | None = None
    if model is not None and not no_answer and points:
        pieces = answer_pieces(answer)
        # the point, reference and question texts repeat across answers: they come from the cache
        reference_pieces = answer_pieces(reference) if reference.strip() else list(points)
        vectors = model.encode([*pieces, *points, *reference_pieces, question])
        piece_vectors, rest = vectors[: len(pieces)], vectors[len(pieces) :]
        point_vectors, reference_vectors = rest[: len(points)], rest[len(points) : -1]
        similarities = tuple(float(v) for v in (point_vectors @ piece_vectors.T).max(axis=1))
        full = tuple(float(v) for v in (point_vectors @ reference_vectors.T).max(axis=1))
        floor = tuple(float(v) for v in point_vectors @ vectors[-1])
        gist_semantic = float(reference_vectors[-1] @ piece_vectors[-1])  # whole against whole

    premise = question_premise(question) or question
    found = [] if no_answer else find_contradictions(
        answer=answer, key_points=points, question=question,
        embed=model.encode if model is not None else None,
    )  # fmt: skip
    wrong_words = sum(len(content_concepts(c.said)) for c in found)
    return Evidence(
        method="lexical" if model is None else "semantic",
        key_points=points,
        semantic=similarities,
        semantic_full=full,
        semantic_floor=floor,
        lexical=lexical,
        lexical_full=lexical_full,
        gist_semantic=gist_semantic,
        gist_lexical=gist_lexical,
        contradicted=tuple(sorted({c.point for c in found if c.point is not None})),
        misconception=found[0].describe(points, premise) if found else None,
        misconception_share=min(1.0, wrong_words / max(len(answer_concepts_list), 1)),
        content_words=len(answer_concepts_list),
        no_answer=no_answer,
    )


def _word_shares(evidence: Evidence) -> list[float]:
    # relative to the reference: a point the reference itself words differently asks for less
    return [
        w / max(full, 0.5) for w, full in zip(evidence.lexical, evidence.lexical_full, strict=True)
    ]


def _semantic_support(evidence: Evidence) -> list[float]:
    """Similarity on the scale of each point: 0 = as close as the bare question, 1 = as close
    as the reference answer. Points differ in how similar a full paraphrase can get."""
    if (
        evidence.semantic is None
        or evidence.semantic_full is None
        or evidence.semantic_floor is None
    ):
        return [0.0] * len(evidence.key_points)
    return [
        (s - floor) / max(full - floor, 0.1)
        for s, full, floor in zip(
            evidence.semantic, evidence.semantic_full, evidence.semantic_floor, strict=True
        )
    ]


def _ramp(value: float, low: float, high: float) -> float:
    return min(1.0, max(0.0, (value - low) / max(high - low, 1e-9)))


def judge(evidence: Evidence, tuning: Tuning | None = None) -> Grade:
    """Turn evidence into a Grade, with `tuning` (default: the one for the method available)."""
    method = evidence.method
    tuning = tuning or (SEMANTIC if method == "semantic" else LEXICAL)
    if evidence.no_answer or not evidence.key_points:
        return Grade(0.0, (), evidence.key_points, None, method)
    support = [
        (1 - tuning.word_weight) * s + tuning.word_weight * w
        for s, w in zip(_semantic_support(evidence), _word_shares(evidence), strict=True)
    ]
    credit = [_ramp(s, tuning.point_low, tuning.point_high) for s in support]
    for point in evidence.contradicted:
        credit[point] = 0.0
    gist_value = evidence.gist_lexical if evidence.gist_semantic is None else evidence.gist_semantic
    gist = _ramp(gist_value, tuning.gist_low, tuning.gist_high)
    coverage = sum(credit) / len(credit)
    score = tuning.gist_weight * gist + (1 - tuning.gist_weight) * coverage
    score *= min(1.0, evidence.content_words / tuning.min_words)
    if evidence.misconception is not None:
        # the rubric: a misconception costs a step and caps the score; as the main content, 0
        score = min(tuning.misconception_cap, max(0.0, score - tuning.misconception_step))
        if evidence.misconception_share >= tuning.misconception_main:
            score, credit = 0.0, [0.0] * len(credit)
    covered = tuple(
        p for p, c in zip(evidence.key_points, credit, strict=True) if c >= tuning.covered_at
    )
    missed = tuple(p for p in evidence.key_points if p not in covered)
    return Grade(
        round(min(1.0, max(0.0, score)), 4), covered, missed, evidence.misconception, method
    )


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
        skipped=False,
        misconception=grade.misconception,
        score=round(grade.score * 100),
    )
