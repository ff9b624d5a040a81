"""The course model: concepts with prerequisites, micro-lessons, quiz items and prompts."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum


class QuizType(StrEnum):
    MULTIPLE_CHOICE = "multiple_choice"
    TRUE_FALSE = "true_false"
    CLOZE = "cloze"
    SHORT_ANSWER = "short_answer"


@dataclass(frozen=True)
class QuizItem:
    id: str
    concept_id: str
    type: QuizType
    question: str
    explanation: str
    options: tuple[str, ...] = ()  # multiple choice and true/false
    correct_index: int | None = None  # multiple choice and true/false
    answers: tuple[str, ...] = ()  # cloze and short answer: the answer, then accepted variants
    difficulty: int = 1

    @property
    def has_options(self) -> bool:
        return self.type in (QuizType.MULTIPLE_CHOICE, QuizType.TRUE_FALSE)

    def is_correct_text(self, text: str) -> bool:
        """Whether a typed answer to a cloze or short-answer item is right."""
        given = normalize(text)
        return any(given == normalize(answer) for answer in self.answers)

    @property
    def correct_answer(self) -> str:
        if self.has_options and self.correct_index is not None:
            return self.options[self.correct_index]
        return self.answers[0]


@dataclass(frozen=True)
class ExplainBack:
    prompt: str
    key_points: tuple[str, ...]


@dataclass(frozen=True)
class Concept:
    id: str
    title: str
    summary: str
    prerequisites: tuple[str, ...]
    difficulty: int
    lesson: tuple[str, ...]  # chat bubbles
    quiz: tuple[QuizItem, ...]
    reflection: str
    explain_back: ExplainBack
    order: int = 0


@dataclass(frozen=True)
class FaqAnswer:
    """A mentor's answer saved for the course (from the admin page): retrieval finds it next
    time a learner asks something like it."""

    question: str
    answer: str
    concept_id: str = ""


@dataclass(frozen=True)
class Course:
    slug: str
    title: str
    description: str
    language: str
    version: int
    concepts: tuple[Concept, ...] = field(default_factory=tuple)
    faq: tuple[FaqAnswer, ...] = ()

    def concept(self, concept_id: str) -> Concept | None:
        return next((c for c in self.concepts if c.id == concept_id), None)

    def quiz_item(self, item_id: str) -> QuizItem | None:
        for concept in self.concepts:
            for item in concept.quiz:
                if item.id == item_id:
                    return item
        return None

    def next_lesson(self, completed: set[str]) -> Concept | None:
        """The first concept, in course order, not yet studied whose prerequisites are all done."""
        for concept in self.concepts:
            if concept.id not in completed and all(p in completed for p in concept.prerequisites):
                return concept
        return None


def normalize(text: str) -> str:
    """Lower-case, accents and punctuation removed, whitespace collapsed: for comparing answers."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^\w]+", " ", stripped.casefold()).strip()
