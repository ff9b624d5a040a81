"""The admin page's security: password hashes (argon2id), session tokens, CSRF tokens, sign-in
throttling and the sign-in itself. The routes are in login.py; the per-request checks in deps.py.

A session cookie holds a random token; the database keeps only its sha256, so a leaked table
signs nobody in. A CSRF token is an HMAC (itsdangerous, keyed by PAU_SECRET_KEY) over that hash:
nothing secret is shown in the page, and a token is good only with its own session's cookie.
Before sign-in, a short-lived random cookie (`pau_login`) plays the session's part for the login
form.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import Signer
from sqlalchemy.engine import Engine

from storage import staff as staff_repo
from storage.db import transaction

log = logging.getLogger(__name__)

SESSION_COOKIE = "pau_admin"
LOGIN_COOKIE = "pau_login"
COOKIE_PATH = "/admin"
SESSION_LIFETIME = timedelta(hours=12)  # sliding: every use moves it on
TOUCH_EVERY = timedelta(minutes=1)  # at most one write a minute per session
LOGIN_FORM_LIFETIME = timedelta(hours=1)
MIN_PASSWORD_CHARS = 12
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
KEEP_ATTEMPTS = timedelta(days=1)
CSRF_SALT = "pau-admin-csrf"
WRONG_CREDENTIALS = "Wrong e-mail or password"
FORM_EXPIRED = "This form has expired. Reload the page and try again."

# argon2id with argon2-cffi's recommended parameters (tests swap in cheaper ones: see
# tests/admin_client.py); read at each call, so that a swap takes effect everywhere.
PASSWORD_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return PASSWORD_HASHER.check_needs_rehash(password_hash)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Checked against when the e-mail is unknown, so that both cases take as long."""
    return hasher.hash(secrets.token_urlsafe(16))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(secret: bytes, token_digest: str) -> str:
    """The CSRF token of a session (or a login form), given its token's hash."""
    return Signer(secret, salt=CSRF_SALT).get_signature(token_digest).decode("ascii")


def csrf_matches(secret: bytes, token_digest: str, supplied: str | None) -> bool:
    if not supplied:
        return False
    expected = csrf_token(secret, token_digest)
    return hmac.compare_digest(expected.encode("ascii"), supplied.encode("utf-8", "replace"))


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: only a path of this admin page (never another site)."""
    default = "/admin/inbox"
    if not target or not target.startswith("/admin"):
        return default
    if target.startswith(("//", "/\\")) or "\\" in target or "://" in target:
        return default
    if any(ord(char) < 32 for char in target):
        return default
    if target != "/admin" and not target.startswith(("/admin/", "/admin?")):
        return default  # "/admin.evil" and the like
    if target.startswith(("/admin/login", "/admin/logout")):
        return default
    return target


def minutes_text(minutes: int) -> str:
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def throttled_message(minutes: int) -> str:
    return f"Too many sign-in attempts. Try again in {minutes_text(minutes)}."


def _unlocked_at(failures: list[datetime], limit: int) -> datetime | None:
    """When a lock ends: once the failure that made `limit` leaves the window."""
    if len(failures) < limit:
        return None
    return failures[len(failures) - limit] + THROTTLE_WINDOW


@dataclass(frozen=True)
class SignInResult:
    """What a sign-in try came to: a session token, or the message to show (and its status)."""

    token: str | None = None
    staff_id: int | None = None
    message: str = ""
    status_code: int = 200


def sign_in(
    engine: Engine, *, email: str, password: str, address: str, now: datetime
) -> SignInResult:
    """Check a sign-in try against the throttles and the password; on success open a session.
    Every try is recorded (for the throttles) and audited, except those refused while locked."""
    email = staff_repo.normal_email(email)
    since = now - THROTTLE_WINDOW
    with transaction(engine) as session:
        staff_repo.prune_attempts(session, before=now - KEEP_ATTEMPTS)
        staff_repo.prune_sessions(session, now=now)
        locks = [
            _unlocked_at(
                staff_repo.failures_for_email(session, email=email, since=since),
                MAX_FAILURES_PER_ACCOUNT,
            ),
            _unlocked_at(
                staff_repo.failures_from_address(session, address=address, since=since),
                MAX_FAILURES_PER_ADDRESS,
            ),
        ]
        until = max((lock for lock in locks if lock is not None), default=None)
        if until is not None:
            log.warning("admin sign-in throttled")
            minutes = max(1, math.ceil((until - now).total_seconds() / 60))
            return SignInResult(message=throttled_message(minutes), status_code=429)
        staff = staff_repo.staff_by_email(session, email=email)
        password_ok = verify_password(
            staff.password_hash if staff else _dummy_hash(PASSWORD_HASHER), password
        )
        reason = (
            "unknown_email" if staff is None
            else "wrong_password" if not password_ok
            else "inactive" if not staff.active
            else ""
        )  # fmt: skip
        staff_repo.record_attempt(
            session, email=email, address=address, succeeded=not reason, at=now
        )
        staff_id = staff.id if staff else None
        if reason or staff is None or staff_id is None:
            staff_repo.add_audit(
                session, at=now, staff_id=staff_id, staff_email=email, action="login.failed",
                detail={"reason": reason}, address=address,
            )  # fmt: skip
            return SignInResult(message=WRONG_CREDENTIALS, status_code=400)
        if needs_rehash(staff.password_hash):
            staff.password_hash = hash_password(password)
        staff.last_login_at = now
        token = new_token()
        staff_repo.open_session(
            session, token_hash=token_hash(token), staff_id=staff_id, now=now,
            expires_at=now + SESSION_LIFETIME, address=address,
        )  # fmt: skip
        staff_repo.add_audit(
            session, at=now, staff_id=staff_id, staff_email=staff.email, action="login",
            address=address,
        )  # fmt: skip
    return SignInResult(token=token, staff_id=staff_id)
