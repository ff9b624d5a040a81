"""The course format: `pau content check` reports file:line problems; the demo course is complete."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.content import Course, QuizType
from core.content_loader import load_course
from core.errors import ContentError
from tests.conftest import DEMO_COURSE
from webhooks.cli import main


def copy_course(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, fragment: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


def problems(folder: Path) -> list[str]:
    with pytest.raises(ContentError) as raised:
        load_course(folder)
    return raised.value.problems


def test_unknown_prerequisite_is_reported_at_its_line(tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    spacing = folder / "concepts" / "03-spacing.md"
    edit(spacing, "prerequisites: [forgetting-curve]", "prerequisites: [forgetting-curves]")
    assert problems(folder) == [
        f"{spacing}:{line_of(spacing, 'prerequisites:')}: unknown prerequisite 'forgetting-curves'"
    ]


def test_a_cycle_is_reported(tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    first = folder / "concepts" / "01-forgetting-curve.md"
    edit(first, "prerequisites: []", "prerequisites: [spacing]")
    [problem] = problems(folder)
    spacing = folder / "concepts" / "03-spacing.md"
    assert problem in (
        f"{spacing}:{line_of(spacing, 'prerequisites:')}: cycle: forgetting-curve -> spacing -> forgetting-curve",
        f"{first}:{line_of(first, 'prerequisites:')}: cycle: spacing -> forgetting-curve -> spacing",
    )


def test_a_quiz_without_a_correct_option_is_reported(tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    path = folder / "concepts" / "01-forgetting-curve.md"
    answer_line = line_of(path, "answer: 0")
    edit(path, "answer: 0", "answer: 7")
    [problem] = problems(folder)
    assert (
        problem
        == f"{path}:{answer_line}: quiz 'forgetting-curve-1' has no correct option (answer must be an option index)"
    )


def test_a_missing_field_is_reported(tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    path = folder / "concepts" / "02-retrieval-practice.md"
    text = path.read_text()
    start = text.index("reflection:")
    end = text.index("\n", start)
    path.write_text(text[:start] + text[end + 1 :])
    assert problems(folder) == [f"{path}:2: missing field 'reflection'"]


def test_invalid_yaml_and_empty_lessons_are_reported(tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    path = folder / "concepts" / "04-illusions-of-competence.md"
    edit(path, "title:", "title: [unclosed\ntitle2:")
    assert any(p.startswith(f"{path}:") and "invalid YAML" in p for p in problems(folder))


def test_pau_content_check_prints_problems_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_course(tmp_path)
    edit(
        folder / "concepts" / "03-spacing.md",
        "prerequisites: [forgetting-curve]",
        "prerequisites: [nope]",
    )
    assert main(["content", "check", str(folder)]) == 1
    assert "03-spacing.md:" in capsys.readouterr().err
    assert main(["content", "check", str(DEMO_COURSE)]) == 0
    assert "ok: science-of-learning: 10 concepts" in capsys.readouterr().out


def test_pau_content_import_twice_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhooks.config import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    get_settings.cache_clear()
    try:
        assert main(["content", "import", str(DEMO_COURSE.parent)]) == 0
        assert main(["content", "import", str(DEMO_COURSE.parent)]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "created: science-of-learning (revision 1" in out
    assert "unchanged: science-of-learning (revision 1" in out


def test_the_demo_course_is_complete(demo_course: Course) -> None:
    assert len(demo_course.concepts) >= 8
    assert sum(1 for c in demo_course.concepts if c.prerequisites) >= 5
    for concept in demo_course.concepts:
        assert concept.lesson and 300 <= sum(len(b) for b in concept.lesson) <= 2500, concept.id
        assert len(concept.quiz) >= 3
        assert all(item.explanation for item in concept.quiz)
        assert concept.reflection
        assert concept.explain_back.prompt and len(concept.explain_back.key_points) >= 2
        for item in concept.quiz:
            if item.type is QuizType.MULTIPLE_CHOICE:
                assert item.correct_index is not None and 0 <= item.correct_index < len(
                    item.options
                )
    kinds = {item.type for c in demo_course.concepts for item in c.quiz}
    assert kinds == set(QuizType)


def test_ids_must_fit_in_button_data(tmp_path: Path) -> None:
    folder = copy_course(tmp_path)
    path = folder / "concepts" / "03-spacing.md"
    long_id = "spacing-" + "x" * 40
    edit(path, "id: spacing-1", f"id: {long_id}")
    [problem] = problems(folder)
    assert problem.endswith(f"id '{long_id}' is longer than 40 characters")
