"""`pau content draft-quiz CONCEPT` and `pau content draft-lesson TOPIC --from NOTES.md`: the
configured language model drafts quiz items or a micro-lesson, written into the course folder
with the draft mark (content/FORMAT.md "Drafts") for the author to review."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.content_loader import CourseReading, find_course_folders
from core.errors import ConfigurationError, ContentError

NO_MODEL = (
    "No language model is configured: set ANTHROPIC_API_KEY, or PAU_LLM_PROVIDER=openai with "
    "PAU_LLM_BASE_URL and PAU_LLM_MODEL for a self-hosted model (see README)."
)
PUBLISH = "Review it, then remove the draft mark (the line 'draft: true') to publish it."


def add_parsers(actions: Any) -> None:
    """The two actions, on `pau content`'s subparsers."""
    quiz = actions.add_parser(
        "draft-quiz", help="draft quiz items for a concept from its lesson, marked draft"
    )
    quiz.add_argument("concept", help="the concept's id, e.g. spacing")
    quiz.add_argument("--count", type=int, default=3, help="how many items (1-10)")
    lesson = actions.add_parser(
        "draft-lesson", help="draft a micro-lesson from your Markdown notes, marked draft"
    )
    lesson.add_argument("topic", help='what the lesson is about, e.g. "the testing effect"')
    lesson.add_argument(
        "--from", dest="notes", type=Path, required=True, metavar="NOTES.md", help="your notes"
    )
    for parser in (quiz, lesson):
        parser.add_argument(
            "--course",
            type=Path,
            metavar="PATH",
            help="the course folder (default: the only course under PAU_CONTENT_DIR)",
        )


def run(args: argparse.Namespace, settings: Any) -> int:
    """Draft, write and say where; exit 1 when nothing was written."""
    folder = _course_folder(args.course, Path(settings.pau_content_dir))
    if folder is None:
        return 2
    notes = ""
    if args.action == "draft-lesson":
        if not args.notes.is_file():
            print(f"{args.notes}: no such file", file=sys.stderr)
            return 2
        notes = args.notes.read_text(encoding="utf-8")
    from core.tutor.drafting import DraftError, draft_lesson, draft_quiz
    from webhooks import llm_setup

    try:
        llm = llm_setup.make_llm(settings)
    except ConfigurationError as error:
        print(f"pau: {error}", file=sys.stderr)
        return 2
    if llm is None:
        print(NO_MODEL, file=sys.stderr)
        return 1
    try:
        if args.action == "draft-quiz":
            path = draft_quiz(llm, folder, args.concept, args.count)
        else:
            path = draft_lesson(llm, folder, args.topic, notes)
    except ContentError as error:
        print("the course has problems; fix them first:", file=sys.stderr)
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    except DraftError as error:
        print(f"pau: {error}", file=sys.stderr)
        return 1
    finally:
        llm.close()
    print(f"Draft written: {path}")
    print(PUBLISH)
    return 0


def draft_summary(reading: CourseReading) -> list[str]:
    """What `pau content check` says about a course's drafts (nothing when it has none)."""
    if not reading.drafts:
        return []
    count = len(reading.drafts)
    heading = f"{count} draft{'s' if count != 1 else ''} (not shown to learners):"
    return [heading, *(f"  {draft}" for draft in reading.drafts)]


def _course_folder(given: Path | None, content_dir: Path) -> Path | None:
    where = given or content_dir
    if not where.is_dir():
        print(f"{where}: no such folder", file=sys.stderr)
        return None
    folders = find_course_folders(where)
    if len(folders) == 1:
        return folders[0]
    if not folders:
        print(f"{where}: no course.yaml here or in its folders", file=sys.stderr)
    else:
        names = ", ".join(str(f) for f in folders)
        print(f"{where} holds several courses ({names}): choose one with --course", file=sys.stderr)
    return None
