"""The `Annotated` dependency aliases every route uses."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from backend.database import get_session
from backend.errors import Forbidden, NotFound, Unauthorized
from backend.executor import executor
from backend.jsonutil import JSONResponse
from backend.services.auth import AuthUser, check_token
from backend.services.users import own_record_query, user_record

# scope="function": the session commits when the handler returns, *before* the response is sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class AfterCommitResponse(JSONResponse):
    """A JSON answer made once the request's unit of work has committed, just before it is sent: for work that
    must not start unless the request's writes are kept, but whose outcome the answer reports (delivering a
    WhatsApp message the request reserved). FastAPI ends SessionDep — its commit — before it sends the
    response; when the commit fails the client gets that error instead, and `produce` never runs."""

    def __init__(self, produce: Callable[[], Any], status_code: int = 200) -> None:
        super().__init__(None, status_code=status_code)
        self._produce = produce

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.body = self.render(await run_in_threadpool(self._produce))
        self.headers["content-length"] = str(len(self.body))
        await super().__call__(scope, receive, send)


# auto_error=False: we answer a missing token ourselves with API.md's error body.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/auth/login", auto_error=False)


async def get_current_user(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> AuthUser:
    """Checked against the database on every request (revocation, disabling and password changes act at
    once): one round trip on the executor's auth lane, which reads never fill."""
    if not token:
        raise Unauthorized("Not authenticated: send `Authorization: Bearer <token>`")
    user = await check_token(token)
    request.state.user = user
    return user


async def current_user_of(request: Request) -> AuthUser:
    """`get_current_user` with its token read as FastAPI would (the routes called directly, backend/routing.py)."""
    return await get_current_user(request, await _bearer(request))


async def get_own_record(user: Annotated[AuthUser, Depends(get_current_user)]) -> dict[str, Any]:
    """`/me`: the signed-in user's record, read on the auth lane like the session check before it — the
    request every page makes first never waits behind reads or for the write pool."""
    rows = await executor().rows(own_record_query(user.id), lane="auth")
    if not rows:
        raise NotFound(f"No user with id {user.id!r}")
    columns = [column.key for column in own_record_query(user.id).selected_columns]
    return user_record(SimpleNamespace(**dict(zip(columns, rows[0], strict=True))))


async def require_admin(user: Annotated[AuthUser, Depends(get_current_user)]) -> AuthUser:
    if not user.is_admin:
        raise Forbidden("Only an administrator may do this")
    return user


CurrentUser = Annotated[AuthUser, Depends(get_current_user)]
OwnRecord = Annotated[dict[str, Any], Depends(get_own_record)]
AdminUser = Annotated[AuthUser, Depends(require_admin)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
