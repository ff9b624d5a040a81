"""How well a grader agrees with people: the figures of `bench/grader_quality.py` and of
`pau grade --report FILE`.

A labelled file has one JSON object a line with `question`, `reference`, `answer` and a human
`score`, optionally `max_score` (else the highest score given to that question counts as full
marks), `key_points`, `label` (Correct / Partially correct / Incorrect), `split` and
`question_id` (the SAF short-answer set has them all). Per split, for each grader:

- Pearson r and Spearman rho over all answers, against score / full marks;
- the mean of per-question Pearson r (questions with at least 5 answers and varied scores);
- accuracy of the three labels, the two cut-off scores fitted on the `training` split (or, in a
  file without one, on all rows, which the report then says).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.grading import baselines
from core.grading.grader import Evidence, gather, judge

LABELS = ("Incorrect", "Partially correct", "Correct")  # in order of score
TRAINING = "training"
MIN_ANSWERS_PER_QUESTION = 5


@dataclass(frozen=True)
class Row:
    question: str
    reference: str
    answer: str
    gold: float  # the human score divided by full marks, 0..1
    split: str = "all"
    question_id: str = ""
    label: str | None = None
    key_points: tuple[str, ...] = field(default_factory=tuple)


Scorer = Callable[[Row], float]


class BadFile(ValueError):
    """A labelled file that cannot be scored; the message says which line and why."""


def load(path: Path) -> list[Row]:
    """The rows of a labelled JSON-lines file (see the module docstring)."""
    raw: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise BadFile(f"line {number}: not valid JSON ({error.msg})") from None
        missing = [
            k for k in ("question", "reference", "answer", "score") if not isinstance(item, dict)
            or k not in item
        ]  # fmt: skip
        if missing:
            raise BadFile(f"line {number}: missing field(s) {', '.join(missing)}")
        if not isinstance(item["score"], int | float):
            raise BadFile(f"line {number}: score must be a number")
        raw.append(item)
    best: dict[str, float] = defaultdict(float)
    for item in raw:
        key = str(item.get("question_id", item["question"]))
        best[key] = max(best[key], float(item["score"]))
    rows = []
    for item in raw:
        key = str(item.get("question_id", item["question"]))
        full = float(item.get("max_score") or best[key] or 1.0)
        label = item.get("label")
        points = item.get("key_points") or ()
        if not isinstance(points, list | tuple):
            raise BadFile(f"question {key}: key_points must be a list of strings")
        rows.append(
            Row(
                question=str(item["question"]),
                reference=str(item["reference"]),
                answer=str(item["answer"]),
                gold=min(1.0, float(item["score"]) / full),
                split=str(item.get("split", "all")),
                question_id=key,
                label=label if label in LABELS else None,
                key_points=tuple(str(p) for p in points),
            )
        )
    return rows


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return float("nan")
    return float(np.corrcoef(np.asarray(x, float), np.asarray(y, float))[0, 1])


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    result = [0.0] * len(values)
    i = 0
    while i < len(order):  # ties share the mean of their ranks
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2
        i = j + 1
    return result


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    return pearson(_ranks(x), _ranks(y))


def per_question_pearson(rows: Sequence[Row], scores: Sequence[float]) -> float:
    """The mean of Pearson r within each question: does the grader rank one question's answers?"""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        groups[row.question_id].append(i)
    values = [
        pearson([scores[i] for i in group], [rows[i].gold for i in group])
        for group in groups.values()
        if len(group) >= MIN_ANSWERS_PER_QUESTION
    ]
    values = [v for v in values if v == v]  # questions where everyone got the same are no test
    return statistics.fmean(values) if values else float("nan")


def label_of(score: float, cuts: tuple[float, float]) -> str:
    return LABELS[0] if score < cuts[0] else LABELS[1] if score < cuts[1] else LABELS[2]


def fit_cuts(scores: Sequence[float], labels: Sequence[str]) -> tuple[float, float]:
    """The two cut-off scores that label the most answers right (ties: the lowest cut-offs).

    With cI(t), cP(t), cC(t) the answers of each label scoring below t, cut-offs (a, b) label
    cI(a) + cP(b) - cP(a) + nC - cC(b) right: the best a for each b is a running maximum."""
    values = np.asarray(scores, float)
    candidates = np.unique(np.concatenate([values, [values.max() + 1.0]]))
    below = {
        label: np.searchsorted(np.sort(values[np.asarray(labels) == label]), candidates, "left")
        for label in LABELS
    }
    low_part = below[LABELS[0]] - below[LABELS[1]]
    high_part = below[LABELS[1]] - below[LABELS[2]]
    high = int(np.argmax(np.maximum.accumulate(low_part) + high_part))
    low = int(np.argmax(low_part[: high + 1]))
    return float(candidates[low]), float(candidates[high])


@dataclass(frozen=True)
class Figures:
    n: int
    pearson: float
    spearman: float
    per_question: float
    accuracy: float | None  # None without labels


def measure(
    rows: Sequence[Row], scores: Sequence[float], cuts: tuple[float, float] | None
) -> Figures:
    gold = [row.gold for row in rows]
    labelled = [(s, r.label) for s, r in zip(scores, rows, strict=True) if r.label is not None]
    accuracy = (
        statistics.fmean(label_of(s, cuts) == label for s, label in labelled)
        if labelled and cuts is not None
        else None
    )
    return Figures(
        n=len(rows),
        pearson=pearson(scores, gold),
        spearman=spearman(scores, gold),
        per_question=per_question_pearson(rows, scores),
        accuracy=accuracy,
    )


@dataclass(frozen=True)
class Report:
    splits: dict[str, dict[str, Figures]]  # split → grader name → figures
    cuts_from: str  # which rows the label cut-offs were fitted on
    ms_per_answer: dict[str, float]

    def table(self) -> str:
        names = list(next(iter(self.splits.values())))
        lines = [f"label cut-offs fitted on: {self.cuts_from}"]
        header = (
            f"{'split':<17} {'grader':<24} {'n':>5} {'Pearson':>8} {'Spearman':>9}"
            f" {'per-q r':>8} {'label acc':>10}"
        )
        lines += [header, "-" * len(header)]
        for split, by_name in self.splits.items():
            for name in names:
                f = by_name[name]
                accuracy = "-" if f.accuracy is None else f"{f.accuracy:.1%}"
                lines.append(
                    f"{split:<17} {name:<24} {f.n:>5} {f.pearson:>8.3f} {f.spearman:>9.3f}"
                    f" {f.per_question:>8.3f} {accuracy:>10}"
                )
        lines.append(
            "ms per answer: "
            + ", ".join(f"{name} {ms:.1f}" for name, ms in self.ms_per_answer.items())
        )
        return "\n".join(lines)


def split_order(rows: Iterable[Row]) -> list[str]:
    found = list(dict.fromkeys(row.split for row in rows))
    return sorted(found, key=lambda s: (s != TRAINING, s))


def evaluate(
    rows: Sequence[Row],
    scores: Mapping[str, Sequence[float]],
    ms_per_answer: Mapping[str, float] | None = None,
) -> Report:
    """Figures per split for each grader's `scores` (one per row, in order)."""
    training = [i for i, row in enumerate(rows) if row.split == TRAINING]
    fit_on = training or list(range(len(rows)))
    cuts_from = (
        f"the {TRAINING} split ({len(training)} answers)"
        if training
        else f"these same {len(rows)} answers (in-sample: no {TRAINING} split)"
    )
    labelled = [i for i in fit_on if rows[i].label is not None]
    cuts = {
        name: fit_cuts([values[i] for i in labelled], [rows[i].label or "" for i in labelled])
        if labelled
        else None
        for name, values in scores.items()
    }
    splits: dict[str, dict[str, Figures]] = {}
    for split in split_order(rows):
        index = [i for i, row in enumerate(rows) if row.split == split]
        chosen = [rows[i] for i in index]
        splits[split] = {
            name: measure(chosen, [values[i] for i in index], cuts[name])
            for name, values in scores.items()
        }
    return Report(splits, cuts_from, dict(ms_per_answer or {}))


def evidence_for(rows: Sequence[Row], semantic: bool) -> tuple[list[Evidence], float]:
    """What the grader measures for each row, and the milliseconds per answer it took."""
    started = time.perf_counter()
    found = [
        gather(
            question=r.question, reference=r.reference, answer=r.answer,
            key_points=r.key_points or None, semantic=semantic,
        )
        for r in rows
    ]  # fmt: skip
    return found, (time.perf_counter() - started) * 1000 / max(len(rows), 1)


BASELINES: dict[str, Scorer] = {
    "word recall": lambda r: baselines.word_recall(r.reference, r.answer),
    "sentence cosine": lambda r: baselines.cosine(r.reference, r.answer),
    "blend 50/50": lambda r: baselines.blend(r.reference, r.answer),
}


def score_rows(
    rows: Sequence[Row], *, semantic: bool = True
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Scores of the grader (with the model, and on words alone) and of the naive baselines,
    with the milliseconds per answer of each. `semantic=False`: no model, word recall only."""
    scores: dict[str, list[float]] = {}
    ms: dict[str, float] = {}
    graders = (("grader", True), ("grader, words only", False)) if semantic else (
        ("grader, words only", False),
    )  # fmt: skip
    for name, with_model in graders:
        evidence, ms[name] = evidence_for(rows, with_model)
        scores[name] = [judge(e).score for e in evidence]
    for name, scorer in BASELINES.items():
        if not semantic and name != "word recall":
            continue
        started = time.perf_counter()
        scores[name] = [scorer(row) for row in rows]
        ms[name] = (time.perf_counter() - started) * 1000 / max(len(rows), 1)
    return scores, ms
