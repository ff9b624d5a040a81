"""Admin page: courses. What is imported (version, revision, concepts, mentors' FAQ entries), the
content folder checked as `pau content check` checks it, and a course folder uploaded as a zip:
checked the same way (webhooks/course_upload.py) and imported only when it has no problem."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from storage.db import from_db, reading, transaction
from storage.models import ConceptRecord, CourseRecord, FaqEntry
from webhooks.admin.deps import AdminUser, PauDep, StaffView, audit, csrf_protected, render
from webhooks.container import Pau
from webhooks.course_upload import MAX_ZIP_BYTES, check_content, check_zip, import_courses

router = APIRouter()


@dataclass(frozen=True)
class CourseRow:
    slug: str
    title: str
    language: str
    version: int
    revision: int
    imported_at: datetime
    concepts: int
    retired: int
    faq_entries: int


@dataclass(frozen=True)
class FolderCheck:
    """The content folder as `pau content check` sees it."""

    folder: str
    courses: list[str]  # "slug: N concepts, M quiz items"
    problems: list[str]


def imported_courses(session: Session) -> list[CourseRow]:
    concepts = {
        (slug, retired): count
        for slug, retired, count in session.execute(
            sa.select(
                col(ConceptRecord.course_slug), col(ConceptRecord.retired), sa.func.count()
            ).group_by(col(ConceptRecord.course_slug), col(ConceptRecord.retired))
        )
    }
    faq: dict[str, int] = {
        slug: count
        for slug, count in session.execute(
            sa.select(col(FaqEntry.course_slug), sa.func.count()).group_by(
                col(FaqEntry.course_slug)
            )
        )
    }
    return [
        CourseRow(
            slug=record.slug,
            title=record.title,
            language=record.language,
            version=record.version,
            revision=record.revision,
            imported_at=from_db(record.imported_at),
            concepts=concepts.get((record.slug, False), 0),
            retired=concepts.get((record.slug, True), 0),
            faq_entries=faq.get(record.slug, 0),
        )
        for record in session.exec(select(CourseRecord).order_by(col(CourseRecord.slug)))
    ]


def check_folder(folder: str) -> FolderCheck:
    checked = check_content(Path(folder))
    found = [
        f"{c.slug}: {len(c.concepts)} concepts, {sum(len(x.quiz) for x in c.concepts)} quiz items"
        for c in checked.courses
    ]
    return FolderCheck(folder=folder, courses=found, problems=checked.problems)


def _page(
    request: Request, staff: StaffView, pau: Pau, status_code: int = 200, **outcome: Any
) -> HTMLResponse:
    with reading(pau.engine) as session:
        courses = imported_courses(session)
    return render(
        request, "courses.html", staff, status_code=status_code, courses=courses,
        folder_check=check_folder(pau.settings.pau_content_dir),
        max_zip_mb=MAX_ZIP_BYTES // 2**20, **outcome,
    )  # fmt: skip


@router.get("/courses")
def courses_page(request: Request, staff: AdminUser, pau: PauDep) -> HTMLResponse:
    return _page(request, staff, pau)


@router.post("/courses/upload", dependencies=[csrf_protected])
def upload_course(
    request: Request, staff: AdminUser, pau: PauDep, course_zip: Annotated[UploadFile, File()]
) -> HTMLResponse:
    data = course_zip.file.read(MAX_ZIP_BYTES + 1)  # no more than that is ever held
    checked = check_zip(data)
    if not checked.problems and not checked.courses:
        checked.problems.append("the zip holds no course.yaml")
    if checked.problems:
        return _page(
            request, staff, pau, status_code=400, upload_name=course_zip.filename or "",
            upload_problems=checked.problems,
        )  # fmt: skip
    with transaction(pau.engine) as session:
        results = import_courses(session, courses=checked.courses, now=pau.clock())
        for course, result in zip(checked.courses, results, strict=True):
            audit(
                session, staff, request, "course.upload", f"course:{result.slug}",
                slug=result.slug, version=course.version, concepts=result.concepts,
                outcome=result.outcome, revision=result.revision,
            )  # fmt: skip
    pau.reload_courses_if_changed()
    return _page(request, staff, pau, upload_imported=results)
