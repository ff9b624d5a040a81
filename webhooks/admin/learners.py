"""Admin page: learners (mentor and admin): the searchable list, one learner's detail (progress
chart, activity calendar, streak, nudges) and their evidence report as a page and a PDF. Phone
numbers only for admins and for mentors an admin allowed to see them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from storage import reports
from storage.db import reading, transaction
from webhooks.admin.deps import AdminPageError, PauDep, StaffUser, StaffView, audit, render
from webhooks.admin.evidence_pdf import evidence_pdf, safe_filename
from webhooks.admin.evidence_view import detail_view, evidence_view

router = APIRouter()


def may_see_phone(staff: StaffView) -> bool:
    return staff.is_admin or staff.can_see_phone


def _report(pau: PauDep, staff: StaffView, learner_id: int) -> reports.LearnerReport:
    with reading(pau.engine) as session:
        report = reports.learner_report(
            session, learner_id=learner_id, show_phone=may_see_phone(staff), now=pau.clock()
        )
    if report is None:
        raise AdminPageError(404, "No such learner", staff=staff)
    return report


@router.get("/learners")
def learners_page(
    request: Request,
    staff: StaffUser,
    pau: PauDep,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    with reading(pau.engine) as session:
        found = reports.search_learners(
            session, query=q, show_phone=may_see_phone(staff), page=page, now=pau.clock()
        )
    return render(
        request, "learners.html", staff, found=found, q=q, show_phone=may_see_phone(staff)
    )


@router.get("/learners/{learner_id}")
def learner_page(request: Request, learner_id: int, staff: StaffUser, pau: PauDep) -> HTMLResponse:
    view = detail_view(_report(pau, staff, learner_id), pau.clock())
    return render(request, "learner.html", staff, learner=view)


@router.get("/learners/{learner_id}/evidence")
def evidence_page(request: Request, learner_id: int, staff: StaffUser, pau: PauDep) -> HTMLResponse:
    view = evidence_view(_report(pau, staff, learner_id), pau.clock())
    return render(request, "evidence.html", staff, evidence=view)


@router.get("/learners/{learner_id}/evidence.pdf")
def evidence_download(request: Request, learner_id: int, staff: StaffUser, pau: PauDep) -> Response:
    """The evidence report as a PDF attachment; the download is audited (learner data leaves)."""
    view = evidence_view(_report(pau, staff, learner_id), pau.clock())
    content = evidence_pdf(view)
    with transaction(pau.engine) as session:
        audit(session, staff, request, "learner.evidence_pdf", f"learner:{learner_id}",
              activities=view.total_activities)  # fmt: skip
    filename = safe_filename(view.name, learner_id)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
        },
    )
