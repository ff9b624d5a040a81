"""What a drafting model must return (pydantic schemas in the course format, content/FORMAT.md)
and how a checked draft is written as course YAML with its draft mark.

The limits are those of the chat platforms (a Telegram quiz: question 300, option 100,
explanation 200 characters) and of the format (2..6 options, 2..5 key points)."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from core.content_loader import BUBBLE_SEPARATOR, MAX_ID_LENGTH

QuizTypeName = Literal["multiple_choice", "true_false", "cloze", "short_answer"]
MAX_ITEMS = 10  # the most quiz items one request may draft
DRAFT_COMMENT = "# draft: review it, then delete the line 'draft: true' to publish it"
DRAFT_ITEMS_COMMENT = "# drafts: review them, then delete each 'draft: true' to publish it"


class DraftItem(BaseModel):
    """One quiz item as the model proposes it; the id is given by PAU, not the model."""

    type: QuizTypeName
    question: str = Field(min_length=10, max_length=300)
    options: list[str] = Field(default_factory=list, max_length=6)
    answer: int | bool | str = Field(
        description="multiple_choice: the 0-based index of the right option; true_false: "
        "true or false; cloze and short_answer: the expected answer, a word or short phrase"
    )
    accept: list[str] = Field(default_factory=list, max_length=6)
    explanation: str = Field(min_length=10, max_length=200)
    difficulty: int = Field(default=1, ge=1, le=3)

    @model_validator(mode="after")
    def _fits_its_type(self) -> DraftItem:
        if self.type == "multiple_choice":
            if not 2 <= len(self.options) <= 6:
                raise ValueError(
                    f"a multiple_choice item needs 2..6 options, not {len(self.options)}"
                )
            for option in self.options:
                if not option.strip() or len(option) > 100:
                    raise ValueError(f"option {option!r} must have 1..100 characters")
            if len({option.strip().casefold() for option in self.options}) < len(self.options):
                raise ValueError("two options are the same")
            last = len(self.options) - 1
            if not isinstance(self.answer, int) or isinstance(self.answer, bool):
                raise ValueError(f"answer {self.answer!r} must be an option index (0..{last})")
            if not 0 <= self.answer <= last:
                raise ValueError(f"answer {self.answer} is not an option index (0..{last})")
        elif self.type == "true_false":
            if not isinstance(self.answer, bool):
                raise ValueError(
                    f"answer {self.answer!r} of a true_false item must be true or false"
                )
            self.options = []
        else:
            if not isinstance(self.answer, str) or not self.answer.strip():
                raise ValueError(f"answer {self.answer!r} of a {self.type} item must be a text")
            if len(self.answer) > 60:
                raise ValueError("a typed answer must be a word or a short phrase (60 characters)")
            if self.type == "cloze" and "___" not in self.question:
                raise ValueError("a cloze question needs a ___ blank")
            self.options = []
        return self


class DraftQuiz(BaseModel):
    """The reply to draft_quiz.j2."""

    items: list[DraftItem] = Field(min_length=1, max_length=MAX_ITEMS)


class DraftLesson(BaseModel):
    """The reply to draft_lesson.j2: one concept in the course format."""

    title: str = Field(min_length=3, max_length=80)
    summary: str = Field(min_length=10, max_length=300)
    difficulty: int = Field(default=1, ge=1, le=3)
    lesson: list[str] = Field(min_length=1, max_length=3, description="chat bubbles, plain text")
    quiz: list[DraftItem] = Field(min_length=3, max_length=5)
    reflection: str = Field(min_length=10, max_length=300)
    explain_back_prompt: str = Field(min_length=10, max_length=300)
    key_points: list[str] = Field(min_length=2, max_length=5)

    @model_validator(mode="after")
    def _fits_the_format(self) -> DraftLesson:
        for bubble in self.lesson:
            if not 20 <= len(bubble.strip()) <= 2000:
                raise ValueError("each lesson bubble must have 20..2000 characters")
            if BUBBLE_SEPARATOR.search(bubble):
                raise ValueError("a lesson bubble must not contain a line '+++'")
        for point in self.key_points:
            if not 3 <= len(point.strip()) <= 150:
                raise ValueError(f"key point {point!r} must have 3..150 characters")
        return self


def describe(error: ValidationError) -> list[str]:
    """Pydantic's complaints as short lines an author can read: 'items[2]: answer 5 is ...'."""
    lines = []
    for problem in error.errors():
        where = ""
        for part in problem["loc"]:
            where += f"[{part + 1}]" if isinstance(part, int) else f".{part}"
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{where.lstrip('.') or 'reply'}: {message}")
    return lines


def slug(text: str, limit: int = MAX_ID_LENGTH - 3) -> str:
    """A concept id from a topic: ASCII lower case, digits and dashes, short enough for its quiz
    ids ('<id>-12') to fit MAX_ID_LENGTH."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    while len(words) > limit and "-" in words:
        words = words.rsplit("-", 1)[0]
    return words[:limit].strip("-")


def _text(value: str) -> str:
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(value.strip(), ensure_ascii=False)


def item_lines(item_id: str, item: DraftItem, *, dash: int, key: int, draft: bool) -> list[str]:
    """A quiz item in the course format: its '- id:' at column `dash`, its keys at `key`."""
    pad = " " * key
    lines = [" " * dash + "-" + " " * (key - dash - 1) + f"id: {item_id}"]
    if draft:
        lines.append(f"{pad}draft: true")
    lines.append(f"{pad}type: {item.type}")
    lines.append(f"{pad}question: {_text(item.question)}")
    if item.type == "multiple_choice":
        lines.append(f"{pad}options:")
        lines.extend(f"{pad}  - {_text(option)}" for option in item.options)
    answer = item.answer
    if isinstance(answer, bool):
        lines.append(f"{pad}answer: {'true' if answer else 'false'}")
    elif isinstance(answer, int):
        lines.append(f"{pad}answer: {answer}")
    else:
        lines.append(f"{pad}answer: {_text(answer)}")
        accepted = [a for a in item.accept if a.strip()]
        if accepted:
            lines.append(f"{pad}accept: [{', '.join(_text(a) for a in accepted)}]")
    lines.append(f"{pad}explanation: {_text(item.explanation)}")
    lines.append(f"{pad}difficulty: {item.difficulty}")
    return lines


def concept_text(concept_id: str, lesson: DraftLesson) -> str:
    """A whole concept file marked draft (the lesson's quiz items carry no mark of their own:
    a draft concept is a draft with everything in it)."""
    lines = [
        "---",
        DRAFT_COMMENT,
        f"id: {concept_id}",
        "draft: true",
        f"title: {_text(lesson.title)}",
        f"summary: {_text(lesson.summary)}",
        "prerequisites: []",
        f"difficulty: {lesson.difficulty}",
        "quiz:",
    ]
    for number, item in enumerate(lesson.quiz, 1):
        lines.extend(item_lines(f"{concept_id}-{number}", item, dash=2, key=4, draft=False))
    lines += [
        f"reflection: {_text(lesson.reflection)}",
        "explain_back:",
        f"  prompt: {_text(lesson.explain_back_prompt)}",
        "  key_points:",
        *(f"    - {_text(point)}" for point in lesson.key_points),
        "---",
    ]
    body = "\n\n+++\n\n".join(bubble.strip() for bubble in lesson.lesson)
    return "\n".join(lines) + "\n" + body + "\n"
