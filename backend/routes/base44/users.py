"""Base44 `User` entity and auth calls (API.md §7.2, §7.3), over the same user and auth services as §4."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from backend.deps import AdminUser, CurrentUser, OwnRecord, SessionDep, client_ip
from backend.errors import BadRequest, Forbidden, NotFound
from backend.jsonutil import JSONResponse
from backend.routes.base44.common import AppId, check_app
from backend.routing import JsonRoute
from backend.services import auth as auth_service
from backend.services import users as user_service

public = APIRouter(prefix="/api/apps/{app_id}", tags=["Base44 auth"], route_class=JsonRoute)
router = APIRouter(prefix="/api/apps/{app_id}", tags=["Base44 auth"], route_class=JsonRoute)
AnyBody = Annotated[Any, Body()]


def _obj(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("Expected a JSON object")
    return body


@public.post("/auth/login", operation_id="b44_login")
def login(app_id: AppId, request: Request, session: SessionDep, body: AnyBody) -> Response:
    """`loginViaEmailPassword`: JSON `{email, password}` → `{access_token, user}` (same limits as §4)."""
    check_app(app_id)
    data = _obj(body)
    result = auth_service.login(session, data.get("email"), data.get("password"), client_ip(request))
    return JSONResponse({"access_token": result["access_token"], "user": result["user"]})


@public.post("/auth/reset-password-request", operation_id="b44_reset_request")
def reset_request(app_id: AppId, session: SessionDep, body: AnyBody) -> Response:
    """Always `{"success": true}` (never reveals whether the email exists); mails a link when SMTP is set."""
    check_app(app_id)
    auth_service.request_reset(session, _obj(body).get("email"))
    return JSONResponse({"success": True})


@public.post("/auth/reset-password", operation_id="b44_reset_password")
def reset_password(app_id: AppId, session: SessionDep, body: AnyBody) -> Response:
    """Redeem a reset (or invite) token: `{reset_token, new_password}`."""
    check_app(app_id)
    data = _obj(body)
    auth_service.redeem_reset(session, data.get("reset_token"), data.get("new_password"))
    return JSONResponse({"success": True})


@router.post("/auth/change-password", operation_id="b44_change_password")
def change_password(app_id: AppId, user: CurrentUser, session: SessionDep, body: AnyBody) -> Response:
    """`{current_password, new_password}` for the signed-in user; older tokens stop working."""
    check_app(app_id)
    data = _obj(body)
    auth_service.change_password(session, user, data.get("current_password"), data.get("new_password"))
    return JSONResponse({"success": True})


def _invite(app_id: str, session: SessionDep, body: Any) -> Response:
    check_app(app_id)
    data = _obj(body)
    role = data.get("role", "user")
    if role not in user_service.ROLES:
        raise BadRequest("role must be 'user' or 'admin'")
    created = user_service.create_user(
        session, {"email": data.get("user_email"), "role": role}, password_required=False
    )
    link = auth_service.issue_reset(session, created, purpose="invite")
    return JSONResponse({"success": True, "invite_url": link["reset_url"]})


@router.post("/users/invite-user", operation_id="b44_invite")
def invite(app_id: AppId, _: AdminUser, session: SessionDep, body: AnyBody) -> Response:
    """Admin: create a user who sets a password through the returned one-time `invite_url`."""
    return _invite(app_id, session, body)


@router.post("/runtime/users/invite-user", operation_id="b44_runtime_invite")
def runtime_invite(app_id: AppId, _: AdminUser, session: SessionDep, body: AnyBody) -> Response:
    """Same as `/users/invite-user` (the path newer SDKs use)."""
    return _invite(app_id, session, body)


@router.get("/entities/User/me", operation_id="b44_me")
async def me(app_id: AppId, record: OwnRecord) -> Response:
    """`auth.me()`."""
    check_app(app_id)
    return JSONResponse(record)


@router.put("/entities/User/me", operation_id="b44_update_me")
def update_me(app_id: AppId, user: CurrentUser, session: SessionDep, body: AnyBody) -> Response:
    """`auth.updateMe(data)`: full_name and custom fields; role/email/disabled are ignored."""
    check_app(app_id)
    updated = user_service.update_profile(session, user_service.get_user(session, user.id), _obj(body))
    return JSONResponse(user_service.user_record(updated))


@router.get("/entities/User", operation_id="b44_users_list")
def list_users(app_id: AppId, user: CurrentUser, session: SessionDep, q: str | None = None) -> Response:
    """Admins see every user, others only themselves; `q` equality filters apply (the users service's rules)."""
    check_app(app_id)
    return JSONResponse(user_service.list_users(session, user, q))


@router.post("/entities/User", operation_id="b44_users_create")
def create_user(app_id: AppId) -> Response:
    """Users are not created through the entity API: invite them (`/users/invite-user`)."""
    check_app(app_id)
    raise Forbidden("Users cannot be created here; invite them instead")


@router.get("/entities/User/{user_id}", operation_id="b44_user_get")
def get_user(app_id: AppId, user_id: str, _: AdminUser, session: SessionDep) -> Response:
    """Admin: one user."""
    check_app(app_id)
    return JSONResponse(user_service.user_record(user_service.get_user(session, user_id[:64])))


@router.put("/entities/User/{user_id}", operation_id="b44_user_update")
def update_user(app_id: AppId, user_id: str, _: AdminUser, session: SessionDep, body: AnyBody) -> Response:
    """Admin: change a user (email, name, role, app_role, disabled)."""
    check_app(app_id)
    updated = user_service.admin_update(session, user_service.get_user(session, user_id[:64]), _obj(body))
    return JSONResponse(user_service.user_record(updated))


@router.delete("/entities/User/{user_id}", operation_id="b44_user_delete")
def delete_user(app_id: AppId, user_id: str, admin: AdminUser, session: SessionDep) -> Response:
    """Admin: delete a user (not yourself, not the last enabled admin)."""
    check_app(app_id)
    user_service.delete_user(session, user_id[:64], actor_id=admin.id)
    return JSONResponse({"success": True})


__all__ = ["NotFound", "public", "router"]
