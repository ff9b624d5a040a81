"""Admin page: the audit log (admins only), newest first, 200 lines a page (`?before=<id>` for
older ones), filtered by the start of the action ("staff." or "login") and by staff e-mail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from storage import staff as staff_repo
from storage.db import from_db, reading
from storage.models import AuditEntry
from webhooks.admin.deps import AdminUser, PauDep, render

router = APIRouter()
PAGE_SIZE = 200


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    staff_email: str
    action: str
    target: str
    detail: tuple[tuple[str, str], ...]
    address: str


def _row(entry: AuditEntry) -> AuditRow:
    assert entry.id is not None
    detail = tuple((str(key), str(value)) for key, value in sorted(entry.detail.items()))
    return AuditRow(
        id=entry.id, at=from_db(entry.at), staff_email=entry.staff_email, action=entry.action,
        target=entry.target, detail=detail, address=entry.address,
    )  # fmt: skip


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    staff: AdminUser,
    pau: PauDep,
    before: Annotated[int | None, Query(ge=1)] = None,
    action: Annotated[str, Query(max_length=64)] = "",
    email: Annotated[str, Query(max_length=254)] = "",
) -> HTMLResponse:
    with reading(pau.engine) as session:
        entries = staff_repo.audit_entries(
            session, before=before, action_prefix=action.strip(), staff_email=email,
            limit=PAGE_SIZE,
        )  # fmt: skip
    rows = [_row(entry) for entry in entries]
    older = rows[-1].id if len(rows) == PAGE_SIZE else None
    return render(
        request, "audit.html", staff, rows=rows, older=older, action=action.strip(),
        email=email.strip(), before=before,
    )  # fmt: skip
