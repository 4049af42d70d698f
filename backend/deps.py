"""The `Annotated` dependency aliases every route uses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from backend.concurrency import in_thread
from backend.config import Settings, get_settings
from backend.database import get_session, run_read
from backend.errors import Forbidden, Unauthorized
from backend.services.auth import AuthUser, authenticate

# scope="function": the session commits when the handler returns, *before* the response is sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]

# auto_error=False: we answer a missing token ourselves with API.md's error body.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


async def get_current_user(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> AuthUser:
    """Checked against the database on every request (revocation, disabling and password changes act at
    once), on a pooled autocommit connection of its own: one round trip, no session."""
    if not token:
        raise Unauthorized("Not authenticated: send `Authorization: Bearer <token>`")
    user = await in_thread(lambda: run_read(lambda conn: authenticate(conn, token)))
    request.state.user = user
    return user


async def require_admin(user: Annotated[AuthUser, Depends(get_current_user)]) -> AuthUser:
    if not user.is_admin:
        raise Forbidden("Only an administrator may do this")
    return user


CurrentUser = Annotated[AuthUser, Depends(get_current_user)]
AdminUser = Annotated[AuthUser, Depends(require_admin)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
