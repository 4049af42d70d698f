"""The `Annotated` dependency aliases every route uses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from backend.concurrency import in_auth_thread
from backend.config import Settings, get_settings
from backend.database import get_session, run_auth
from backend.errors import Forbidden, Unauthorized
from backend.services.auth import AuthUser, authenticate
from backend.services.users import own_record

# scope="function": the session commits when the handler returns, *before* the response is sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]

# auto_error=False: we answer a missing token ourselves with API.md's error body.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


async def get_current_user(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> AuthUser:
    """Checked against the database on every request (revocation, disabling and password changes act at
    once), on a pooled autocommit connection of its own: one round trip, no session. Threads and pool are
    the auth check's alone, so it never waits behind slow reads."""
    if not token:
        raise Unauthorized("Not authenticated: send `Authorization: Bearer <token>`")
    user = await in_auth_thread(lambda: run_auth(lambda conn: authenticate(conn, token)))
    request.state.user = user
    return user


async def get_own_record(user: Annotated[AuthUser, Depends(get_current_user)]) -> dict[str, Any]:
    """`/me`: the signed-in user's record, read on the auth threads and pool like the session check before
    it — the request every page makes first never waits for a database worker thread or the write pool."""
    return await in_auth_thread(lambda: run_auth(lambda conn: own_record(conn, user.id)))


async def require_admin(user: Annotated[AuthUser, Depends(get_current_user)]) -> AuthUser:
    if not user.is_admin:
        raise Forbidden("Only an administrator may do this")
    return user


CurrentUser = Annotated[AuthUser, Depends(get_current_user)]
OwnRecord = Annotated[dict[str, Any], Depends(get_own_record)]
AdminUser = Annotated[AuthUser, Depends(require_admin)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
