"""The admin page's security: sign-in and sign-out, session cookies, CSRF, throttling, roles,
the staff and audit pages, and `pau admin create-user`."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select
from starlette.requests import Request

from storage.db import make_engine, reading, transaction
from storage.migrate import upgrade
from storage.models import AuditEntry, LoginAttempt, Staff, StaffSession
from tests.admin_client import (
    PASSWORD,
    add_staff,
    admin_test_client,
    cheap_password_hashing,  # noqa: F401  (an autouse fixture)
    csrf_token_in,
    sign_in,
    signed_in_client,
)
from tests.conftest import FixedClock
from webhooks.admin import auth, deps
from webhooks.admin.auth import safe_next, token_hash
from webhooks.cli import main
from webhooks.config import get_settings
from webhooks.container import Pau

ADMIN, MENTOR = "boss@example.org", "mentor@example.org"
REAL_HASHER = auth.PASSWORD_HASHER  # before the cheap one is swapped in


def audit_rows(pau: Pau, action: str | None = None) -> list[AuditEntry]:
    with reading(pau.engine) as session:
        query = select(AuditEntry).order_by(col(AuditEntry.id))
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.exec(query).all())


def staff_row(pau: Pau, email: str) -> Staff:
    with reading(pau.engine) as session:
        found = session.exec(select(Staff).where(Staff.email == email)).one()
        return found


def set_cookie_of(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [header for header in headers if header.startswith(f"{name}=")]
    assert found, headers
    return str(found[0])


# --- signing in and out ---------------------------------------------------------------------


def test_sign_in_with_the_right_password_opens_the_admin_page(pau: Pau) -> None:
    add_staff(pau, ADMIN, role="admin", name="Bo Ss")
    client = admin_test_client(pau)
    response = sign_in(client, "  Boss@Example.org ", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/admin/inbox"
    page = client.get("/admin/staff")
    assert page.status_code == 200
    assert "boss@example.org" in page.text and "Sign out" in page.text
    assert staff_row(pau, ADMIN).last_login_at is not None
    [login] = audit_rows(pau, "login")
    assert login.staff_email == ADMIN and login.address == "testclient"


@pytest.mark.parametrize("email", [ADMIN, "nobody@example.org"])
def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(pau: Pau, email: str) -> None:
    add_staff(pau, ADMIN, role="admin")
    client = admin_test_client(pau)
    response = sign_in(client, email, "not the password at all")
    assert response.status_code == 400
    assert "Wrong e-mail or password" in response.text
    assert "pau_admin=" not in response.headers.get("set-cookie", "")
    assert client.get("/admin/staff").status_code == 303
    [failed] = audit_rows(pau, "login.failed")
    reason = "wrong_password" if email == ADMIN else "unknown_email"
    assert failed.detail == {"reason": reason} and failed.staff_email == email
    assert "not the password" not in str(audit_rows(pau))


def test_the_stored_password_is_an_argon2id_hash(pau: Pau, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "PASSWORD_HASHER", REAL_HASHER)
    add_staff(pau, ADMIN, role="admin")
    stored = staff_row(pau, ADMIN).password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored
    assert sign_in(admin_test_client(pau), ADMIN, PASSWORD).status_code == 303


def test_a_weaker_hash_is_replaced_at_sign_in(pau: Pau) -> None:
    from argon2 import PasswordHasher

    add_staff(pau, ADMIN, role="admin")
    with transaction(pau.engine) as session:
        staff = session.exec(select(Staff)).one()
        staff.password_hash = PasswordHasher(time_cost=1, memory_cost=2048).hash(PASSWORD)
        old = staff.password_hash
    assert sign_in(admin_test_client(pau), ADMIN, PASSWORD).status_code == 303
    new = staff_row(pau, ADMIN).password_hash
    assert new != old and new.startswith("$argon2id$")


def test_the_session_cookie_is_httponly_lax_and_not_secure_over_http(pau: Pau) -> None:
    add_staff(pau, ADMIN, role="admin")
    cookie = set_cookie_of(sign_in(admin_test_client(pau), ADMIN, PASSWORD), "pau_admin")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/admin" in lowered
    assert "secure" not in lowered
    token = cookie.split(";")[0].split("=", 1)[1]
    with reading(pau.engine) as session:
        [row] = session.exec(select(StaffSession)).all()
    assert row.token_hash == token_hash(token) and token not in row.token_hash


def test_the_session_cookie_is_secure_behind_https(pau: Pau) -> None:
    pau.settings = pau.settings.model_copy(update={"pau_base_url": "https://pau.example.org"})
    add_staff(pau, ADMIN, role="admin")
    client = admin_test_client(pau)
    cookie = set_cookie_of(sign_in(client, ADMIN, PASSWORD), "pau_admin").lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/admin/staff").status_code == 200


def test_logging_out_ends_the_session_on_the_server(pau: Pau) -> None:
    admin = signed_in_client(pau, ADMIN, role="admin")
    old_cookie = admin.client.cookies.get("pau_admin")
    assert old_cookie
    response = admin.post_form("/admin/logout", page="/admin/staff")
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    with reading(pau.engine) as session:
        assert session.exec(select(StaffSession)).all() == []
    replay = admin_test_client(pau)
    replay.cookies.set("pau_admin", old_cookie, path="/admin")
    assert replay.get("/admin/staff").status_code == 303
    assert [row.action for row in audit_rows(pau)] == ["login", "logout"]


def test_the_session_lasts_twelve_hours_from_its_last_use(pau: Pau, clock: FixedClock) -> None:
    admin = signed_in_client(pau, ADMIN, role="admin")
    for _ in range(3):
        clock.advance(hours=11)
        assert admin.get("/admin/staff").status_code == 200
    clock.advance(hours=12, seconds=1)
    assert admin.get("/admin/staff").status_code == 303


def test_a_deactivated_account_is_signed_out_at_once(pau: Pau) -> None:
    add_staff(pau, "other-admin@example.org", role="admin")
    admin = signed_in_client(pau, ADMIN, role="admin")
    assert admin.get("/admin/staff").status_code == 200
    assert admin.get("/admin/login").headers["location"] == "/admin/inbox"  # signed in
    with transaction(pau.engine) as session:
        session.exec(select(Staff).where(Staff.email == ADMIN)).one().active = False
    assert admin.get("/admin/staff").status_code == 303
    refused = admin.get("/admin/login")
    assert refused.status_code == 200 and "Sign in" in refused.text
    assert sign_in(admin_test_client(pau), ADMIN, PASSWORD).status_code == 400
    assert audit_rows(pau, "login.failed")[0].detail == {"reason": "inactive"}


# --- where to go --------------------------------------------------------------------------


def test_not_signed_in_goes_to_the_login_page_and_back(pau: Pau) -> None:
    add_staff(pau, ADMIN, role="admin")
    client = admin_test_client(pau)
    response = client.get("/admin/audit?action=staff.")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/audit%3Faction%3Dstaff."
    htmx = client.get("/admin/staff", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/admin/login")
    back = sign_in(client, ADMIN, PASSWORD, next_path="/admin/audit?action=staff.")
    assert back.headers["location"] == "/admin/audit?action=staff."


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example", "/\\evil.example", "/admin.evil.example",
     "/adminx", "javascript:alert(1)", "/admin/\r\nLocation: x", "/elsewhere"],
)  # fmt: skip
def test_sign_in_never_sends_anyone_to_another_site(pau: Pau, target: str) -> None:
    add_staff(pau, ADMIN, role="admin")
    response = sign_in(admin_test_client(pau), ADMIN, PASSWORD, next_path=target)
    assert response.headers["location"] == "/admin/inbox"
    assert safe_next("/admin/learners/3?x=1") == "/admin/learners/3?x=1"


def test_the_front_door_leads_to_the_inbox(pau: Pau) -> None:
    mentor = signed_in_client(pau, MENTOR, role="mentor")
    response = mentor.get("/admin/")
    assert response.status_code == 303 and response.headers["location"] == "/admin/inbox"


# --- CSRF -----------------------------------------------------------------------------------


def test_posts_without_the_right_csrf_token_are_refused_and_change_nothing(pau: Pau) -> None:
    admin = signed_in_client(pau, ADMIN, role="admin")
    mentor_id = add_staff(pau, MENTOR)
    form = {"email": "new@example.org", "role": "admin", "password": "long enough password"}
    for token in (None, "", "forged-token", csrf_token_in(admin.get("/admin/staff").text)[:-2]):
        data = form if token is None else {**form, "csrf_token": token}
        response = admin.client.post("/admin/staff", data=data)
        assert response.status_code == 403
        assert "This form has expired. Reload the page and try again." in response.text
        assert (
            admin.client.post(f"/admin/staff/{mentor_id}", data={"active": "false"}).status_code
            == 403
        )
    assert admin.client.post("/admin/logout").status_code == 403
    with reading(pau.engine) as session:
        assert [s.email for s in session.exec(select(Staff)).all()] == [ADMIN, MENTOR]
        assert len(session.exec(select(StaffSession)).all()) == 1
    assert staff_row(pau, MENTOR).active
    assert [row.action for row in audit_rows(pau)] == ["login"]


def test_a_csrf_token_from_another_session_is_refused(pau: Pau) -> None:
    first = signed_in_client(pau, ADMIN, role="admin")
    second = signed_in_client(pau, ADMIN)
    their_token = second.csrf_token("/admin/staff")
    assert first.csrf_token("/admin/staff") != their_token
    response = first.client.post("/admin/logout", data={"csrf_token": their_token})
    assert response.status_code == 403


def test_htmx_posts_carry_the_token_in_a_header(pau: Pau) -> None:
    admin = signed_in_client(pau, ADMIN, role="admin")
    page = admin.get("/admin/staff").text
    header = re.search(r"hx-headers='([^']*)'", page)
    assert header and csrf_token_in(page) in header.group(1)
    response = admin.client.post("/admin/logout", headers={"X-CSRF-Token": csrf_token_in(page)})
    assert response.status_code == 303


def test_the_login_form_needs_its_own_token(pau: Pau) -> None:
    add_staff(pau, ADMIN, role="admin")
    client = admin_test_client(pau)
    client.get("/admin/login")
    response = client.post("/admin/login", data={"email": ADMIN, "password": PASSWORD})
    assert response.status_code == 403 and "This form has expired" in response.text
    fresh = admin_test_client(pau)  # a token from a page, but without that page's cookie
    token = csrf_token_in(client.get("/admin/login").text)
    refused = fresh.post(
        "/admin/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 403
    with reading(pau.engine) as session:
        assert session.exec(select(StaffSession)).all() == []
        assert session.exec(select(LoginAttempt)).all() == []


# --- throttling -----------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_for_the_rest_of_the_window(
    pau: Pau, clock: FixedClock
) -> None:
    add_staff(pau, ADMIN, role="admin")
    client = admin_test_client(pau)
    for _ in range(5):
        assert sign_in(client, ADMIN, "wrong password!").status_code == 400
        clock.advance(minutes=1)
    locked = sign_in(client, ADMIN, PASSWORD)  # the right one, 5 minutes after the first try
    assert locked.status_code == 429
    assert "Too many sign-in attempts. Try again in 10 minutes." in locked.text
    elsewhere = admin_test_client(pau, address="10.0.0.2")
    assert sign_in(elsewhere, ADMIN, PASSWORD).status_code == 429  # the account, not the browser
    clock.advance(minutes=10)
    assert sign_in(client, ADMIN, PASSWORD).status_code == 303
    assert len(audit_rows(pau, "login.failed")) == 5


def test_twenty_failures_from_one_address_lock_that_address(pau: Pau, clock: FixedClock) -> None:
    add_staff(pau, ADMIN, role="admin")
    guesser = admin_test_client(pau, address="10.0.0.66")
    for number in range(20):
        assert sign_in(guesser, f"guess{number}@example.org", "password?").status_code == 400
    refused = sign_in(guesser, ADMIN, PASSWORD)
    assert refused.status_code == 429 and "Try again in 15 minutes." in refused.text
    assert sign_in(admin_test_client(pau, address="10.0.0.7"), ADMIN, PASSWORD).status_code == 303
    clock.advance(minutes=15, seconds=1)
    assert sign_in(guesser, ADMIN, PASSWORD).status_code == 303


def test_old_sign_in_tries_are_forgotten(pau: Pau, clock: FixedClock) -> None:
    add_staff(pau, ADMIN, role="admin")
    client = admin_test_client(pau)
    sign_in(client, ADMIN, "wrong password!")
    clock.advance(days=1, minutes=1)
    sign_in(client, ADMIN, PASSWORD)
    with reading(pau.engine) as session:
        assert [a.succeeded for a in session.exec(select(LoginAttempt)).all()] == [True]


# --- roles, the staff page and the audit page -------------------------------------------------


def test_a_mentor_cannot_reach_admin_pages(pau: Pau) -> None:
    mentor = signed_in_client(pau, MENTOR, role="mentor")
    for url in ("/admin/staff", "/admin/audit"):
        response = mentor.get(url)
        assert response.status_code == 403 and "Admins only" in response.text
    cookie = mentor.client.cookies.get("pau_admin") or ""
    token = auth.csrf_token(pau.settings.secret_key_bytes, token_hash(cookie))  # a valid one
    form = {"email": "x@example.org", "password": "long enough password", "csrf_token": token}
    posted = mentor.client.post("/admin/staff", data=form)
    assert posted.status_code == 403 and "Admins only" in posted.text
    with reading(pau.engine) as session:
        assert len(session.exec(select(Staff)).all()) == 1
    assert [row.action for row in audit_rows(pau)] == ["login"]


def test_refusals_are_html_pages_with_the_navigation(pau: Pau) -> None:
    mentor = signed_in_client(pau, MENTOR, role="mentor")
    response = mentor.get("/admin/staff")
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Admins only</h1>" in response.text and 'href="/admin/inbox"' in response.text


def test_an_admin_creates_and_changes_staff_accounts_and_each_change_is_audited(pau: Pau) -> None:
    admin = signed_in_client(pau, ADMIN, role="admin")
    form = {"email": "New@Example.org", "name": "Nia", "role": "mentor"}
    short = admin.post_form("/admin/staff", {**form, "password": "too short"}, page="/admin/staff")
    assert short.status_code == 400 and "at least 12 characters" in short.text
    created = admin.post_form("/admin/staff", {**form, "password": "a long new password"})
    assert created.status_code == 303
    again = admin.post_form(
        "/admin/staff", {**form, "password": "a long new password"}, page="/admin/staff"
    )
    assert again.status_code == 400 and "already an account for new@example.org" in again.text
    new = staff_row(pau, "new@example.org")
    assert new.role == "mentor" and new.name == "Nia" and not new.can_see_phone
    for change in ({"can_see_phone": "true"}, {"on_duty": "false"}, {"role": "admin"}):
        assert (
            admin.post_form(f"/admin/staff/{new.id}", change, page="/admin/staff").status_code
            == 303
        )
    changed = staff_row(pau, "new@example.org")
    assert changed.can_see_phone and not changed.on_duty and changed.role == "admin"
    page = admin.get("/admin/staff").text
    assert "Nia" in page and "new@example.org" in page
    rows = audit_rows(pau)
    assert [row.action for row in rows] == ["login", "staff.create"] + ["staff.update"] * 3
    assert rows[1].detail == {"email": "new@example.org", "role": "mentor"}
    assert [row.detail for row in rows[2:]] == [
        {"can_see_phone": True},
        {"on_duty": False},
        {"role": "admin"},
    ]
    assert all(row.target == f"staff:{new.id}" for row in rows[1:])
    assert "a long new password" not in str([row.detail for row in rows])


def test_an_admin_cannot_remove_themself_and_the_last_admin_stays(pau: Pau) -> None:
    admin = signed_in_client(pau, ADMIN, role="admin")
    me = staff_row(pau, ADMIN).id
    for change in ({"active": "false"}, {"role": "mentor"}):
        response = admin.post_form(f"/admin/staff/{me}", change, page="/admin/staff")
        assert (
            response.status_code == 400 and "cannot deactivate or demote yourself" in response.text
        )
    assert staff_row(pau, ADMIN).active and staff_row(pau, ADMIN).role == "admin"
    assert [row.action for row in audit_rows(pau)] == ["login"]


def test_a_deactivated_account_loses_its_sessions_and_can_come_back(pau: Pau) -> None:
    admin = signed_in_client(pau, ADMIN, role="admin")
    mentor = signed_in_client(pau, MENTOR, role="mentor")
    mentor_id = staff_row(pau, MENTOR).id
    assert (
        admin.post_form(
            f"/admin/staff/{mentor_id}", {"active": "false"}, page="/admin/staff"
        ).status_code
        == 303
    )
    assert mentor.get("/admin/login").status_code == 200  # the form: signed out
    with reading(pau.engine) as session:
        assert len(session.exec(select(StaffSession)).all()) == 1
    assert (
        admin.post_form(
            f"/admin/staff/{mentor_id}", {"active": "true"}, page="/admin/staff"
        ).status_code
        == 303
    )
    assert sign_in(admin_test_client(pau), MENTOR, PASSWORD).status_code == 303


def test_the_audit_page_pages_and_filters(pau: Pau) -> None:
    admin = signed_in_client(pau, ADMIN, role="admin")
    with transaction(pau.engine) as session:
        for number in range(250):
            session.add(AuditEntry(at=pau.clock(), staff_email=MENTOR, action="escalation.reply",
                                   target=f"escalation:{number}", detail={"chars": number}))  # fmt: skip
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    assert page.text.count("<tr>") == 201  # the header and 200 lines
    assert "escalation:249" in page.text and "escalation:49<" not in page.text
    older = re.search(r'href="/admin/audit\?before=(\d+)"', page.text)
    assert older
    rest = admin.get(f"/admin/audit?before={older.group(1)}").text
    assert "escalation:49<" in rest and "escalation:50<" not in rest and "boss@example.org" in rest
    logins = admin.get("/admin/audit?action=login").text
    assert logins.count("<tr>") == 2 and "escalation:" not in logins
    mine = admin.get("/admin/audit", params={"email": "BOSS@example.org"}).text
    assert mine.count("<tr>") == 2 and "<code>login</code>" in mine


def test_templates_escape_what_they_show(pau: Pau) -> None:
    autoescape = deps.templates.env.autoescape
    assert callable(autoescape) and autoescape("page.html") is True
    admin = signed_in_client(pau, ADMIN, role="admin")
    admin.get("/admin/staff")
    request: Request = Request({"type": "http", "app": admin.client.app, "path": "/admin/x",
                                "headers": [], "query_string": b""})  # fmt: skip
    staff = deps.StaffView(id=1, email="<script>alert(1)</script>", name="", role="admin",
                           can_see_phone=True)  # fmt: skip
    body = deps.error_page(request, 400, "<script>alert(2)</script>", staff).body
    html = bytes(body).decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


# --- pau admin create-user ------------------------------------------------------------------


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PAU_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def create_user(monkeypatch: pytest.MonkeyPatch, stdin: str, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["admin", "create-user", *args])


def test_create_user_makes_the_first_admin(
    cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--email", "First@Example.org", "--role", "admin", "--name", "Ann")
    assert create_user(monkeypatch, "a good long password\n", *args) == 0
    assert capsys.readouterr().out.strip() == "Created admin first@example.org"
    engine = make_engine(cli_database)
    with reading(engine) as session:
        [staff] = session.exec(select(Staff)).all()
    engine.dispose()
    assert (staff.email, staff.role, staff.name, staff.active) == (
        "first@example.org",
        "admin",
        "Ann",
        True,
    )
    assert staff.password_hash.startswith("$argon2id$")
    assert create_user(monkeypatch, "another long password\n", *args) == 1
    assert "already an account for first@example.org" in capsys.readouterr().err


def test_create_user_refuses_a_short_password(
    cli_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create_user(monkeypatch, "short\n", "--email", "a@example.org", "--role", "mentor") == 1
    assert "at least 12 characters" in capsys.readouterr().err
    upgrade(cli_database)
    engine = make_engine(cli_database)
    with reading(engine) as session:
        assert session.exec(select(Staff)).all() == []
    engine.dispose()


def test_an_account_made_by_the_cli_signs_in(
    cli_database: str, monkeypatch: pytest.MonkeyPatch, pau: Pau
) -> None:
    assert (
        create_user(
            monkeypatch, "a good long password\n", "--email", "a@example.org", "--role", "admin"
        )
        == 0
    )
    engine = make_engine(cli_database)
    pau.engine = engine
    try:
        response = sign_in(admin_test_client(pau), "a@example.org", "a good long password")
        assert response.status_code == 303
    finally:
        engine.dispose()
