"""Courses in the database: idempotent, versioned import and loading for the engine."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.content import Concept, Course, ExplainBack, FaqAnswer, QuizItem, QuizType
from storage.db import to_db
from storage.models import ConceptRecord, CourseRecord, FaqEntry


@dataclass(frozen=True)
class ImportResult:
    slug: str
    outcome: str  # created | updated | unchanged
    revision: int
    concepts: int


def concept_to_dict(concept: Concept) -> dict[str, Any]:
    return asdict(concept)


def concept_from_dict(data: dict[str, Any]) -> Concept:
    quiz = tuple(
        QuizItem(
            **{
                **item,
                "type": QuizType(item["type"]),
                "options": tuple(item["options"]),
                "answers": tuple(item["answers"]),
            }
        )
        for item in data["quiz"]
    )
    explain = ExplainBack(data["explain_back"]["prompt"], tuple(data["explain_back"]["key_points"]))
    return Concept(
        **{
            **data,
            "prerequisites": tuple(data["prerequisites"]),
            "lesson": tuple(data["lesson"]),
            "quiz": quiz,
            "explain_back": explain,
        }
    )


def content_hash(course: Course) -> str:
    payload = json.dumps(asdict(course), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def import_course(session: Session, *, course: Course, now: datetime) -> ImportResult:
    """Insert or update a course. Progress refers to concept ids, so it is never touched."""
    digest = content_hash(course)
    record = session.get(CourseRecord, course.slug)
    if record is not None and record.content_hash == digest:
        return ImportResult(course.slug, "unchanged", record.revision, len(course.concepts))
    outcome = "created" if record is None else "updated"
    if record is None:
        record = CourseRecord(
            slug=course.slug,
            title=course.title,
            content_hash=digest,
            imported_at=to_db(now),
            revision=0,
        )
    record.title, record.description = course.title, course.description
    record.language, record.version = course.language, course.version
    record.content_hash, record.imported_at = digest, to_db(now)
    record.revision += 1
    session.add(record)
    session.flush()
    existing = {
        row.concept_id: row
        for row in session.exec(
            select(ConceptRecord).where(ConceptRecord.course_slug == course.slug)
        )
    }
    for concept in course.concepts:
        row = existing.pop(concept.id, None) or ConceptRecord(
            course_slug=course.slug,
            concept_id=concept.id,
            position=concept.order,
            title=concept.title,
        )
        row.position, row.title, row.retired = concept.order, concept.title, False
        row.body = concept_to_dict(concept)
        session.add(row)
    for removed in existing.values():  # kept, so old progress and exports still resolve
        removed.retired = True
        session.add(removed)
    return ImportResult(course.slug, outcome, record.revision, len(course.concepts))


def course_revisions(session: Session) -> dict[str, tuple[int, int]]:
    """Each course's import revision and its newest FAQ answer: a cheap way to notice that
    content changed (an import, or a mentor's answer saved for the course)."""
    newest_faq = dict(
        session.exec(
            select(FaqEntry.course_slug, sa.func.max(FaqEntry.id)).group_by(
                col(FaqEntry.course_slug)
            )
        ).all()
    )
    return {
        slug: (revision, int(newest_faq.get(slug) or 0))
        for slug, revision in session.exec(select(CourseRecord.slug, CourseRecord.revision))
    }


def load_courses(session: Session) -> dict[str, Course]:
    courses: dict[str, Course] = {}
    for record in session.exec(select(CourseRecord)):
        rows = session.exec(
            select(ConceptRecord)
            .where(ConceptRecord.course_slug == record.slug, col(ConceptRecord.retired).is_(False))
            .order_by(col(ConceptRecord.position))
        ).all()
        courses[record.slug] = Course(
            slug=record.slug,
            title=record.title,
            description=record.description,
            language=record.language,
            version=record.version,
            concepts=tuple(concept_from_dict(dict(row.body)) for row in rows),
            faq=tuple(
                FaqAnswer(entry.question, entry.answer, entry.concept_id)
                for entry in session.exec(
                    select(FaqEntry)
                    .where(FaqEntry.course_slug == record.slug)
                    .order_by(col(FaqEntry.id))
                )
            ),
        )
    return courses
