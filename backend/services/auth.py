"""Sign-in with database-backed throttling, token checks, logout, password change and reset links."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, literal_column, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.database import unit_of_work
from backend.errors import BadRequest, RateLimited, Unauthorized
from backend.executor import Precompiled, executor
from backend.models.base import utcnow
from backend.models.schema_store import RegistryGeneration
from backend.models.user import LoginFailure, PasswordReset, RevokedToken, User
from backend.services import mail, registry, session_cache
from backend.services.rules import Viewer
from backend.services.security import (
    TokenClaims,
    create_access_token,
    decode_access_token,
    hash_password,
    sha256_hex,
    verify_password,
)
from backend.services.users import check_password_rules, user_record

log = logging.getLogger(__name__)
BAD_CREDENTIALS = "Incorrect email or password"
RESET_LIFETIME = dt.timedelta(hours=24)


@dataclass(frozen=True)
class AuthUser:
    """Who is calling, as checked against the database on this request."""

    id: str
    email: str
    role: str
    claims: TokenClaims
    viewer: Viewer  # the same user as row rules see it (app_role, custom fields)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


# Built once: this runs on every request, and a prebuilt statement skips SQLAlchemy's construction work.
# It also reads the registry's generation, so a schema or rule stored by any process is seen at once.
_AUTH_QUERY = select(
    User.id,
    User.email,
    User.role,
    User.disabled,
    User.token_version,
    exists().where(RevokedToken.jti == bindparam("jti")),
    select(RegistryGeneration.generation).where(RegistryGeneration.id == literal_column("1")).scalar_subquery(),
    User.app_role,
    User.full_name,
    User.extra,
).where(User.id == bindparam("sub"))


_AUTH = Precompiled(_AUTH_QUERY)
_SCHEMAS = Precompiled(registry.load_query())


async def check_token(token: str) -> AuthUser:
    """Every request's session check, on the executor's auth lane (never behind reads): one query — the user
    must exist, be enabled, hold this token version, and the token not be revoked. It also notices a new
    registry generation (a schema or row rule stored by any process) and reloads the stored schemas. Its
    answer is reused until any of that changes (services/session_cache.py)."""
    claims = decode_access_token(token)  # a forged or expired token stops here, before any query
    key = (claims.jti, claims.sub)
    row = session_cache.recall(key)  # what this query answered lately, while nothing it reads has changed
    if row is session_cache.UNKNOWN:
        since = session_cache.epoch()
        rows = await executor().rows_of(_AUTH, {"jti": claims.jti, "sub": claims.sub}, lane="auth")
        row = rows[0] if rows else None
        session_cache.remember(key, row, since)
    user, current = _check_session(row, claims)
    if current != registry.generation():
        stored = [(row[0], row[1]) for row in await executor().rows_of(_SCHEMAS, {}, lane="auth")]
        registry.sync(current, lambda: stored)
    return user


def authenticate(session: Session | Connection, token: str) -> AuthUser:
    """The same check in a sync session (the login page's sign-out, a file fetched with a token)."""
    claims = decode_access_token(token)
    user, current = _check_session(session.execute(_AUTH_QUERY, {"jti": claims.jti, "sub": claims.sub}).first(), claims)
    registry.sync(current, lambda: [(row[0], row[1]) for row in session.execute(registry.load_query())])
    return user


def _check_session(row: Any, claims: TokenClaims) -> tuple[AuthUser, int]:
    """`row` is the auth query's (id, email, role, disabled, token_version, revoked, generation, app_role,
    full_name, extra) or None; answers the user and the registry generation the database holds."""
    if row is None or row[3] or row[4] != claims.ver or row[5]:
        raise Unauthorized("This session is no longer valid; sign in again")
    extra = row[9] if isinstance(row[9], dict) else {}
    viewer = Viewer(id=row[0], email=row[1], role=row[2], app_role=row[7], full_name=row[8], data=extra)
    return AuthUser(id=row[0], email=row[1], role=row[2], claims=claims, viewer=viewer), row[6] or 0


def _lock_key(kind: str, value: str) -> int:
    """A 64-bit advisory-lock key for one email or one client address."""
    return int.from_bytes(hashlib.sha256(f"login:{kind}:{value}".encode()).digest()[:8], "big", signed=True)


def _record_attempt(email: str, ip: str) -> None:
    """Record this sign-in attempt as a failure *before* its password is checked, and count it, atomically.

    Checking first and recording after the check let parallel attempts all pass the count before any was
    recorded (60 parallel tries: 31 password checks instead of 5). Here the attempt's row is written
    first and counted in the same transaction; on PostgreSQL that transaction holds an advisory lock per
    email and per address, so concurrent attempts for either count one after another (SQLite holds its
    one write lock from the INSERT to the commit anyway). Past a limit the 429 raised in the unit of work
    rolls it back — the refused attempt is not counted. A successful sign-in deletes the rows again.
    Its own unit of work: the request's session rolls back with a 401, the count must stay.
    """
    settings = get_settings()
    with unit_of_work() as other:
        if other.get_bind().dialect.name == "postgresql":
            for key in sorted({_lock_key("email", email), _lock_key("ip", ip)}):  # one order: no deadlock
                other.execute(select(func.pg_advisory_xact_lock(key)))
        other.add(LoginFailure(email=email[:320], ip=ip[:64]))
        other.flush()
        since = utcnow() - dt.timedelta(seconds=settings.login_window_seconds)
        checks = (
            (LoginFailure.email == email, settings.login_max_failures),
            (LoginFailure.ip == ip, settings.login_max_failures * 10),
        )
        for condition, limit in checks:
            count, oldest = other.execute(
                select(func.count(), func.min(LoginFailure.at)).where(condition, LoginFailure.at >= since)
            ).one()
            if count > limit:  # this attempt included
                ends = oldest + dt.timedelta(seconds=settings.login_window_seconds)
                raise RateLimited(
                    "Too many failed sign-in attempts; try again later",
                    retry_after=int((ends - utcnow()).total_seconds()) + 1,
                )


def login(session: Session, email: Any, password: Any, ip: str) -> dict[str, Any]:
    """Returns `{access_token, token_type, expires_in, user}`; the same 401 for any wrong pair.

    At most LOGIN_MAX_FAILURES password checks per email (10x per address) happen within the window,
    however many attempts arrive at once: each is recorded before its check (`_record_attempt`).
    """
    if not isinstance(email, str) or not isinstance(password, str) or not email or len(email) > 320 or "\x00" in email:
        raise Unauthorized(BAD_CREDENTIALS)
    email = email.strip().lower()
    _record_attempt(email, ip)
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    ok = verify_password(password[:1024], user.password_hash if user else None)
    # A disabled account gets the same 401 as a wrong password, after the same work: answering the right
    # password differently (it was a 403) told whoever tries passwords that they found it. The attempt
    # stays recorded either way.
    if user is None or not ok or user.disabled:
        raise Unauthorized(BAD_CREDENTIALS)
    session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    token, lifetime = create_access_token(user.id, user.email, user.role, user.token_version)
    return {"access_token": token, "token_type": "bearer", "expires_in": lifetime, "user": user_record(user)}


def clear_failures(session: Session, email: str) -> None:
    """Forget the email's failed sign-ins (an admin just set its password: they may sign in at once)."""
    session.execute(delete(LoginFailure).where(LoginFailure.email == email.strip().lower()))


def logout(session: Session, auth: AuthUser) -> None:
    session.merge(RevokedToken(jti=auth.claims.jti, expires_at=auth.claims.exp))
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))


def set_password(session: Session, user: User, new_password: str) -> None:
    """Set a new password (the rules apply); every token issued before stops working."""
    user.password_hash = hash_password(check_password_rules(new_password, "new_password"))
    user.token_version += 1
    user.updated_date = utcnow()
    session.flush()


def change_password(session: Session, auth: AuthUser, current: Any, new: Any) -> None:
    user = session.get(User, auth.id)
    if user is None or not isinstance(current, str) or not verify_password(current, user.password_hash):
        raise BadRequest("The current password is not correct")
    set_password(session, user, new)


def issue_reset(session: Session, user: User, purpose: str = "reset") -> dict[str, Any]:
    """A one-time link valid for 24 hours; only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + RESET_LIFETIME
    session.add(PasswordReset(token_hash=sha256_hex(token), user_id=user.id, expires_at=expires))
    session.flush()
    base = get_settings().public_url.rstrip("/")
    return {"reset_token": token, "reset_url": f"{base}/login?{purpose}_token={token}", "expires_at": expires}


def request_reset(session: Session, email: Any) -> None:
    """Self-service reset: mails a one-time link when SMTP is configured; silent for unknown emails."""
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        return
    if not mail.is_configured():
        log.warning("a password reset was requested but SMTP is not configured; an admin can issue a link")
        return
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or user.disabled:
        return
    link = issue_reset(session, user)
    mail.send_mail(
        to=user.email,
        subject="Reset your password / איפוס סיסמה",
        body=f"Open this link within 24 hours to choose a new password:\n{link['reset_url']}\n",
    )


def redeem_reset(session: Session, token: Any, new_password: Any) -> User:
    if not isinstance(token, str) or not 8 <= len(token) <= 200:
        raise BadRequest("This reset link is not valid")
    check_password_rules(new_password, "new_password")
    now = utcnow()
    claimed = session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == sha256_hex(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordReset.user_id)
    ).first()
    if claimed is None:
        raise BadRequest("This reset link is not valid, was already used, or has expired")
    user = session.get(User, claimed.user_id)
    if user is None:
        raise BadRequest("This reset link is not valid")
    set_password(session, user, new_password)
    user.is_verified = True
    return user
