"""Admin page: staff accounts (admins only). Create one; change its role; deactivate or
reactivate it; set whether it is on duty (pinged for urgent escalations) and may see learners'
phone numbers. An admin cannot deactivate or demote themself, and the last active admin stays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from storage import escalations
from storage import staff as staff_repo
from storage.db import from_db, reading, transaction
from storage.models import Staff
from webhooks.admin import auth
from webhooks.admin.deps import AdminUser, PauDep, StaffView, audit, csrf_protected, render
from webhooks.container import Pau

router = APIRouter()
FLAGS = ("active", "on_duty", "can_see_phone")


@dataclass(frozen=True)
class StaffRow:
    id: int
    email: str
    name: str
    role: str
    active: bool
    on_duty: bool
    can_see_phone: bool
    last_login_at: datetime | None


def _row(staff: Staff) -> StaffRow:
    assert staff.id is not None
    last = from_db(staff.last_login_at) if staff.last_login_at else None
    return StaffRow(
        id=staff.id, email=staff.email, name=staff.name, role=staff.role, active=staff.active,
        on_duty=staff.on_duty, can_see_phone=staff.can_see_phone, last_login_at=last,
    )  # fmt: skip


def _page(
    request: Request, pau: Pau, me: StaffView, *, error: str = "", status_code: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    with reading(pau.engine) as session:
        rows = [_row(staff) for staff in staff_repo.all_staff(session)]
    return render(
        request, "staff.html", me, status_code=status_code, rows=rows, error=error,
        form=form or {"role": "mentor"}, min_password=auth.MIN_PASSWORD_CHARS,
    )  # fmt: skip


@router.get("/staff", response_class=HTMLResponse)
def staff_page(request: Request, staff: AdminUser, pau: PauDep) -> HTMLResponse:
    return _page(request, pau, staff)


def _creation_problem(email: str, role: str, password: str) -> str:
    if "@" not in email or len(email) < 3 or any(char.isspace() for char in email):
        return "Enter an e-mail address."
    if role not in staff_repo.ROLES:
        return "Choose a role: mentor or admin."
    if len(password) < auth.MIN_PASSWORD_CHARS:
        return f"The password needs at least {auth.MIN_PASSWORD_CHARS} characters."
    return ""


@router.post("/staff", dependencies=[csrf_protected])
def create_staff(
    request: Request,
    staff: AdminUser,
    pau: PauDep,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=80)] = "",
    role: Annotated[str, Form(max_length=16)] = "mentor",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    email = staff_repo.normal_email(email)
    form = {"email": email, "name": name, "role": role}
    problem = _creation_problem(email, role, password)
    if problem:
        return _page(request, pau, staff, error=problem, status_code=400, form=form)
    password_hash = auth.hash_password(password)
    with transaction(pau.engine) as session:
        if staff_repo.staff_by_email(session, email=email) is not None:
            problem = f"There is already an account for {email}."
        else:
            created = staff_repo.create_staff(
                session, email=email, name=name, role=role, password_hash=password_hash,
                now=pau.clock(),
            )  # fmt: skip
            audit(
                session, staff, request, "staff.create", f"staff:{created.id}",
                email=email, role=role,
            )  # fmt: skip
    if problem:
        return _page(request, pau, staff, error=problem, status_code=400, form=form)
    return RedirectResponse("/admin/staff", status_code=303)


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.lower() in ("1", "true", "yes", "on")


def _apply(
    session: Session, me: StaffView, target: Staff, changes: dict[str, str | bool], now: datetime
) -> str:
    """Make the changes (a problem to show instead, if one is not allowed)."""
    removes_admin = (
        target.role == "admin"
        and target.active
        and (changes.get("role", "admin") != "admin" or changes.get("active") is False)
    )
    if removes_admin and target.id == me.id:
        return "You cannot deactivate or demote yourself; another admin can."
    if removes_admin and staff_repo.active_admins(session) <= 1:
        return "The last active admin cannot be removed."
    for field, value in changes.items():
        setattr(target, field, value)
    if changes.get("active") is False and target.id is not None:
        staff_repo.close_sessions_of(session, staff_id=target.id)  # signed out at once
        escalations.release_all_of(session, staff_id=target.id, now=now)  # back to the inbox
    return ""


@router.post("/staff/{staff_id}", dependencies=[csrf_protected])
def update_staff(
    request: Request,
    staff_id: int,
    staff: AdminUser,
    pau: PauDep,
    role: Annotated[str | None, Form(max_length=16)] = None,
    active: Annotated[str | None, Form(max_length=8)] = None,
    on_duty: Annotated[str | None, Form(max_length=8)] = None,
    can_see_phone: Annotated[str | None, Form(max_length=8)] = None,
) -> Response:
    if role is not None and role not in staff_repo.ROLES:
        return _page(request, pau, staff, error="Choose a role: mentor or admin.", status_code=400)
    wanted: dict[str, bool | None] = {
        "active": _flag(active), "on_duty": _flag(on_duty), "can_see_phone": _flag(can_see_phone)
    }  # fmt: skip
    problem = ""
    with transaction(pau.engine) as session:
        target = staff_repo.staff_by_id(session, staff_id=staff_id)
        if target is None:
            problem = "There is no such account."
        else:
            changes: dict[str, str | bool] = {
                field: value
                for field, value in wanted.items()
                if value is not None and getattr(target, field) != value
            }
            if role is not None and role != target.role:
                changes["role"] = role
            problem = _apply(session, staff, target, changes, pau.clock())
            if changes and not problem:
                audit(session, staff, request, "staff.update", f"staff:{staff_id}", **changes)
    if problem:
        status = 404 if problem == "There is no such account." else 400
        return _page(request, pau, staff, error=problem, status_code=status)
    return RedirectResponse("/admin/staff", status_code=303)
