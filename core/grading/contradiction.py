"""Spotting an answer that says the opposite of a key point, in a simple and honest way.

Two checks, both on clauses, both asking for strong word overlap so that a clause is only
compared with a point about the same thing (same subject, most concepts shared):

- polarity: the clause and a key point (or the premise of a "why …" question) share most of
  their concepts but one negates a shared concept or uses an opposite word ("doesn't help",
  "slowest" against "fastest", "loads" against "only a few");
- reversal: a key point says "A works better than B" and the clause praises B ("cramming is
  better", "surface stuff is what sticks best").

With the embedding model, a clause flipping a key point must also be close to it in meaning.
A denial of the premise or a reversal is dropped when another key point backs the clause
("rereading wins short term" is what "rereading can win on an immediate test" says).
It misses misconceptions that share few words with every point ("learn it once so it never
fades"); those only lose the coverage they fail to earn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.grading.lexical import Claim, claim, concept, content_concepts
from core.grading.segment import claim_pieces, question_premise, subject_part

MIN_OVERLAP = 0.6  # shared concepts / concepts of the shorter clause
PRAISE_CONCEPTS = frozenset(concept(w) for w in "good better best win work effective help".split())
# praise said of a subject: "X is better", "X works best", "X beats Y", "X > Y"
_PRAISE = re.compile(
    r"\b(?:is|are|was|were|works?|sticks?|helps?)\s+(?:\w+\s+){0,2}?"
    r"(?:better|best|more effective|superior|the way to go)\b|\b(?:beats?|outperforms?|wins?)\b|>",
    re.IGNORECASE,
)
_OTHER_SIDE = re.compile(r"\b(?:than|beats?|instead of|rather than|over|outperforms?)\b|>", re.I)
Embed = Callable[[Sequence[str]], NDArray[np.float32]]


@dataclass(frozen=True)
class Contradiction:
    said: str  # the learner's clause
    point: int | None  # index of the contradicted key point; None for the question's premise

    def describe(self, key_points: Sequence[str], premise: str) -> str:
        """For the learner: 'you said "X", but Y', Y being the point (or premise) it denies."""
        target = premise if self.point is None else key_points[self.point]
        said = re.sub(r"^(?:but|so|and|because|since|while|though|although|then)\s+", "", self.said)
        return f"you said “{said.rstrip('.!?;, ')}”, but {target.rstrip('.')}."


def _sides(text: str, marker: re.Pattern[str]) -> tuple[set[str], set[str]] | None:
    """(what is praised, what it is compared with) in "A works better than B"."""
    first = marker.search(text)
    if first is None:
        return None
    winner = set(content_concepts(text[: first.start()]))
    others = list(_OTHER_SIDE.finditer(text))
    loser = set(content_concepts(text[others[-1].end() :])) if others else set()
    return winner - loser, loser - winner


def _reversed(said: str, point: str) -> bool:
    point_sides = _sides(point, _OTHER_SIDE)
    said_sides = _sides(said, _PRAISE)
    if point_sides is None or said_sides is None or not point_sides[1]:
        return False
    point_winner, point_loser = point_sides
    said_winner, said_loser = said_sides
    if not said_winner & point_loser or said_winner & point_winner:
        return False
    # "learning is better with reviews" praises reviews too: not a reversal
    return bool(said_loser & point_winner) or not set(content_concepts(said)) & point_winner


def _overlapping(a: Claim, b: Claim) -> bool:
    shared = a.concepts & b.concepts
    return bool(shared) and len(shared) / min(len(a.concepts), len(b.concepts)) >= MIN_OVERLAP


def _denies_point(said: str, point: str) -> bool:
    a, b = claim(said), claim(point)
    if not _overlapping(a, b) or b.subject not in a.concepts:  # not about the same thing
        return False
    # the claims must share at least two concepts besides the one they disagree on
    shared = a.concepts & b.concepts
    if len(shared - (a.flipped ^ b.flipped)) < 2:
        return False
    # "recognition isn't recall" agrees with "recognising is easier than recalling": a
    # comparison is only contradicted by a reversal (below) or by another comparison
    if _OTHER_SIDE.search(point) and not _OTHER_SIDE.search(said) and not _PRAISE.search(said):
        return False
    return a.disagrees_with(b, scoped=True)


def _denies_premise(said: str, premise: str) -> bool:
    a, b = claim(said), claim(premise)
    if not _overlapping(a, b):
        return False
    premise_subject = claim(subject_part(premise) or "")
    said_subject = claim(subject_part(said) or said)
    if premise_subject.concepts:  # the same subject, said the same way ("harder practice")
        same = {
            c
            for c in premise_subject.concepts & said_subject.concepts
            if (c in premise_subject.flipped) == (c in said_subject.flipped)
        }
        if len(same) < MIN_OVERLAP * len(premise_subject.concepts):
            return False
    elif b.subject not in a.concepts:  # "it helps": the clause must speak of helping
        return False
    # "why making practice harder helps": "easy practice feels good" is a contrast, no denial
    return a.disagrees_with(b, ignore=premise_subject.concepts)


def _backed(said: str, denied: int | None, targets: Sequence[tuple[int | None, str]]) -> bool:
    """True when a key point other than the denied one says what the clause says: same
    subject and the same qualifier ("rereading wins short term" and "rereading can win on an
    immediate test"; but not "cramming works best" and "cramming can look good on an
    immediate test"). Sentence embeddings rate both pairs alike, so this is done with words."""
    a = claim(said)
    for index, text in targets:
        b = claim(text)
        if index is None or index == denied or b.subject not in a.concepts:
            continue
        qualifiers = b.concepts - {b.subject} - PRAISE_CONCEPTS
        if qualifiers & a.concepts and not a.disagrees_with(b, scoped=True):
            return True
    return False


def find_contradictions(
    *,
    answer: str,
    key_points: Sequence[str],
    question: str,
    embed: Embed | None = None,
    min_similarity: float = 0.3,
) -> list[Contradiction]:
    """The clauses of `answer` that contradict a key point or the question's premise, in order
    (each clause once, with the first thing it contradicts).

    With `embed` (the sentence encoder), a clause and the point whose polarity it flips must
    also be similar in meaning (a reversal, "B is better", is explicit enough on its own)."""
    targets: list[tuple[int | None, str]] = [
        (index, piece) for index, point in enumerate(key_points) for piece in claim_pieces(point)
    ]
    premise = question_premise(question)
    if premise:
        targets.append((None, premise))
    candidates: list[tuple[str, int | None, str]] = []  # (clause, point, what it denies)
    broad: list[tuple[str, int | None, str]] = []  # denies the premise, or a reversal
    for said in claim_pieces(re.sub(r"\s*(?:!=|≠|=/=)\s*", " is not ", answer)):
        for index, target in targets:
            if index is not None and _denies_point(said, target):
                candidates.append((said, index, target))
            elif (index is None and _denies_premise(said, target)) or _reversed(
                said, target if index is None else key_points[index]
            ):
                broad.append((said, index, target))
    # "rereading wins in the short term" seems to deny "testing beats rereading", yet says
    # what another key point says: a broad denial is dropped when a point backs the clause
    broad = [c for c in broad if not _backed(c[0], c[1], targets)]
    if candidates and embed is not None:
        vectors = embed([text for said, _, target in candidates for text in (said, target)])
        similar = (vectors[0::2] * vectors[1::2]).sum(axis=1) >= min_similarity
        candidates = [c for c, keep in zip(candidates, similar, strict=True) if keep]
    candidates += broad
    found: dict[str, Contradiction] = {}
    for said, index, _ in sorted(candidates, key=lambda c: answer.find(c[0])):
        found.setdefault(said, Contradiction(said, index))
    return list(found.values())
