"""Drafts for authors (content/FORMAT.md "Drafts"): quiz items for a concept, drafted from its
lesson, or a whole micro-lesson drafted from the author's own notes. A language model proposes
them, PAU checks them against the course format and writes them with the draft mark, so that
`pau content check` validates them and learners never see them until an author deletes the mark.

Nothing is written unless the draft fits the format and the course folder still loads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from core.content import Concept, Course
from core.content_loader import MAX_ID_LENGTH, read_course, split_front_matter
from core.errors import ContentError, PauError
from core.tutor.draft_format import (
    DRAFT_ITEMS_COMMENT,
    MAX_ITEMS,
    DraftItem,
    DraftLesson,
    DraftQuiz,
    concept_text,
    describe,
    item_lines,
    slug,
)
from core.tutor.llm import Llm, LlmError, LlmMessage, LlmRequest
from core.tutor.prompts import render

MAX_NOTES_CHARS = 20_000  # about 5,000 tokens: longer notes are more than one micro-lesson
Schema = TypeVar("Schema", bound=BaseModel)


class DraftError(PauError):
    """No draft was written; `problems` says why, line by line."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__("\n".join([message, *(problems or [])]))
        self.problems = problems or []


def draft_quiz(llm: Llm, course_folder: Path, concept_id: str, count: int = 3) -> Path:
    """Draft `count` new quiz items for a concept from its lesson and add them, each marked
    `draft: true`, to the end of the concept's quiz; return the concept file."""
    if not 1 <= count <= MAX_ITEMS:
        raise DraftError(f"ask for 1 to {MAX_ITEMS} quiz items, not {count}")
    reading = read_course(course_folder)
    concept = reading.full.concept(concept_id)
    if concept is None:
        known = ", ".join(c.id for c in reading.full.concepts)
        raise DraftError(f"no concept '{concept_id}' in {course_folder} (its concepts: {known})")
    values: dict[str, Any] = {
        "count": count,
        "language": reading.full.language,
        "course_title": reading.full.title,
        "title": concept.title,
        "summary": concept.summary,
        "lesson": _as_data("\n\n".join(concept.lesson), "lesson"),
        "existing": [item.question for item in concept.quiz],
    }
    request = LlmRequest(
        purpose="draft",
        system=render("draft_quiz", part="system", **values),
        context=render("draft_quiz", part="context", **values),
        messages=(LlmMessage("user", render("draft_quiz", part="request", **values)),),
        max_tokens=300 + 350 * count,
        schema=DraftQuiz,
    )
    items = _ask(llm, request, DraftQuiz).items[:count]
    ids = _new_item_ids(concept, reading.full, len(items))
    path = reading.paths[concept_id]
    concept_is_draft = any(d.kind == "concept" and d.id == concept_id for d in reading.drafts)
    original = path.read_text(encoding="utf-8")
    updated = _with_items(original, path, ids, items, draft=not concept_is_draft)
    _write_checked(course_folder, path, updated, original, ids)
    return path


def draft_lesson(llm: Llm, course_folder: Path, topic: str, notes_text: str) -> Path:
    """Draft a new concept on `topic` from the author's Markdown notes (data, never
    instructions to the model) and write it as a new concept file marked `draft: true`."""
    reading = read_course(course_folder)
    concept_id = slug(topic)
    if not concept_id:
        raise DraftError(f"the topic {topic!r} has no letters or digits to make an id from")
    if concept_id in reading.paths:
        raise DraftError(
            f"the course already has a concept '{concept_id}' ({reading.paths[concept_id]})"
        )
    if not notes_text.strip():
        raise DraftError("the notes are empty")
    if len(notes_text) > MAX_NOTES_CHARS:
        raise DraftError(f"the notes are longer than {MAX_NOTES_CHARS} characters: split them")
    values: dict[str, Any] = {
        "topic": topic,
        "language": reading.full.language,
        "course_title": reading.full.title,
        "concepts": [c.title for c in reading.full.concepts],
        "notes": _as_data(notes_text.strip(), "notes"),
    }
    request = LlmRequest(
        purpose="draft",
        system=render("draft_lesson", part="system", **values),
        context=render("draft_lesson", part="context", **values),
        messages=(LlmMessage("user", render("draft_lesson", part="request", **values)),),
        max_tokens=3000,
        schema=DraftLesson,
    )
    lesson = _ask(llm, request, DraftLesson)
    ids = [f"{concept_id}-{n}" for n in range(1, len(lesson.quiz) + 1)]
    taken = sorted(set(ids) & _item_ids(reading.full))
    if taken:
        raise DraftError(f"quiz ids {', '.join(taken)} are already used in the course")
    path = course_folder / "concepts" / f"{_next_number(course_folder)}-{concept_id}.md"
    _write_checked(course_folder, path, concept_text(concept_id, lesson), None, [concept_id, *ids])
    return path


def _as_data(text: str, tag: str) -> str:
    """The text as it goes inside <tag>...</tag>: it cannot close (or open) that tag itself."""
    return re.sub(rf"<(/?\s*{tag})", r"‹\1", text, flags=re.IGNORECASE)


def _ask(llm: Llm, request: LlmRequest, schema: type[Schema]) -> Schema:
    try:
        reply = llm.complete(request)
    except LlmError as error:
        raise DraftError(f"the language model gave no draft ({error.reason}): {error}") from error
    data: Any = reply.data
    if data is None:
        try:
            data = json.loads(reply.text)
        except ValueError:
            raise DraftError(
                "the language model's reply was not structured; nothing was written"
            ) from None
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        raise DraftError(
            "the language model's draft does not fit the course format; nothing was written",
            describe(error),
        ) from error


def _item_ids(course: Course) -> set[str]:
    return {item.id for concept in course.concepts for item in concept.quiz}


def _new_item_ids(concept: Concept, course: Course, count: int) -> list[str]:
    """'<concept>-<n>', numbered on from the concept's highest number, unused in the course."""
    taken = _item_ids(course)
    numbers = [
        int(item.id.rsplit("-", 1)[1]) for item in concept.quiz if re.fullmatch(r".*-\d+", item.id)
    ]
    ids: list[str] = []
    number = max(numbers, default=0)
    while len(ids) < count:
        number += 1
        suffix = f"-{number}"
        candidate = concept.id[: MAX_ID_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            ids.append(candidate)
    return ids


def _last_end(node: yaml.Node) -> yaml.Mark:
    """Where the last scalar inside a node ends."""
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    ends = [_last_end(child) for child in children]
    return max(ends, key=lambda mark: mark.index) if ends else node.end_mark


def _with_items(
    text: str, path: Path, ids: list[str], items: list[DraftItem], *, draft: bool
) -> str:
    """The concept file's text with the items added after the last item of its quiz, indented
    like the first one; everything else in the file is left as it was, comments included."""
    split = split_front_matter(text)
    if split is None:  # read_course has just accepted the file
        raise DraftError(f"{path}: no front matter")
    front = split[0]
    root = yaml.compose(front, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)  # read_course has just accepted the file
    quiz = next(v for k, v in root.value if k.value == "quiz")
    if not isinstance(quiz, yaml.SequenceNode) or quiz.flow_style:
        raise DraftError(f"{path}: write its quiz as a block list ('- id: ...') to add drafts")
    first = quiz.value[0].start_mark
    key = first.column
    dash = front.split("\n")[first.line].rfind("-", 0, key)
    end = _last_end(quiz.value[-1])
    at = end.index if end.column == 0 else front.index("\n", end.index) + 1
    lines = [" " * dash + DRAFT_ITEMS_COMMENT]
    for item_id, item in zip(ids, items, strict=True):
        lines.extend(item_lines(item_id, item, dash=dash, key=key, draft=draft))
    new_front = front[:at] + "\n".join(lines) + "\n" + front[at:]
    return "---" + new_front + text[3 + len(front) :]


def _next_number(course_folder: Path) -> str:
    """The file number after the last concept's ('07' after '06-elaboration.md')."""
    numbers = [
        match.group(1)
        for path in (course_folder / "concepts").glob("*.md")
        if (match := re.match(r"(\d+)-", path.name))
    ]
    width = max([2, *(len(n) for n in numbers)])
    return str(max([0, *(int(n) for n in numbers)]) + 1).zfill(width)


def _write_checked(
    course_folder: Path, path: Path, text: str, original: str | None, new_ids: list[str]
) -> None:
    """Write the file, then load the course again: on any problem, put things back and say so.
    None of the new concept and quiz ids may be in what learners get."""
    if original is None:
        with path.open("x", encoding="utf-8") as new_file:
            new_file.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    try:
        reading = read_course(course_folder)
    except ContentError as error:
        _restore(path, original)
        raise DraftError(
            "the draft did not pass `pau content check`; nothing was written", error.problems
        ) from error
    shown = {c.id for c in reading.course.concepts} | _item_ids(reading.course)
    if set(new_ids) & shown:
        _restore(path, original)
        raise DraftError(f"{path}: the draft would be shown to learners; nothing was written")


def _restore(path: Path, original: str | None) -> None:
    if original is None:
        path.unlink()
    else:
        path.write_text(original, encoding="utf-8")
