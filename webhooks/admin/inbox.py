"""Admin page: the mentors' inbox of escalations and one escalation's page (claim, reply,
release, resolve, save to the course FAQ). Every action is a plain POST form that works without
JavaScript (303 back to the page); htmx only refreshes the inbox table. A mentor's reply enters
the dialogue as an internal event (storage.escalations): this module never writes the outbox."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from storage import escalations
from storage.db import reading, transaction
from storage.models import Escalation
from webhooks.admin.deps import (
    PauDep,
    StaffUser,
    StaffView,
    audit,
    csrf_protected,
    error_page,
    render,
)
from webhooks.admin.inbox_view import (
    age_in_words,
    chat_bubbles,
    exact_time,
    inbox_line,
    reason_in_words,
)

router = APIRouter()

SHOWN = 200  # rows in the inbox table; more than that and the page says how many more
RESOLVED_SHOWN = 100
MAX_REPLY = 4000
FILTERS = {
    "open": escalations.OPEN_STATUSES,
    "mine": ("claimed", "answered"),
    "resolved": ("resolved",),
}
# Messages after an action, chosen by a code in the URL (never text from the URL itself).
NOTES = {
    "claimed": "You have claimed this one: the learner waits for your reply.",
    "replied": "Reply sent: it reaches the learner's chat in a moment.",
    "released": "Released: it is back in the inbox for another mentor.",
    "faq": "Saved to the course FAQ: the tutor uses it from now on.",
    "empty": "Write a reply first: an empty message is not sent.",
    "faq_empty": "Both the question and the answer are needed for the FAQ.",
    "faq_no_course": "This question came outside a course: there is no course FAQ to save it to.",
}


@router.get("/inbox")
def inbox_page(
    request: Request, staff: StaffUser, pau: PauDep, show: str = "open", partial: bool = False
) -> HTMLResponse:
    show = show if show in FILTERS else "open"
    limit = RESOLVED_SHOWN if show == "resolved" else SHOWN
    now = pau.clock()
    mine = staff.id if show == "mine" else None
    with reading(pau.engine) as session:
        rows = escalations.inbox(session, statuses=FILTERS[show], limit=limit, claimed_by=mine)
        # the whole count only when the table is full (the resolved ones are never all shown)
        total = len(rows)
        if total == limit and show == "open":
            total = escalations.count(session, statuses=FILTERS[show])
    lines = [inbox_line(row, now) for row in rows]
    template = "_inbox_rows.html" if partial else "inbox.html"
    more = total - len(lines)
    return render(request, template, staff, lines=lines, show=show, total=total, more=more)


@router.get("/escalations/{escalation_id}")
def escalation_page(
    request: Request, escalation_id: int, staff: StaffUser, pau: PauDep, note: str = ""
) -> HTMLResponse:
    return _detail_response(request, escalation_id, staff, pau, note=note)


def _detail_response(
    request: Request,
    escalation_id: int,
    staff: StaffView,
    pau: PauDep,
    *,
    note: str = "",
    status_code: int = 200,
    refusal: str = "",
) -> HTMLResponse:
    show_phone = staff.is_admin or staff.can_see_phone
    now = pau.clock()
    with reading(pau.engine) as session:
        detail = escalations.detail(
            session, escalation_id=escalation_id, show_phone=show_phone, now=now
        )
    if detail is None:
        return error_page(request, 404, "No such escalation", staff)
    mine = detail.claimed_by == staff.id
    message = NOTES.get(note, "")
    if note == "taken" and detail.claimed_by_name:
        message = f"{detail.claimed_by_name} already claimed this one."
    return render(
        request,
        "escalation.html",
        staff,
        status_code=status_code,
        detail=detail,
        age=age_in_words(detail.created_at, now),
        created_exact=exact_time(detail.created_at),
        reason=reason_in_words(detail.reason),
        chat=chat_bubbles(detail.recent, detail.learner.name),
        mine=mine,
        claimed_by_other=detail.claimed_by is not None and not mine,
        answer=detail.reply or detail.draft,
        form_token=uuid.uuid4().hex,  # one reply per form, however often it is sent
        message=message,
        refusal=refusal,
        max_reply=MAX_REPLY,
    )


def _back(escalation_id: int, note: str = "") -> RedirectResponse:
    query = f"?note={note}" if note else ""
    return RedirectResponse(f"/admin/escalations/{escalation_id}{query}", status_code=303)


def _refused(request: Request, escalation_id: int, staff: StaffView, pau: PauDep) -> Response:
    """Someone other than the claimer tried to act on it: nothing happened, and the page says who
    has it (a 403, so a script or a test cannot take it for success)."""
    return _detail_response(
        request,
        escalation_id,
        staff,
        pau,
        status_code=403,
        refusal="Only the mentor who claimed this escalation can do that.",
    )


def _exists(pau: PauDep, escalation_id: int) -> bool:
    with reading(pau.engine) as session:
        return session.get(Escalation, escalation_id) is not None


@router.post("/escalations/{escalation_id}/claim", dependencies=[csrf_protected])
def claim(request: Request, escalation_id: int, staff: StaffUser, pau: PauDep) -> Response:
    if not _exists(pau, escalation_id):
        return _detail_response(request, escalation_id, staff, pau)
    target = f"escalation:{escalation_id}"
    with transaction(pau.engine) as session:
        claimed = escalations.claim(
            session, escalation_id=escalation_id, staff_id=staff.id, now=pau.clock(),
            take_over=staff.is_admin,  # an admin can take one over (its mentor is away)
        )  # fmt: skip
        audit(session, staff, request, "escalation.claim", target, claimed=claimed)
    # Someone else was quicker (or it is closed): one answer for plain forms and htmx alike,
    # a 303 back to the page, which then says who has it.
    return _back(escalation_id, "claimed" if claimed else "taken")


@router.post("/escalations/{escalation_id}/release", dependencies=[csrf_protected])
def release(request: Request, escalation_id: int, staff: StaffUser, pau: PauDep) -> Response:
    with transaction(pau.engine) as session:
        released = escalations.release(
            session, escalation_id=escalation_id, staff_id=staff.id, now=pau.clock()
        )
        if released:
            audit(session, staff, request, "escalation.release", f"escalation:{escalation_id}")
    if not released:
        return _refused(request, escalation_id, staff, pau)
    return _back(escalation_id, "released")


@router.post("/escalations/{escalation_id}/reply", dependencies=[csrf_protected])
def reply(
    request: Request,
    escalation_id: int,
    staff: StaffUser,
    pau: PauDep,
    text: Annotated[str, Form(max_length=MAX_REPLY)] = "",
    form_token: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    text = text.strip()
    if not text:
        return _detail_response(request, escalation_id, staff, pau, status_code=400, note="empty")
    with transaction(pau.engine) as session:
        sent = escalations.send_reply(
            session,
            escalation_id=escalation_id,
            staff_id=staff.id,
            text=text,
            now=pau.clock(),
            form_token=form_token,
        )
        if sent:
            target = f"escalation:{escalation_id}"
            audit(session, staff, request, "escalation.reply", target, chars=len(text))
    if not sent:
        return _refused(request, escalation_id, staff, pau)
    pau.request_work()
    return _back(escalation_id, "replied")


@router.post("/escalations/{escalation_id}/resolve", dependencies=[csrf_protected])
def resolve(request: Request, escalation_id: int, staff: StaffUser, pau: PauDep) -> Response:
    with transaction(pau.engine) as session:
        resolved = escalations.resolve(
            session,
            escalation_id=escalation_id,
            staff_id=staff.id,
            now=pau.clock(),
        )
        if resolved:
            audit(session, staff, request, "escalation.resolve", f"escalation:{escalation_id}")
    if not resolved:
        return _refused(request, escalation_id, staff, pau)
    pau.request_work()
    return RedirectResponse("/admin/inbox", status_code=303)


@router.post("/escalations/{escalation_id}/faq", dependencies=[csrf_protected])
def save_to_faq(
    request: Request,
    escalation_id: int,
    staff: StaffUser,
    pau: PauDep,
    question: Annotated[str, Form(max_length=MAX_REPLY)] = "",
    answer: Annotated[str, Form(max_length=MAX_REPLY)] = "",
) -> Response:
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        return _detail_response(
            request, escalation_id, staff, pau, status_code=400, note="faq_empty"
        )
    if not _exists(pau, escalation_id):
        return _detail_response(request, escalation_id, staff, pau)
    with transaction(pau.engine) as session:
        faq_id = escalations.save_to_faq(
            session,
            escalation_id=escalation_id,
            staff_id=staff.id,
            question=question,
            answer=answer,
            now=pau.clock(),
            may_edit_any=staff.is_admin,
        )
        if faq_id is not None:
            target = f"escalation:{escalation_id}"
            audit(session, staff, request, "escalation.faq", target, faq_id=faq_id)
    if faq_id is None:
        return _detail_response(
            request, escalation_id, staff, pau, status_code=400, note="faq_no_course"
        )
    return _back(escalation_id, "faq")
