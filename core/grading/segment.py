"""Cutting texts into the pieces the grader compares: sentences, clauses and word windows.

Learners type on phones: run-on sentences, bullets, arrows, no capitals. A key point is usually
said in one clause or one sentence, so an answer is compared piece by piece, never only whole.
"""

from __future__ import annotations

import re

MAX_PIECES = 24  # bounds the work for very long answers (each piece is one embedding)
WINDOW_WORDS = 14  # run-on sentences longer than LONG_CLAUSE words are also read in windows
LONG_CLAUSE = 24

_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])\s+|\s*\n+\s*|\s+(?:=>|->|→)\s*")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s*")
# cut after punctuation, and before linking words (they stay with the clause they introduce)
_CLAUSE_BREAK = re.compile(
    r"\s*[,:()]\s*|\s+-\s+|\s+(?=(?:and|but|so|because|since|while|whereas|though|although"
    r"|unless|instead|rather|then|which|cause|cuz|coz)\s)",
    re.IGNORECASE,
)
# for claims, "and" and "then" join too often inside one statement ("X and Y are the same")
_CLAIM_BREAK = re.compile(
    r"\s*[,:()]\s*|\s+-\s+|\s+(?=(?:but|so|because|since|while|whereas|though|although"
    r"|unless|instead|rather|which|cause|cuz|coz)\s)",
    re.IGNORECASE,
)
_PREDICATE = re.compile(
    r"\b(?:is|are|was|were|can|could|will|would|does|do|may|might|must|should|matters?|helps?"
    r"|beats?|backfires?|differs?|works?|never|not|doesn'?t|don'?t|isn'?t|aren'?t|can'?t|won'?t"
    r"|means?|makes?)\b"
)
_QUESTION_PREMISE = re.compile(r"\b(?:why|how)\b(.+?)(?:[,.?;]|\bin (?:two|one|three)\b|$)")


def sentences(text: str) -> list[str]:
    """Sentences and bullet lines, without bullet marks; empty pieces dropped."""
    pieces = (_BULLET.sub("", piece).strip() for piece in _SENTENCE_BREAK.split(text.strip()))
    return [piece for piece in pieces if re.search(r"\w", piece)]


def clauses(
    sentence: str, min_words: int = 3, breaks: re.Pattern[str] = _CLAUSE_BREAK
) -> list[str]:
    """The sentence split at commas and linking words; fragments too short to say anything
    are joined to their neighbour."""
    parts = [part.strip() for part in breaks.split(sentence) if part and part.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and (len(part.split()) < min_words or len(merged[-1].split()) < min_words):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def windows(text: str, size: int = WINDOW_WORDS) -> list[str]:
    """Overlapping runs of `size` words (half a window apart)."""
    tokens = text.split()
    if len(tokens) <= size:
        return [text]
    step = size // 2
    starts = range(0, len(tokens) - size + step, step)
    return [" ".join(tokens[start : start + size]) for start in starts]


def answer_pieces(answer: str) -> list[str]:
    """The pieces of an answer to compare with key points: every sentence, the clauses of
    sentences that have several, windows over long run-ons, and the whole answer (last)."""
    found: list[str] = []
    parts = sentences(answer)
    for sentence in parts:
        found.append(sentence)
        split = clauses(sentence)
        if len(split) > 1:
            found.extend(split)
        for clause in split:
            if len(clause.split()) > LONG_CLAUSE:
                found.extend(windows(clause))
    found.append(" ".join(parts))  # the whole answer (the first piece when it is one sentence)
    whole = found.pop()
    unique = [piece for piece in dict.fromkeys(found) if piece != whole]
    if len(unique) >= MAX_PIECES:  # keep the sentences first
        unique = [p for p in unique if p in parts] + [p for p in unique if p not in parts]
        unique = unique[: MAX_PIECES - 1]
    return [*unique, whole]


def claim_pieces(text: str) -> list[str]:
    """The clauses of a text, the units whose polarity is compared ("everyone benefits" is a
    claim of its own, so fragments stay apart down to two words)."""
    return [clause for sentence in sentences(text) for clause in clauses(sentence, 2, _CLAIM_BREAK)]


def points_from_reference(reference: str) -> list[str]:
    """Key points when none are given: the reference's sentences, long ones cut at clauses."""
    points: list[str] = []
    for sentence in sentences(reference):
        if len(sentence.split()) > 28:
            parts = re.split(r"\s*[;:]\s*|,\s+(?:and|but|so|which|because)\s+", sentence)
            points.extend(part for part in parts if len(part.split()) >= 4)
        else:
            points.append(sentence)
    return points or ([reference.strip()] if reference.strip() else [])


def question_premise(question: str) -> str | None:
    """What a "why …" or "how …" question takes as true ("why testing yourself beats
    rereading" → "testing yourself beats rereading"); an answer denying it is a misconception."""
    plain = re.sub(r"['\"‘’“”]([^'\"‘’“”]*?)[?!.]?['\"‘’“”]", r"\1", question)
    match = _QUESTION_PREMISE.search(plain)
    if match is None:
        return None
    premise = re.sub(r"\s+(?:and|or)\s*$", "", match.group(1).strip())
    return premise if len(premise.split()) >= 2 else None


def subject_part(statement: str) -> str | None:
    """The words before the first verb of a simple statement: "making practice harder" in
    "making practice harder can make learning better"; None when no verb is recognised."""
    match = _PREDICATE.search(statement.lower())
    return statement[: match.start()] if match else None
