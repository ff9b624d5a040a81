"""What every admin page uses: who is signed in (StaffUser, AdminUser), the Pau (PauDep), the
CSRF check for POST routes (csrf_protected), rendering a template (render) and writing the audit
log (audit).

    @router.post("/things/{thing_id}", dependencies=[csrf_protected])
    def change(request: Request, thing_id: int, staff: StaffUser, pau: PauDep) -> Response:
        with transaction(pau.engine) as session:
            ...
            audit(session, staff, request, "thing.change", f"thing:{thing_id}", field="x")
        return RedirectResponse("/admin/things", status_code=303)

A refusal (not signed in, not an admin, a stale form) is an `AdminPageError`; with
`install_error_pages(app)` it becomes an HTML page (or a redirect to the login page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session
from starlette.exceptions import HTTPException

from storage import staff as staff_repo
from storage.db import reading, transaction
from webhooks.admin import auth
from webhooks.config import Settings
from webhooks.container import Pau

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

STAFF_NAV = (
    ("Inbox", "/admin/inbox"),
    ("Learners", "/admin/learners"),
    ("At risk", "/admin/at-risk"),
)
ADMIN_NAV = (
    ("Cohorts", "/admin/cohorts"), ("Courses", "/admin/courses"),
    ("Playground", "/admin/playground"), ("Staff", "/admin/staff"), ("Audit", "/admin/audit"),
)  # fmt: skip


@dataclass(frozen=True)
class StaffView:
    """The signed-in staff member, as pages see them."""

    id: int
    email: str
    name: str
    role: str  # mentor | admin
    can_see_phone: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class SignedIn:
    staff: StaffView
    token_hash: str


class AdminPageError(HTTPException):
    """A refusal shown as a page (with install_error_pages) or, without, as FastAPI's JSON."""

    def __init__(
        self, status_code: int, message: str, *, staff: StaffView | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.message = message
        self.staff = staff


def get_pau(request: Request) -> Pau:
    pau: Pau = request.app.state.pau
    return pau


PauDep = Annotated[Pau, Depends(get_pau)]


def cookie_is_secure(request: Request, settings: Settings) -> bool:
    """Secure cookies behind https (the request's own scheme or the public base URL's)."""
    return request.url.scheme == "https" or settings.pau_base_url.startswith("https://")


def set_admin_cookie(
    response: Response, request: Request, settings: Settings, name: str, value: str,
    max_age: int | None = None,
) -> None:  # fmt: skip
    response.set_cookie(
        name, value, max_age=max_age, path=auth.COOKIE_PATH, httponly=True, samesite="lax",
        secure=cookie_is_secure(request, settings),
    )  # fmt: skip


def forget_cookie_header(name: str) -> str:
    response = Response()
    response.delete_cookie(name, path=auth.COOKIE_PATH, httponly=True, samesite="lax")
    return response.headers["set-cookie"]


def _login_redirect(request: Request, *, forget_cookie: bool) -> AdminPageError:
    target = ""
    if request.headers.get("hx-request") == "true":
        current = urlsplit(request.headers.get("hx-current-url", ""))
        target = current.path + (f"?{current.query}" if current.query else "")
    elif request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/admin/login"
    if auth.safe_next(target) == target:
        location += "?next=" + quote(target, safe="/")
    headers = {"set-cookie": forget_cookie_header(auth.SESSION_COOKIE)} if forget_cookie else {}
    if request.headers.get("hx-request") == "true":
        return AdminPageError(401, "Sign in first", headers={**headers, "HX-Redirect": location})
    return AdminPageError(303, "Sign in first", headers={**headers, "Location": location})


def _signed_in(request: Request, pau: PauDep) -> SignedIn:
    """The session behind the cookie (cached per request). Each use moves its end on, at most
    once a minute; a deactivated account is refused at once."""
    token = request.cookies.get(auth.SESSION_COOKIE)
    if not token:
        raise _login_redirect(request, forget_cookie=False)
    digest, now = auth.token_hash(token), pau.clock()
    with reading(pau.engine) as session:
        found = staff_repo.signed_in(session, token_hash=digest, now=now)
    if found is None or found.staff.id is None:
        raise _login_redirect(request, forget_cookie=True)
    if now - found.last_seen_at >= auth.TOUCH_EVERY:
        with transaction(pau.engine) as session:
            staff_repo.touch_session(
                session, token_hash=digest, now=now, expires_at=now + auth.SESSION_LIFETIME
            )
    staff = found.staff
    view = StaffView(
        id=found.staff.id, email=staff.email, name=staff.name, role=staff.role,
        can_see_phone=staff.can_see_phone or staff.role == "admin",
    )  # fmt: skip
    request.state.admin_staff = view
    request.state.csrf_token = auth.csrf_token(pau.settings.secret_key_bytes, digest)
    return SignedIn(staff=view, token_hash=digest)


SignedInDep = Annotated[SignedIn, Depends(_signed_in)]


def _current_staff(signed: SignedInDep) -> StaffView:
    return signed.staff


StaffUser = Annotated[StaffView, Depends(_current_staff)]


def _current_admin(staff: StaffUser) -> StaffView:
    if not staff.is_admin:
        raise AdminPageError(403, "Admins only", staff=staff)
    return staff


AdminUser = Annotated[StaffView, Depends(_current_admin)]


async def _check_csrf(request: Request, signed: SignedInDep, pau: PauDep) -> None:
    supplied = request.headers.get("x-csrf-token")
    if supplied is None:
        value = (await request.form()).get("csrf_token")
        supplied = value if isinstance(value, str) else None
    if not auth.csrf_matches(pau.settings.secret_key_bytes, signed.token_hash, supplied):
        raise AdminPageError(403, auth.FORM_EXPIRED, staff=signed.staff)


csrf_protected = Depends(_check_csrf)


def nav_for(staff: StaffView | None, path: str) -> list[dict[str, Any]]:
    if staff is None:
        return []
    items = STAFF_NAV + (ADMIN_NAV if staff.is_admin else ())
    return [
        {"label": label, "href": href, "current": path == href or path.startswith(href + "/")}
        for label, href in items
    ]


def render(
    request: Request, template_name: str, staff: StaffView | None, status_code: int = 200,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    """A page from templates/ (autoescaped), with `staff`, `csrf_token`, `nav`, `now` and
    `request` in its context."""
    now: datetime = request.app.state.pau.clock()
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    context.update(staff=staff, nav=nav_for(staff, request.url.path), now=now)
    response = templates.TemplateResponse(request, template_name, context, status_code=status_code)
    response.headers.setdefault("cache-control", "no-store")
    return response


def audit(
    session: Session, staff: StaffView, request: Request, action: str, target: str = "",
    **detail: Any,
) -> None:  # fmt: skip
    """One line of the audit log, in the caller's transaction: ids and settings in `detail`,
    never a learner's message text (nor a password)."""
    staff_repo.add_audit(
        session, at=request.app.state.pau.clock(), staff_id=staff.id, staff_email=staff.email,
        action=action, target=target, detail=detail, address=client_address(request),
    )  # fmt: skip


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def error_page(
    request: Request, status_code: int, message: str, staff: StaffView | None = None
) -> HTMLResponse:
    return render(request, "error.html", staff, status_code=status_code, message=message)


async def _admin_page_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, AdminPageError)
    if error.status_code in (303, 401):
        return Response(status_code=error.status_code, headers=error.headers)
    staff = error.staff or getattr(request.state, "admin_staff", None)
    return error_page(request, error.status_code, error.message, staff)


def install_error_pages(app: FastAPI) -> None:
    """Refusals as HTML pages (called once where the admin page is mounted)."""
    app.add_exception_handler(AdminPageError, _admin_page_error)
