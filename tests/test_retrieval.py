"""Retrieval: hybrid search (BM25 plus sentence embeddings) over the demo course.

The accuracy tests measure on the held-out half of tests/data/retrieval_questions.yaml (the
other half chose the weights and thresholds in core/retrieval.py). Floors are the measured
figures minus one question, so a real regression fails and a rounding change does not.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import yaml

from core.content import Course, FaqAnswer
from core.content_loader import load_course
from core.grading.encoder import encoder_available
from core.retrieval import CourseIndex, excerpt, index_for

DEMO_COURSE = Path(__file__).resolve().parents[1] / "content" / "science-of-learning"
QUESTIONS = Path(__file__).parent / "data" / "retrieval_questions.yaml"
needs_encoder = pytest.mark.skipif(not encoder_available(), reason="embedding model missing")


@dataclass(frozen=True)
class Question:
    text: str
    concept: str | None  # None: off-topic, nothing should be found
    split: str


@dataclass(frozen=True)
class Scores:
    top1: int
    top3: int
    on_topic: int
    rejected: int
    off_topic: int


def questions(split: str) -> list[Question]:
    rows = yaml.safe_load(QUESTIONS.read_text())["questions"]
    return [Question(r["q"], r["concept"], r["split"]) for r in rows if r["split"] == split]


@pytest.fixture(scope="module")
def course() -> Course:
    return load_course(DEMO_COURSE)


@pytest.fixture(scope="module")
def hybrid(course: Course) -> CourseIndex:
    return CourseIndex(course)


@pytest.fixture(scope="module")
def lexical(course: Course) -> CourseIndex:
    return CourseIndex(course, semantic=False)


def measure(index: CourseIndex, split: str) -> Scores:
    top1 = top3 = on_topic = rejected = off_topic = 0
    for question in questions(split):
        found = [a.passage.concept_id for a in index.search(question.text, limit=3)]
        if question.concept is None:
            off_topic += 1
            rejected += not found
        else:
            on_topic += 1
            top1 += found[:1] == [question.concept]
            top3 += question.concept in found
    return Scores(top1, top3, on_topic, rejected, off_topic)


def test_the_question_table_is_big_enough_balanced_and_names_real_concepts(
    course: Course,
) -> None:
    ids = {c.id for c in course.concepts}
    for split in ("tune", "test"):
        rows = questions(split)
        on_topic = [q for q in rows if q.concept is not None]
        assert len(on_topic) >= 20 and len(rows) - len(on_topic) >= 8
        assert {q.concept for q in on_topic} == ids  # every lesson asked about in both halves
    texts = [q.text for q in questions("tune") + questions("test")]
    assert len(texts) == len(set(texts))


@needs_encoder
def test_hybrid_held_out_accuracy_and_off_topic_rejection(hybrid: CourseIndex) -> None:
    scores = measure(hybrid, "test")
    assert (scores.on_topic, scores.off_topic) == (30, 11)
    # measured: top-1 26/30, top-3 29/30, off-topic rejected 10/11
    assert scores.top1 >= 25
    assert scores.top3 >= 28
    assert scores.rejected >= 9


def test_bm25_alone_held_out_accuracy_and_rejection(lexical: CourseIndex) -> None:
    scores = measure(lexical, "test")
    # measured: top-1 22/30, top-3 29/30, off-topic rejected 8/11
    assert scores.top1 >= 21
    assert scores.top3 >= 28
    assert scores.rejected >= 7


@needs_encoder
def test_hybrid_beats_bm25_alone_on_both_halves(hybrid: CourseIndex, lexical: CourseIndex) -> None:
    for split in ("tune", "test"):
        with_meaning, words_only = measure(hybrid, split), measure(lexical, split)
        assert with_meaning.top1 > words_only.top1
        assert with_meaning.top3 >= words_only.top3
        assert with_meaning.rejected >= words_only.rejected


@pytest.mark.parametrize("semantic", [True, False])
def test_search_returns_ranked_answers_with_relevance_in_0_1(
    course: Course, semantic: bool
) -> None:
    index = CourseIndex(course, semantic=semantic)
    found = index.search("is quizzing myself better than rereading my notes?", limit=3)
    assert 1 <= len(found) <= 3
    assert found[0].passage.concept_id == "retrieval-practice"
    relevances = [a.relevance for a in found]
    assert relevances == sorted(relevances, reverse=True)
    assert all(0.0 <= a.relevance <= 1.0 and 0.0 <= a.lexical <= 1.0 for a in found)
    assert all((a.semantic is not None) == (semantic and encoder_available()) for a in found)
    assert index.best("is quizzing myself better than rereading my notes?") == found[0]


@pytest.mark.parametrize("semantic", [True, False])
@pytest.mark.parametrize(
    "question", ["", "   ", "?!", "the and of", "What is the capital of Mongolia?"]
)
def test_nothing_relevant_is_an_empty_list_and_no_best(
    course: Course, semantic: bool, question: str
) -> None:
    index = CourseIndex(course, semantic=semantic)
    assert index.search(question) == []
    assert index.best(question) is None


def test_limit_caps_the_answers(hybrid: CourseIndex) -> None:
    assert len(hybrid.search("how does sleep help memory?", limit=1)) == 1
    assert hybrid.search("how does sleep help memory?", limit=0) == []


@needs_encoder
@pytest.mark.parametrize(
    ("question", "concept"),
    [
        ("is snoozing good after lessons?", "sleep-and-consolidation"),
        ("why do I blank out on tests even though it felt familiar", "illusions-of-competence"),
    ],
)
def test_meaning_finds_the_lesson_the_words_alone_miss(
    hybrid: CourseIndex, lexical: CourseIndex, question: str, concept: str
) -> None:
    words_only = lexical.best(question)
    assert words_only is None or words_only.passage.concept_id != concept
    best = hybrid.best(question)
    assert best is not None and best.passage.concept_id == concept


def test_a_mentors_faq_answer_is_found_by_its_question(course: Course) -> None:
    faq = FaqAnswer("Can I use the course on my phone?", "Yes, PAU works in any chat app.")
    index = CourseIndex(replace(course, faq=(faq,)))
    best = index.best("can I use this course on my phone")
    assert best is not None and best.passage.from_faq
    assert best.passage.text == "Yes, PAU works in any chat app."


def test_index_for_is_cached_per_course(course: Course) -> None:
    assert index_for(course) is index_for(load_course(DEMO_COURSE))


@needs_encoder
def test_concurrent_first_searches_embed_once_and_agree(course: Course) -> None:
    index = CourseIndex(course)
    results: list[str] = []
    vectors: list[object] = []

    def ask() -> None:
        best = index.best("why do I forget things so quickly?")
        results.append(best.passage.concept_id if best else "")
        vectors.append(index._passage_vectors())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["forgetting-curve"] * 4
    assert all(v is vectors[0] for v in vectors)


def test_excerpt_keeps_short_passages_and_trims_long_ones_to_matching_sentences() -> None:
    assert excerpt("Short passage.", "anything") == "Short passage."
    long = " ".join(f"Sentence {i} is about filler words." for i in range(20))
    long += " Sleep helps memory consolidation."
    cut = excerpt(long, "sleep consolidation", max_chars=80)
    assert "Sleep helps memory consolidation." in cut and len(cut) <= 120
