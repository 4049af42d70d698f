"""Admin-only user management (API.md §4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response

from backend.deps import AdminUser, SessionDep, require_admin
from backend.jsonutil import JSONResponse
from backend.routing import JsonRoute
from backend.schemas.auth import ResetLinkOut, UserCreateIn, UserOut
from backend.services import users as user_service
from backend.services.auth import issue_reset

router = APIRouter(prefix="/api/users", tags=["users"], dependencies=[Depends(require_admin)], route_class=JsonRoute)
UserId = Annotated[str, Path(max_length=64)]


@router.get("", response_model=list[UserOut], operation_id="users_list")
def list_users(session: SessionDep, admin: AdminUser, q: str | None = None) -> Response:
    """Every user, newest first; `q` takes plain equality filters (`{"app_role": "agent"}`), as on Base44's
    `User` list."""
    return JSONResponse(user_service.list_users(session, admin, q))


@router.post("", response_model=UserOut, status_code=201, operation_id="users_create")
def create_user(session: SessionDep, body: UserCreateIn) -> Response:
    """Create a user with a password (`role` is `admin` or `user`; `app_role` is free text)."""
    user = user_service.create_user(session, body.model_dump())
    return JSONResponse(user_service.user_record(user), status_code=201, headers={"Location": f"/api/users/{user.id}"})


@router.get("/{user_id}", response_model=UserOut, operation_id="users_get")
def get_user(user_id: UserId, session: SessionDep) -> Response:
    """One user."""
    return JSONResponse(user_service.user_record(user_service.get_user(session, user_id)))


@router.put("/{user_id}", response_model=UserOut, operation_id="users_update")
def update_user(user_id: UserId, session: SessionDep, body: Annotated[dict[str, Any], Body()]) -> Response:
    """Change email, name, role, app_role, disabled (a disabled user's tokens stop working at once).
    A change that would leave no enabled admin is a 409."""
    user = user_service.admin_update(session, user_service.get_user(session, user_id), body)
    return JSONResponse(user_service.user_record(user))


@router.delete("/{user_id}", status_code=204, operation_id="users_delete")
def delete_user(user_id: UserId, session: SessionDep, admin: AdminUser) -> Response:
    """Delete a user; their tokens stop working at once. Records they created keep `created_by`.
    Not your own account, and not the last enabled admin (409)."""
    user_service.delete_user(session, user_id, actor_id=admin.id)
    return Response(status_code=204)


@router.post("/{user_id}/reset-password", response_model=ResetLinkOut, operation_id="users_reset_password")
def reset_link(user_id: UserId, session: SessionDep) -> Response:
    """A one-time reset link (24 h) to hand to the user; redeemed at `POST /api/auth/reset-password`."""
    return JSONResponse(issue_reset(session, user_service.get_user(session, user_id)))
