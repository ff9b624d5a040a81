"""Staff accounts, their signed-in sessions, sign-in tries (for throttling) and the audit log.

Like every repository here: keyword-only arguments, and nothing commits (the caller owns the
transaction). E-mail addresses are kept lower-case; `normal_email` makes them so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from storage.db import from_db
from storage.models import AuditEntry, LoginAttempt, Staff, StaffSession

ROLES = ("mentor", "admin")


def normal_email(email: str) -> str:
    """The form an e-mail address is stored and looked up in."""
    return email.strip().lower()


def create_staff(
    session: Session, *, email: str, name: str, role: str, password_hash: str, now: datetime
) -> Staff:
    """A new active account (the caller checks that the e-mail is free: it is unique)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    staff = Staff(
        email=normal_email(email), name=name.strip(), role=role,
        password_hash=password_hash, created_at=now,
    )  # fmt: skip
    session.add(staff)
    session.flush()
    return staff


def staff_by_email(session: Session, *, email: str) -> Staff | None:
    """The account with this e-mail address (any case), active or not."""
    return session.exec(select(Staff).where(Staff.email == normal_email(email))).first()


def staff_by_id(session: Session, *, staff_id: int) -> Staff | None:
    """The account with this id, active or not."""
    return session.get(Staff, staff_id)


def all_staff(session: Session) -> list[Staff]:
    """Every account: active ones first, then by e-mail."""
    query = select(Staff).order_by(col(Staff.active).desc(), col(Staff.email))
    return list(session.exec(query).all())


def active_admins(session: Session) -> int:
    """How many active admins there are (the last one may not be removed)."""
    query = select(func.count()).select_from(Staff)
    query = query.where(Staff.role == "admin", col(Staff.active).is_(True))
    return int(session.exec(query).one())


# --- sessions ---------------------------------------------------------------------------------


def open_session(
    session: Session, *, token_hash: str, staff_id: int, now: datetime, expires_at: datetime,
    address: str,
) -> None:  # fmt: skip
    """A signed-in browser, known by the hash of its cookie's token."""
    session.add(
        StaffSession(
            token_hash=token_hash,
            staff_id=staff_id,
            created_at=now,
            expires_at=expires_at,
            last_seen_at=now,
            address=address[:64],
        )
    )


@dataclass(frozen=True)
class SignedIn:
    """A live session and its (active) account."""

    staff: Staff
    last_seen_at: datetime


def signed_in(session: Session, *, token_hash: str, now: datetime) -> SignedIn | None:
    """The active account behind a session that has not expired; None otherwise (an unknown or
    expired token, or a deactivated account)."""
    query = (
        select(StaffSession, Staff)
        .join(Staff, col(Staff.id) == col(StaffSession.staff_id))
        .where(StaffSession.token_hash == token_hash)
        .where(col(StaffSession.expires_at) > now, col(Staff.active).is_(True))
    )
    row = session.exec(query).first()
    if row is None:
        return None
    staff_session, staff = row
    return SignedIn(staff=staff, last_seen_at=from_db(staff_session.last_seen_at))


def touch_session(
    session: Session, *, token_hash: str, now: datetime, expires_at: datetime
) -> None:
    """The session was used: it lives on until `expires_at` (sliding lifetime)."""
    session.execute(
        sa.update(StaffSession)
        .where(col(StaffSession.token_hash) == token_hash)
        .values(last_seen_at=now, expires_at=expires_at)
    )


def close_session(session: Session, *, token_hash: str) -> None:
    """Sign this browser out."""
    session.execute(sa.delete(StaffSession).where(col(StaffSession.token_hash) == token_hash))


def close_sessions_of(session: Session, *, staff_id: int) -> None:
    """Sign every browser of this account out (it was deactivated)."""
    session.execute(sa.delete(StaffSession).where(col(StaffSession.staff_id) == staff_id))


def prune_sessions(session: Session, *, now: datetime) -> None:
    """Forget expired sessions."""
    session.execute(sa.delete(StaffSession).where(col(StaffSession.expires_at) <= now))


# --- sign-in tries ----------------------------------------------------------------------------


def record_attempt(
    session: Session, *, email: str, address: str, succeeded: bool, at: datetime
) -> None:
    """One sign-in try, kept for throttling."""
    session.add(
        LoginAttempt(
            email=normal_email(email)[:254], address=address[:64], succeeded=succeeded, at=at
        )
    )


def failures_for_email(session: Session, *, email: str, since: datetime) -> list[datetime]:
    """When this account's sign-in failed since `since` and since its last success, oldest
    first (a success starts the count again)."""
    email = normal_email(email)[:254]
    last_success = session.exec(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.email == email, col(LoginAttempt.succeeded).is_(True)
        )
    ).one()
    if last_success is not None and from_db(last_success) > since:
        since = from_db(last_success)
    query = select(LoginAttempt.at).where(
        LoginAttempt.email == email, col(LoginAttempt.succeeded).is_(False), LoginAttempt.at > since
    )
    return sorted(from_db(at) for at in session.exec(query).all())


def failures_from_address(session: Session, *, address: str, since: datetime) -> list[datetime]:
    """When sign-ins from this address failed since `since`, oldest first (successes do not
    reset it: one's own account must not unlock guessing at others')."""
    query = select(LoginAttempt.at).where(
        LoginAttempt.address == address[:64],
        col(LoginAttempt.succeeded).is_(False),
        LoginAttempt.at > since,
    )
    return sorted(from_db(at) for at in session.exec(query).all())


def prune_attempts(session: Session, *, before: datetime) -> None:
    """Forget sign-in tries older than `before`."""
    session.execute(sa.delete(LoginAttempt).where(col(LoginAttempt.at) < before))


# --- audit log --------------------------------------------------------------------------------


def add_audit(
    session: Session, *, at: datetime, staff_id: int | None, staff_email: str, action: str,
    target: str = "", detail: dict[str, Any] | None = None, address: str = "",
) -> None:  # fmt: skip
    """One line of the audit log."""
    session.add(
        AuditEntry(
            at=at,
            staff_id=staff_id,
            staff_email=staff_email[:254],
            action=action[:64],
            target=target[:128],
            detail=detail or {},
            address=address[:64],
        )
    )


def audit_entries(
    session: Session, *, before: int | None = None, action_prefix: str = "",
    staff_email: str = "", limit: int = 200,
) -> list[AuditEntry]:  # fmt: skip
    """The audit log newest first, `limit` lines with ids below `before`, optionally only the
    actions starting with `action_prefix` and one staff member's (by e-mail)."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if before is not None:
        query = query.where(col(AuditEntry.id) < before)
    if action_prefix:
        escaped = action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(col(AuditEntry.action).like(escaped + "%", escape="\\"))
    if staff_email:
        query = query.where(AuditEntry.staff_email == normal_email(staff_email))
    return list(session.exec(query).all())
