"""Spotting an answer that says the opposite of a key point, in a simple and honest way.

What is checked, clause by clause (each clause must speak of what the point speaks of):

- reversal: a key point says "A works better than B" and the clause praises B ("cramming is
  better", "surface stuff is what sticks best");
- the premise of a "why …" question denied ("why testing beats rereading": "it doesn't");
- kinds of claim that deny a point in other words, spotted by their wording: a benefit denied
  ("reviewing does not help", "rereading is pointless") of what a point says works; a steady
  rate ("we forget at a steady rate") where a point says the rate changes (fast, then slow); a
  trend reversed ("slowest at first, then faster"); a permanent loss ("once it's gone it's gone
  for good") where a point says what was lost comes back (relearned, recovered); a limit denied
  ("it can hold loads") where a point says there is one ("only a few").

A reversal or a denied premise is dropped when another key point backs the clause ("rereading
wins short term" is what "rereading can win on an immediate test" says).

Not checked any more: a plain polarity flip (a clause sharing most words with a point, one of
them negated or swapped for its opposite). On the SAF training answers it flagged 58 answers
whose tutors' mean score was 0.92 against 0.82 for the rest, since real answers contrast two
things ("async: low rates; sync: high rates") far more often than they deny a point; it cost
the grader about 0.1 of Pearson r there (`bench/grader_quality.py`). Misconceptions that share
few words with every point and fit none of the kinds above ("learn it once so it never fades")
only lose the coverage they fail to earn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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

_DENIED_BENEFIT = re.compile(
    r"\b(?:(?:does|do|did|will|would|can)\s*(?:n'?t|not)|never|hardly|barely)\s+(?:really\s+|"
    r"actually\s+|even\s+)?(?:help|work|improve|make (?:a|any|much) difference)"
    r"|\b(?:is|are|was|were)\s*(?:n'?t|not)\s+(?:really\s+)?(?:helpful|useful|effective|worth)"
    r"|\b(?:pointless|useless|no point|no use|a waste of time|makes? no difference)\b",
    re.IGNORECASE,
)
_STEADY_RATE = re.compile(
    r"\b(?:steady|constant|same|even|uniform|fixed|linear)\s+(?:rate|pace|speed)\b"
    r"|\b(?:steadily|constantly|evenly|linearly|uniformly)\b|\bat the same (?:rate|pace|speed)\b",
    re.IGNORECASE,
)
_PERMANENT_LOSS = re.compile(
    r"\b(?:gone|lost|forgotten|erased|deleted)\s+(?:for good|forever|permanently|for ever)\b"
    r"|\b(?:never|can'?t|cannot|won'?t)\s+(?:\w+\s+){0,2}(?:come|get it|bring it|get them)\s+back\b"
    r"|\bpermanently\s+(?:gone|lost|forgotten|erased)\b",
    re.IGNORECASE,
)
_HEARSAY = re.compile(
    r"\b(?:people|many|most|some|others|everyone|they) (?:think|believe|assume|say|feel)|"
    r"\b(?:myth|misconception|you might think|you'?d think|it seems like|it feels like|feels"
    r" like|seems to|looks like)\b",
    re.IGNORECASE,
)
_ABUNDANCE = re.compile(
    r"\b(?:loads|lots|tons|heaps|plenty|unlimited|limitless|endless|infinite|no limit|any amount"
    r"|as much as (?:you|we) (?:want|like)|as many as (?:you|we) (?:want|like))\b",
    re.IGNORECASE,
)
_LIMIT = re.compile(r"\b(?:only|few|limited|small|a handful)\b", re.IGNORECASE)
_COMES_BACK = re.compile(
    r"\bre(?:learn|cover|gain|turn|call|build)\w*|\bcomes?\s+back\b|\bagain\b|\bsavings?\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Contradiction:
    said: str  # the learner's clause
    point: int | None  # index of the contradicted key point; None for the question's premise
    kind: str = "cue"  # or "premise", "reversal": which check found it

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


@lru_cache(maxsize=4096)  # key points repeat across clauses and answers: analysed once
def _benefit_of(point: str) -> frozenset[str]:
    """What a point says works: the winner of "A beats B", or the subject of a point that
    praises or says it strengthens, helps or slows fading."""
    sides = _sides(point, _OTHER_SIDE)
    if sides is not None and sides[0]:
        return frozenset(sides[0] - PRAISE_CONCEPTS)
    subject = claim(point).subject
    if subject and set(_concepts_of(point)) & (
        PRAISE_CONCEPTS | {concept("strengthen"), concept("slow")}
    ):
        return frozenset({subject})
    return frozenset()


@lru_cache(maxsize=4096)
def _concepts_of(point: str) -> tuple[str, ...]:
    return tuple(content_concepts(point))


def _cued_denial(said: str, point: str) -> bool:
    """A clause that denies `point` by what kind of claim it makes (see the module docstring);
    it must speak of what the point speaks of."""
    said_concepts = set(content_concepts(said))
    if _DENIED_BENEFIT.search(said):  # of the very thing the point says works
        return claim(said).subject in _benefit_of(point) - PRAISE_CONCEPTS
    point_concepts = set(_concepts_of(point))
    shared = said_concepts & point_concepts
    if _STEADY_RATE.search(said) and shared:
        return {concept("fast"), concept("slow")} <= point_concepts  # the point: rate changes
    if _PERMANENT_LOSS.search(said) and (shared or concept("go") in said_concepts):
        return bool(_COMES_BACK.search(point)) and concept("forget") in point_concepts
    if _ABUNDANCE.search(said) and _LIMIT.search(point):
        return claim(said).subject == claim(point).subject
    return bool(shared) and _trend_reversed(content_concepts(said), _concepts_of(point))


def _trend_reversed(said: Sequence[str], point: Sequence[str]) -> bool:
    """The point says "fast, then slow" and the clause "slow, then fast" (or the other way)."""
    fast, slow = concept("fast"), concept("slow")
    if not {fast, slow} <= set(said) or not {fast, slow} <= set(point):
        return False
    return (said.index(fast) < said.index(slow)) != (point.index(fast) < point.index(slow))


def _overlapping(a: Claim, b: Claim) -> bool:
    shared = a.concepts & b.concepts
    return bool(shared) and len(shared) / min(len(a.concepts), len(b.concepts)) >= MIN_OVERLAP


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
    *, answer: str, key_points: Sequence[str], question: str
) -> list[Contradiction]:
    """The clauses of `answer` that contradict a key point or the question's premise, in order
    (each clause once, with the first thing it contradicts)."""
    targets: list[tuple[int | None, str]] = [
        (index, piece) for index, point in enumerate(key_points) for piece in claim_pieces(point)
    ]
    premise = question_premise(question)
    if premise:
        targets.append((None, premise))
    denials: list[Contradiction] = []  # denies the premise, a reversal
    cued: list[Contradiction] = []  # denies a point by the kind of claim it makes
    for said in claim_pieces(re.sub(r"\s*(?:!=|≠|=/=)\s*", " is not ", answer)):
        if _HEARSAY.search(said):  # "some people think cramming is better": not their claim
            continue
        for number, point in enumerate(key_points):
            if _cued_denial(said, point):
                cued.append(Contradiction(said, number, "cue"))
        for index, target in targets:
            if index is None and _denies_premise(said, target):
                denials.append(Contradiction(said, index, "premise"))
            elif _reversed(said, target if index is None else key_points[index]):
                denials.append(Contradiction(said, index, "reversal"))
    # "rereading wins in the short term" seems to deny "testing beats rereading", yet says
    # what another key point says: a broad denial is dropped when a point backs the clause
    denials = [c for c in denials if not _backed(c.said, c.point, targets)]
    found: dict[str, Contradiction] = {}
    for c in sorted(cued + denials, key=lambda c: answer.find(c.said)):
        found.setdefault(c.said, c)
    return list(found.values())
