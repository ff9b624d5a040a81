"""How much of each key point an answer says, wordpiece by wordpiece (BERTScore-style recall).

    key points, joined ─▶ MiniLM, before pooling ─▶ one unit vector per wordpiece, in context
    each content wordpiece of a point ─▶ its best cosine with any wordpiece of the answer (s)
                                      ─▶ and with any wordpiece of the question (f)
    ─▶ value = (s - f) / (1 - f): 0 = no closer than the bare question, 1 = the same word
    ─▶ support of a point = weighted mean of its wordpieces' values, in the one piece of the
       answer (sentence, clause, window) that says it best, not words gathered from all over
       (stopwords and punctuation weigh 0, words of the question ½ ("question demoting"), a
       word that several points share is divided among them)

Measured on the SAF training split this beats the whole-text cosine, stemmed word recall and
their blend (`bench/grader_quality.py`). Without the model the same is done on concept keys
(`core.grading.lexical`): a point's share of its concepts that the answer uses, less the share the
question already gives away.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.grading.encoder import Encoded, Encoder
from core.grading.lexical import STOPWORDS, content_concepts, lemma, words
from core.grading.segment import answer_pieces, sentences

QUESTION_WEIGHT = 0.5
MIN_HEADROOM = 0.1  # a point as close to the question as to itself still divides by this
CHUNK_WORDS = 150  # answers longer than the model reads (256 wordpieces) are read in parts


@dataclass(frozen=True)
class PointSupport:
    """Per key point, about -1..1 (0: nothing beyond the question): `local` in the one piece
    of the answer that says it best, words shared with other points divided among them (to
    decide which points were said); `whole` in the whole answer, every word at full weight (to
    score: it ranks answers better, measured on the SAF training split)."""

    local: tuple[float, ...]
    whole: tuple[float, ...]
    weight: tuple[float, ...]  # per key point: the weight of its content words


def joined(points: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The key points as one text (so each word is read in context) and each point's span."""
    text, spans = "", []
    for point in points:
        point = point.strip()
        if text:
            text += " " if text.endswith((".", "!", "?", ";")) else ". "
        spans.append((len(text), len(text) + len(point)))
        text += point
    return text, spans


def chunks(answer: str) -> list[str]:
    """The answer in parts of at most about CHUNK_WORDS words, cut between sentences."""
    if len(answer.split()) <= CHUNK_WORDS:
        return [answer]
    parts: list[str] = []
    for sentence in sentences(answer):
        if parts and len(parts[-1].split()) + len(sentence.split()) <= CHUNK_WORDS:
            parts[-1] += " " + sentence
        else:
            parts.append(sentence)
    return parts


def _word_of_piece(text: str, encoded: Encoded) -> list[str]:
    """For each wordpiece, the whole word it belongs to, lower-cased."""
    extent: dict[int, list[int]] = {}
    for (start, end), word in zip(encoded.spans, encoded.words, strict=True):
        extent.setdefault(word, [start, end])[1] = end
    return [text[extent[w][0] : extent[w][1]].lower() for w in encoded.words]


def piece_weights(
    text: str, encoded: Encoded, question_lemmas: set[str], shared: Counter[str]
) -> NDArray[np.float32]:
    weights = []
    for word in _word_of_piece(text, encoded):
        if len(word) < 2 or word in STOPWORDS or not re.search(r"[a-z0-9]", word):
            weights.append(0.0)
            continue
        key = lemma(word)
        weight = QUESTION_WEIGHT if key in question_lemmas else 1.0
        weights.append(weight / max(shared[key], 1))  # words of several points say less
    return np.asarray(weights, dtype=np.float32)


def _best(targets: NDArray[np.float32], against: Sequence[Encoded]) -> NDArray[np.float32]:
    found = [e.vectors for e in against if len(e.pieces)]
    if not found:
        return np.zeros(len(targets), dtype=np.float32)
    best: NDArray[np.float32] = (targets @ np.concatenate(found).T).max(axis=1)
    return best


def _piece_columns(
    answer: str, parts: Sequence[str], said: Sequence[Encoded]
) -> list[NDArray[np.intp]]:
    """For each piece of the answer (sentences, clauses, windows: `answer_pieces`), which
    columns of the answer's wordpieces (all parts side by side) lie inside it."""
    starts: list[int] = []
    cursor = 0
    for part, encoded in zip(parts, said, strict=True):
        offset = answer.find(part, cursor)
        cursor = offset + len(part)
        starts.extend(offset + start for start, _ in encoded.spans)
    at = np.asarray(starts)
    pieces = answer_pieces(answer)
    columns = []
    for piece in pieces[:-1] or pieces:  # the last piece is the whole answer
        begin = answer.find(piece)
        if begin < 0:
            continue
        inside = np.flatnonzero((at >= begin) & (at < begin + len(piece)))
        if len(inside):
            columns.append(inside)
    return columns


def semantic_support(
    model: Encoder, *, question: str, points: Sequence[str], answer: str
) -> PointSupport:
    text, spans = joined(points)
    parts = chunks(answer)
    encoded = model.encode_tokens([text, question, *parts])
    target, asked, said = encoded[0], encoded[1], encoded[2:]
    found = [e.vectors for e in said if len(e.pieces)]
    if not found:
        nothing = (0.0,) * len(points)
        return PointSupport(nothing, nothing, (1.0,) * len(points))
    asked_lemmas = {lemma(w) for w in words(question)}
    plain = piece_weights(text, target, asked_lemmas, Counter())
    shared = Counter(key for point in points for key in {lemma(w) for w in words(point)})
    divided = piece_weights(text, target, asked_lemmas, shared)
    similarity = target.vectors @ np.concatenate(found).T  # point wordpieces by answer wordpieces
    f = _best(target.vectors, [asked])
    headroom = np.maximum(1 - f, MIN_HEADROOM)
    starts = np.asarray([start for start, _ in target.spans])
    mine = [(starts >= start) & (starts < end) for start, end in spans]

    def per_point(values: NDArray[np.float32], weights: NDArray[np.float32]) -> list[float]:
        return [
            float((weights[m] * values[m]).sum() / weights[m].sum()) if weights[m].sum() else 0.0
            for m in mine
        ]

    def values_in(columns: NDArray[np.intp] | slice) -> NDArray[np.float32]:
        best: NDArray[np.float32] = np.clip(
            (similarity[:, columns].max(axis=1) - f) / headroom, -1.0, 1.0
        )
        return best

    whole = per_point(values_in(slice(None)), plain)
    # a point must be said in one place: the best piece of the answer, not words from all over
    local = [-1.0] * len(points)
    for columns in _piece_columns(answer, parts, said):
        here = per_point(values_in(columns), divided)
        local = [max(a, b) for a, b in zip(local, here, strict=True)]
    weight = tuple(float(plain[m].sum()) for m in mine)
    return PointSupport(tuple(local), tuple(whole), weight)


def word_support(*, question: str, points: Sequence[str], answer: str) -> PointSupport:
    """The same on words alone: concepts of the point found in the answer, question words ½,
    less what the question already says."""
    said, asked = set(content_concepts(answer)), set(content_concepts(question))
    support, weight = [], []
    for point in points:
        concepts = set(content_concepts(point))
        weights = {c: QUESTION_WEIGHT if c in asked else 1.0 for c in concepts}
        total = sum(weights.values())
        if not total:
            support.append(0.0)
            weight.append(0.0)
            continue
        got = sum(w for c, w in weights.items() if c in said) / total
        floor = sum(w for c, w in weights.items() if c in asked) / total
        support.append((got - floor) / max(1 - floor, MIN_HEADROOM))
        weight.append(total)
    return PointSupport(tuple(support), tuple(support), tuple(weight))
