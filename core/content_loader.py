"""Read a course folder (content/FORMAT.md), validate it and report problems as `file:line: ...`.

Drafts (a concept or a quiz item marked `draft: true`, FORMAT.md "Drafts") are validated like
everything else but left out of the Course learners get; `read_course` also lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from core.content import Concept, Course, ExplainBack, QuizItem, QuizType
from core.errors import ContentError

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_ID_LENGTH = 40  # ids travel in button data ("answer:<item>:<n>"), 64 bytes on Telegram
BUBBLE_SEPARATOR = re.compile(r"^\+\+\+\s*$", re.MULTILINE)


class Located(dict[str, Any]):
    """A YAML mapping that remembers the file line of each key."""

    line: int
    lines: dict[str, int]


def _to_python(node: yaml.Node, first_line: int) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = Located()
        result.line = node.start_mark.line + first_line
        result.lines = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            result[key] = _to_python(value_node, first_line)
            result.lines[key] = key_node.start_mark.line + first_line
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, first_line) for item in node.value]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


@dataclass(frozen=True)
class Draft:
    """A concept or quiz item an author has not published yet."""

    path: Path
    line: int
    kind: str  # "concept" | "quiz item"
    id: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} '{self.id}'"


@dataclass(frozen=True)
class CourseReading:
    """A valid course folder: `course` is what learners get (no drafts); `full` has the drafts
    too (for authoring tools); `paths` maps every concept id to its file."""

    course: Course
    full: Course
    drafts: tuple[Draft, ...]
    paths: dict[str, Path]


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: Path, line: int, message: str) -> None:
        self.items.append(f"{path}:{line}: {message}")


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, line where the front matter starts) or None if there is none."""
    if not text.startswith("---"):
        return None
    end = re.search(r"^---\s*$", text[3:], re.MULTILINE)
    if end is None:
        return None
    front = text[3 : 3 + end.start()]
    body = text[3 + end.end() :]
    return front, body, 1


def _parse_yaml(path: Path, text: str, first_line: int, problems: _Problems) -> Located | None:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + first_line if mark else first_line
        problems.add(path, line, f"invalid YAML: {getattr(error, 'problem', error)}")
        return None
    data = _to_python(node, first_line) if node is not None else None
    if not isinstance(data, Located):
        problems.add(path, first_line, "expected a mapping of fields")
        return None
    return data


def _require(data: Located, key: str, path: Path, problems: _Problems) -> Any:
    value = data.get(key)
    if value is None or value == "" or value == []:
        problems.add(path, data.line, f"missing field '{key}'")
        return None
    return value


def _line(data: Located, key: str) -> int:
    return data.lines.get(key, data.line)


def _check_id(value: str, path: Path, line: int, problems: _Problems) -> None:
    if not ID_PATTERN.match(value):
        problems.add(path, line, f"id '{value}' must be lower-case letters, digits and dashes")
    elif len(value) > MAX_ID_LENGTH:
        problems.add(path, line, f"id '{value}' is longer than {MAX_ID_LENGTH} characters")


def _is_draft(data: Located, path: Path, problems: _Problems) -> bool:
    """The draft mark: `draft: true`; absent or `draft: false` is published."""
    mark = data.get("draft", False)
    if not isinstance(mark, bool):
        problems.add(path, _line(data, "draft"), "draft must be true or false")
        return False  # the course is rejected anyway; no other problem follows from this one
    return mark


def _parse_quiz_item(raw: Any, concept_id: str, path: Path, problems: _Problems) -> QuizItem | None:
    if not isinstance(raw, Located):
        problems.add(path, 1, f"quiz item in '{concept_id}' must be a mapping")
        return None
    item_id = _require(raw, "id", path, problems)
    if item_id is not None:
        _check_id(str(item_id), path, _line(raw, "id"), problems)
    question = _require(raw, "question", path, problems)
    explanation = _require(raw, "explanation", path, problems)
    type_name = raw.get("type", "multiple_choice")
    try:
        quiz_type = QuizType(type_name)
    except ValueError:
        problems.add(path, _line(raw, "type"), f"unknown quiz type '{type_name}'")
        return None
    options: tuple[str, ...] = ()
    correct: int | None = None
    answers: tuple[str, ...] = ()
    answer = raw.get("answer")
    if quiz_type is QuizType.MULTIPLE_CHOICE:
        options = tuple(str(o) for o in raw.get("options") or [])
        if len(options) < 2:
            problems.add(path, _line(raw, "options"), f"quiz '{item_id}' needs at least 2 options")
        if (
            not isinstance(answer, int)
            or isinstance(answer, bool)
            or not 0 <= answer < len(options)
        ):
            problems.add(
                path,
                _line(raw, "answer"),
                f"quiz '{item_id}' has no correct option (answer must be an option index)",
            )
        else:
            correct = answer
    elif quiz_type is QuizType.TRUE_FALSE:
        options = ("True", "False")
        if not isinstance(answer, bool):
            problems.add(
                path,
                _line(raw, "answer"),
                f"quiz '{item_id}' has no correct option (true or false)",
            )
        else:
            correct = 0 if answer else 1
    else:
        accept = [str(a) for a in raw.get("accept") or []]
        if answer is None or str(answer).strip() == "":
            problems.add(path, _line(raw, "answer"), f"quiz '{item_id}' has no correct answer")
        else:
            answers = (str(answer), *accept)
        if quiz_type is QuizType.CLOZE and "___" not in str(question or ""):
            problems.add(path, _line(raw, "question"), f"cloze '{item_id}' has no ___ blank")
    if None in (item_id, question, explanation) or (correct is None and not answers):
        return None
    return QuizItem(
        id=str(item_id),
        concept_id=concept_id,
        type=quiz_type,
        question=str(question).strip(),
        explanation=str(explanation).strip(),
        options=options,
        correct_index=correct,
        answers=answers,
        difficulty=int(raw.get("difficulty") or 1),
    )


@dataclass(frozen=True)
class _Parsed:
    concept: Concept  # with every quiz item, drafts included
    data: Located
    draft: bool
    draft_items: dict[str, int]  # id -> line of the quiz items marked draft


def _parse_concept(path: Path, order: int, problems: _Problems) -> _Parsed | None:
    text = path.read_text(encoding="utf-8")
    split = split_front_matter(text)
    if split is None:
        problems.add(path, 1, "missing YAML front matter (a first line '---')")
        return None
    front, body, first_line = split
    data = _parse_yaml(path, front, first_line, problems)
    if data is None:
        return None
    concept_id = _require(data, "id", path, problems)
    title = _require(data, "title", path, problems)
    reflection = _require(data, "reflection", path, problems)
    raw_quiz = _require(data, "quiz", path, problems)
    raw_explain = _require(data, "explain_back", path, problems)
    if concept_id is not None:
        _check_id(str(concept_id), path, _line(data, "id"), problems)
    draft = _is_draft(data, path, problems)
    quiz_items: list[QuizItem] = []
    draft_items: dict[str, int] = {}
    if isinstance(raw_quiz, list):
        for raw in raw_quiz:
            item = _parse_quiz_item(raw, str(concept_id), path, problems)
            if item is not None:
                quiz_items.append(item)
                if _is_draft(raw, path, problems):
                    draft_items[item.id] = _line(raw, "draft")
    elif raw_quiz is not None:
        problems.add(path, _line(data, "quiz"), "quiz must be a list of items")
    explain: ExplainBack | None = None
    if isinstance(raw_explain, Located):
        prompt = _require(raw_explain, "prompt", path, problems)
        points = _require(raw_explain, "key_points", path, problems)
        if prompt and isinstance(points, list):
            explain = ExplainBack(str(prompt).strip(), tuple(str(p) for p in points))
    elif raw_explain is not None:
        problems.add(
            path, _line(data, "explain_back"), "explain_back needs a prompt and key_points"
        )
    prerequisites = data.get("prerequisites") or []
    if not isinstance(prerequisites, list):
        problems.add(path, _line(data, "prerequisites"), "prerequisites must be a list of ids")
        prerequisites = []
    bubbles = tuple(b.strip() for b in BUBBLE_SEPARATOR.split(body) if b.strip())
    if not bubbles:
        problems.add(
            path,
            front.count("\n") + 3,
            "the micro-lesson (the text after the front matter) is empty",
        )
    if concept_id is None:
        return None
    # With other problems the concept still joins the graph check (so one bad quiz item does
    # not also make every dependent concept's prerequisite "unknown"); the course is rejected.
    concept = Concept(
        id=str(concept_id),
        title=str(title or ""),
        summary=str(data.get("summary") or ""),
        prerequisites=tuple(str(p) for p in prerequisites),
        difficulty=int(data.get("difficulty") or 1),
        lesson=bubbles,
        quiz=tuple(quiz_items),
        reflection=str(reflection or "").strip(),
        explain_back=explain or ExplainBack("", ()),
        order=order,
    )
    return _Parsed(concept, data, draft, draft_items)


def _check_graph(located: list[tuple[Concept, Located, Path]], problems: _Problems) -> None:
    by_id = {concept.id: (concept, data, path) for concept, data, path in located}
    for concept, data, path in located:
        for prerequisite in concept.prerequisites:
            if prerequisite not in by_id:
                problems.add(
                    path, _line(data, "prerequisites"), f"unknown prerequisite '{prerequisite}'"
                )
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()

    def visit(concept_id: str, trail: list[str]) -> None:
        state[concept_id] = 1
        for prerequisite in by_id[concept_id][0].prerequisites:
            if prerequisite not in by_id:
                continue
            if state.get(prerequisite) == 1:
                cycle = [*trail[trail.index(prerequisite) :], prerequisite]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    _, data, path = by_id[concept_id]
                    problems.add(path, _line(data, "prerequisites"), "cycle: " + " -> ".join(cycle))
            elif prerequisite not in state:
                visit(prerequisite, [*trail, prerequisite])
        state[concept_id] = 2

    for concept_id in by_id:
        if concept_id not in state:
            visit(concept_id, [concept_id])


def load_course(folder: Path) -> Course:
    """Parse and validate a course folder; raise ContentError listing every problem found.
    The Course is what learners get: drafts are validated but left out."""
    return read_course(folder).course


def read_course(folder: Path) -> CourseReading:
    """Parse and validate a course folder, drafts included; raise ContentError listing every
    problem found."""
    problems = _Problems()
    course_file = folder / "course.yaml"
    meta: Located | None = None
    if not course_file.exists():
        problems.add(course_file, 1, "missing course.yaml")
    else:
        meta = _parse_yaml(course_file, course_file.read_text(encoding="utf-8"), 1, problems)
        if meta is not None:
            for key in ("slug", "title"):
                _require(meta, key, course_file, problems)
            if meta.get("slug"):
                _check_id(str(meta["slug"]), course_file, _line(meta, "slug"), problems)
    concept_files = sorted((folder / "concepts").glob("*.md"))
    if not concept_files:
        problems.add(folder / "concepts", 1, "no concept files (concepts/*.md)")
    parsed_concepts: list[tuple[_Parsed, Path]] = []
    seen_concepts: dict[str, str] = {}
    seen_items: dict[str, str] = {}
    for order, path in enumerate(concept_files):
        parsed = _parse_concept(path, order, problems)
        if parsed is None:
            continue
        concept, data = parsed.concept, parsed.data
        if concept.id in seen_concepts:
            problems.add(
                path,
                _line(data, "id"),
                f"duplicate concept id '{concept.id}' (also in {seen_concepts[concept.id]})",
            )
            continue
        seen_concepts[concept.id] = str(path)
        for item in concept.quiz:
            if item.id in seen_items:
                problems.add(
                    path,
                    _line(data, "quiz"),
                    f"duplicate quiz id '{item.id}' (also in {seen_items[item.id]})",
                )
            seen_items[item.id] = str(path)
        parsed_concepts.append((parsed, path))
    _check_graph([(p.concept, p.data, path) for p, path in parsed_concepts], problems)
    _check_drafts(parsed_concepts, problems)
    if problems.items or meta is None:
        raise ContentError(problems.items)
    full = Course(
        slug=str(meta["slug"]),
        title=str(meta["title"]),
        description=str(meta.get("description") or ""),
        language=str(meta.get("language") or "en"),
        version=int(meta.get("version") or 1),
        concepts=tuple(p.concept for p, _ in parsed_concepts),
    )
    published = [p for p, _ in parsed_concepts if not p.draft]
    # Numbered among published concepts only, so adding a draft changes nothing learners get
    # (nor the course's content hash, nor its revision on import).
    learners = replace(
        full,
        concepts=tuple(
            replace(
                p.concept,
                order=order,
                quiz=tuple(i for i in p.concept.quiz if i.id not in p.draft_items),
            )
            for order, p in enumerate(published)
        ),
    )
    drafts: list[Draft] = []
    for parsed, path in parsed_concepts:
        if parsed.draft:
            drafts.append(Draft(path, _line(parsed.data, "draft"), "concept", parsed.concept.id))
        else:
            drafts.extend(
                Draft(path, line, "quiz item", i) for i, line in parsed.draft_items.items()
            )
    return CourseReading(
        course=learners,
        full=full,
        drafts=tuple(drafts),
        paths={p.concept.id: path for p, path in parsed_concepts},
    )


def _check_drafts(parsed_concepts: list[tuple[_Parsed, Path]], problems: _Problems) -> None:
    """What learners get must stand without the drafts."""
    drafts = {p.concept.id for p, _ in parsed_concepts if p.draft}
    for parsed, path in parsed_concepts:
        if parsed.draft:
            continue
        for prerequisite in parsed.concept.prerequisites:
            if prerequisite in drafts:
                problems.add(
                    path,
                    _line(parsed.data, "prerequisites"),
                    f"prerequisite '{prerequisite}' is a draft (publish it first)",
                )
        if parsed.concept.quiz and len(parsed.draft_items) == len(parsed.concept.quiz):
            problems.add(
                path,
                _line(parsed.data, "quiz"),
                f"every quiz item of '{parsed.concept.id}' is a draft: publish at least one",
            )


def find_course_folders(path: Path) -> list[Path]:
    """A course folder itself, or every course folder directly inside `path`."""
    if (path / "course.yaml").exists():
        return [path]
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / "course.yaml").exists())
