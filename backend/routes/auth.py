"""Sign-in, profile, password and logout routes (API.md §4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from backend.deps import CurrentUser, OwnRecord, SessionDep, client_ip
from backend.jsonutil import JSONResponse
from backend.routing import JsonRoute
from backend.schemas.auth import ChangePasswordIn, ResetPasswordIn, TokenOut, UserOut
from backend.services import auth as auth_service
from backend.services import entities
from backend.services.users import get_user, update_profile, user_record

public = APIRouter(prefix="/api/auth", tags=["auth"], route_class=JsonRoute)
router = APIRouter(prefix="/api/auth", tags=["auth"], route_class=JsonRoute)


@public.post("/login", response_model=TokenOut, operation_id="auth_login")
def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep) -> Response:
    """Sign in with the OAuth2 password form (`username` is the email). Swagger's Authorize button uses it."""
    return JSONResponse(auth_service.login(session, form.username, form.password, client_ip(request)))


@public.post("/reset-password", status_code=204, operation_id="auth_reset_password")
def reset_password(body: ResetPasswordIn, session: SessionDep) -> Response:
    """Redeem a one-time reset link's token and set a new password."""
    auth_service.redeem_reset(session, body.reset_token, body.new_password)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, operation_id="auth_me")
async def me(record: OwnRecord) -> Response:
    """The signed-in user."""
    return JSONResponse(record)


@router.get("/permissions", operation_id="auth_permissions")
def permissions(user: CurrentUser) -> Response:
    """What the signed-in user may do: per entity, `create`/`read`/`update`/`delete` each `true`, `false`, or
    `"conditional"` (the entity's row rule depends on the record, e.g. only records they created)."""
    return JSONResponse(entities.permissions(entities.Actor.of(user)))


@router.put("/me", response_model=UserOut, operation_id="auth_update_me")
def update_me(user: CurrentUser, session: SessionDep, body: Annotated[dict[str, Any], Body()]) -> Response:
    """Update your own `full_name` and custom fields. `role`, `email` and `disabled` are ignored."""
    return JSONResponse(user_record(update_profile(session, get_user(session, user.id), body)))


@router.post("/change-password", status_code=204, operation_id="auth_change_password")
def change_password(user: CurrentUser, session: SessionDep, body: ChangePasswordIn) -> Response:
    """Change your password; every token issued before stops working."""
    auth_service.change_password(session, user, body.current_password, body.new_password)
    return Response(status_code=204)


@router.post("/logout", status_code=204, operation_id="auth_logout")
def logout(user: CurrentUser, session: SessionDep) -> Response:
    """Revoke the token this request carries."""
    auth_service.logout(session, user)
    return Response(status_code=204)
