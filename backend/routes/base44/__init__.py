"""The Base44 surface (API.md §7): what `@base44/sdk` calls, adapted onto the same services."""

from __future__ import annotations

from fastapi import APIRouter

from backend.deps import CurrentUser
from backend.jsonbody import JsonRoute
from backend.jsonutil import JSONResponse
from backend.routes.base44 import entities, integrations, login_page, users

# Fire-and-forget page-view log of the 0.8 template (not under /apps/): accepted, nothing stored.
app_logs = APIRouter(tags=["Base44 integrations"], include_in_schema=False, route_class=JsonRoute)


@app_logs.post("/api/app-logs/{app_id}/log-user-in-app/{page}")
def log_user_in_app(app_id: str, page: str, _: CurrentUser) -> JSONResponse:
    return JSONResponse({"success": True})


public = [users.public, login_page.router]
# `users.router` first: its `entities/User/...` paths must win over the generic `entities/{entity}/...`.
protected = [users.router, entities.router, integrations.router, app_logs]
