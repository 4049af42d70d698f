"""The sign-in page the 0.1.x SDK redirects to (API.md §7.4), logout redirect and public settings.

A successful sign-in redirects (303) to `from_url` with `access_token` added — only to origins this
server trusts (CORS_ORIGINS, FRONTEND_URL, PUBLIC_URL), never an open redirect.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from backend.config import get_settings
from backend.database import discard
from backend.deps import SessionDep, client_ip
from backend.errors import DomainError, Forbidden, Unauthorized
from backend.jsonutil import JSONResponse
from backend.routes.base44.common import AppId, check_app
from backend.routes.base44.login_html import render_page
from backend.routing import JsonRoute
from backend.services import auth as auth_service
from backend.services.security import bearer_token

router = APIRouter(tags=["Base44 login"], route_class=JsonRoute)


def allowed_redirect(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL on a trusted origin, else None."""
    if not url or len(url) > 2048 or any(c in url for c in "\\\r\n\t\x00") or url.startswith("//"):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    settings = get_settings()
    trusted = {o for o in settings.cors_list if o != "*"} | {
        settings.frontend_url.rstrip("/"),
        settings.public_url.rstrip("/"),
    }
    return url if f"{parts.scheme}://{parts.netloc}".lower() in {t.lower() for t in trusted} else None


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"]
    query.append(("access_token", token))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


@router.get("/login", response_class=HTMLResponse, operation_id="login_page")
def login_page(
    from_url: str | None = None,
    app_id: str | None = None,
    lang: str = "he",
    reset_token: str | None = None,
    invite_token: str | None = None,
) -> Response:
    """The sign-in form (Hebrew by default, `?lang=en` for English); also sets a password from a reset link."""
    token = reset_token or invite_token
    if from_url and allowed_redirect(from_url) is None:
        return render_page(lang, error="bad_redirect", status=400)
    return render_page(lang, from_url=from_url, app_id=app_id, reset_token=token)


@router.post("/login", response_class=HTMLResponse, operation_id="login_submit")
def login_submit(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    from_url: Annotated[str, Form(max_length=2048)] = "",
    app_id: Annotated[str, Form(max_length=128)] = "",
    lang: Annotated[str, Form(max_length=8)] = "he",
    reset_token: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Sign in (303 to `from_url` with `access_token`), or set a new password from a reset link. A refusal is
    the form again with the reason, and keeps nothing the request wrote (the sign-in limit's count is its own)."""
    target = allowed_redirect(from_url) if from_url else allowed_redirect(get_settings().frontend_url)
    if from_url and target is None:
        return render_page(lang, error="bad_redirect", status=400)
    back, app = from_url or None, app_id or None
    try:
        if reset_token:
            auth_service.redeem_reset(session, reset_token, new_password)
            return render_page(lang, notice="password_set", from_url=back, app_id=app)
        result = auth_service.login(session, email, password, client_ip(request))
    except DomainError as exc:
        discard(session)
        return render_page(
            lang, error=exc.code, message=exc.message, status=exc.status, email=email, headers=exc.headers,
            from_url=back, app_id=app, reset_token=reset_token or None,
        )  # fmt: skip
    if target is None:
        return render_page(lang, notice="signed_in", from_url=back, app_id=app)
    return RedirectResponse(_with_token(target, result["access_token"]), status_code=303)


@router.get("/api/apps/auth/logout", operation_id="b44_logout")
def logout(request: Request, session: SessionDep, from_url: str | None = None) -> Response:
    """Revokes the bearer token if one is sent, then 302 to `from_url` (trusted origins only)."""
    token = bearer_token(request.headers.get("authorization"))
    if token:
        with suppress(Unauthorized):  # not signed in (any more): nothing to revoke
            auth_service.logout(session, auth_service.authenticate(session, token))
    target = allowed_redirect(from_url) if from_url else allowed_redirect(get_settings().frontend_url)
    if target is None:
        return render_page("he", error="bad_redirect", status=400)
    return RedirectResponse(target, status_code=302)


@router.get("/api/apps/public/prod/public-settings/by-id/{app_id}", operation_id="b44_public_settings")
def public_settings(app_id: AppId, request: Request, session: SessionDep) -> Response:
    """`200 {id, public_settings}` for a signed-in caller; without a valid token `403` with
    `extra_data.reason = "auth_required"`, which is what sends a Base44 0.8-template app to its login page."""
    check_app(app_id)
    token = bearer_token(request.headers.get("authorization"))
    try:
        if not token:
            raise Unauthorized()
        auth_service.authenticate(session, token)
    except Unauthorized:
        error = Forbidden("Sign in to use this app")
        return JSONResponse(
            {"detail": error.message, "message": error.message, "code": "auth_required",
             "extra_data": {"reason": "auth_required"}},
            status_code=403,
        )  # fmt: skip
    return JSONResponse({"id": app_id, "public_settings": {"requires_auth": True}})
