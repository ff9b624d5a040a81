"""Admin page: sign in, sign out, and the front door (/admin/ goes to the inbox)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from storage import staff as staff_repo
from storage.db import reading, transaction
from webhooks.admin import auth
from webhooks.admin.deps import (
    PauDep,
    SignedInDep,
    audit,
    client_address,
    csrf_protected,
    render,
    set_admin_cookie,
)
from webhooks.container import Pau

router = APIRouter()


def _login_token_digest(token: str) -> str:
    # "login:" keeps a login form's token from ever passing for a session's
    return auth.token_hash("login:" + token)


def _login_page(
    request: Request, pau: Pau, *, next_path: str, email: str = "", message: str = "",
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    """The sign-in form, with its own short-lived cookie and the CSRF token made from it."""
    token = request.cookies.get(auth.LOGIN_COOKIE) or auth.new_token()
    csrf = auth.csrf_token(pau.settings.secret_key_bytes, _login_token_digest(token))
    response = render(
        request, "login.html", None, status_code=status_code, csrf_token=csrf,
        next_path=next_path, email=email, message=message,
    )  # fmt: skip
    max_age = int(auth.LOGIN_FORM_LIFETIME.total_seconds())
    set_admin_cookie(response, request, pau.settings, auth.LOGIN_COOKIE, token, max_age=max_age)
    return response


@router.get("/", include_in_schema=False)
def front_door() -> RedirectResponse:
    return RedirectResponse("/admin/inbox", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, pau: PauDep, next: str = "") -> Response:
    next_path = auth.safe_next(next)
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        with reading(pau.engine) as session:
            found = staff_repo.signed_in(
                session, token_hash=auth.token_hash(token), now=pau.clock()
            )
        if found is not None:
            return RedirectResponse(next_path, status_code=303)
    return _login_page(request, pau, next_path=next_path)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    pau: PauDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    next_path = auth.safe_next(next)
    form_token = request.cookies.get(auth.LOGIN_COOKIE, "")
    secret = pau.settings.secret_key_bytes
    if not form_token or not auth.csrf_matches(secret, _login_token_digest(form_token), csrf_token):
        return _login_page(
            request, pau, next_path=next_path, email=email, message=auth.FORM_EXPIRED,
            status_code=403,
        )  # fmt: skip
    result = auth.sign_in(
        pau.engine, email=email, password=password, address=client_address(request),
        now=pau.clock(),
    )  # fmt: skip
    if result.token is None:
        return _login_page(
            request, pau, next_path=next_path, email=email, message=result.message,
            status_code=result.status_code,
        )  # fmt: skip
    response = RedirectResponse(next_path, status_code=303)
    set_admin_cookie(response, request, pau.settings, auth.SESSION_COOKIE, result.token)
    response.delete_cookie(auth.LOGIN_COOKIE, path=auth.COOKIE_PATH)
    return response


@router.post("/logout", dependencies=[csrf_protected])
def logout(request: Request, signed: SignedInDep, pau: PauDep) -> Response:
    with transaction(pau.engine) as session:
        staff_repo.close_session(session, token_hash=signed.token_hash)
        audit(session, signed.staff, request, "logout")
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(
        auth.SESSION_COOKIE, path=auth.COOKIE_PATH, httponly=True, samesite="lax"
    )
    return response
