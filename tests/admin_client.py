"""Test helpers for the admin page: staff accounts, and a client signed in through the real login
form that adds the CSRF token to its POSTs, as a browser with the page open would.

    staff_id = add_staff(pau, "mentor@example.org")                       # a mentor
    admin = signed_in_client(pau, "boss@example.org", role="admin")       # adds the account too
    page = admin.get("/admin/staff")                                      # remembers the page
    admin.post_form("/admin/staff", {"email": ..., "role": "mentor", ...})  # its csrf_token
    admin.post_form("/admin/staff/3", {"active": "false"}, page="/admin/staff")  # token from a GET
    admin.client                                                          # the TestClient

argon2's real parameters cost about half a second a hash on a busy machine; a test module that
signs in often uses cheap ones (still argon2id) with
    from tests.admin_client import cheap_password_hashing  # noqa: F401  (an autouse fixture)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from storage import staff as staff_repo
from storage.db import transaction
from webhooks.admin import auth
from webhooks.admin.auth import hash_password
from webhooks.app import create_app
from webhooks.container import Pau

if TYPE_CHECKING:
    from httpx2 import Response  # what starlette's TestClient answers with

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "PASSWORD_HASHER", CHEAP_HASHER)


def add_staff(
    pau: Pau, email: str, role: str = "mentor", password: str = PASSWORD, name: str = "",
    *, can_see_phone: bool = False, on_duty: bool = True, active: bool = True,
) -> int:  # fmt: skip
    """A staff account straight in the database; its id."""
    with transaction(pau.engine) as session:
        staff = staff_repo.create_staff(
            session, email=email, name=name or email.split("@")[0].title(), role=role,
            password_hash=hash_password(password), now=pau.clock(),
        )  # fmt: skip
        staff.can_see_phone, staff.on_duty, staff.active = can_see_phone, on_duty, active
        assert staff.id is not None
        return staff.id


def admin_test_client(pau: Pau, address: str = "testclient") -> TestClient:
    """A TestClient on the whole app (no scheduler); https when PAU_BASE_URL is."""
    https = pau.settings.pau_base_url.startswith("https://")
    return TestClient(
        create_app(pau.settings, pau=pau, scheduler=False),
        base_url="https://testserver" if https else "http://testserver",
        follow_redirects=False,
        client=(address, 50000),
    )


def csrf_token_in(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


class StaffClient:
    """A signed-in browser. Redirects are not followed unless asked (`follow_redirects=True`)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.last_page = ""

    def get(self, url: str, **kwargs: Any) -> Response:
        response = self.client.get(url, **kwargs)
        if "text/html" in response.headers.get("content-type", ""):
            self.last_page = response.text
        return response

    def csrf_token(self, page: str | None = None) -> str:
        """The token from `page` (fetched now) or from the last page fetched."""
        if page is not None:
            response = self.get(page)
            assert response.status_code == 200, (page, response.status_code)
        return csrf_token_in(self.last_page)

    def post_form(
        self, url: str, data: dict[str, Any] | None = None, *, page: str | None = None,
        **kwargs: Any,
    ) -> Response:  # fmt: skip
        """POST a form with the csrf_token read from `page` (a GET now) or the last page."""
        form = {**(data or {}), "csrf_token": self.csrf_token(page)}
        response = self.client.post(url, data=form, **kwargs)
        if "text/html" in response.headers.get("content-type", ""):
            self.last_page = response.text
        return response


def sign_in(client: TestClient, email: str, password: str, next_path: str = "") -> Response:
    """Through the real form: GET /admin/login (its cookie and token), then POST it."""
    form = client.get("/admin/login", params={"next": next_path} if next_path else None)
    assert form.status_code == 200, form.status_code
    data = {"email": email, "password": password, "csrf_token": csrf_token_in(form.text)}
    if next_path:
        data["next"] = next_path
    return client.post("/admin/login", data=data)


def signed_in_client(
    pau: Pau, email: str, password: str = PASSWORD, *, role: str | None = None,
    address: str = "testclient",
) -> StaffClient:  # fmt: skip
    """A client signed in as `email` (with `role`, the account is added first)."""
    if role is not None:
        add_staff(pau, email, role=role, password=password)
    client = admin_test_client(pau, address)
    response = sign_in(client, email, password)
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return StaffClient(client)
