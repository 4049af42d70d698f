"""The calls of today's SDK (0.8.50) beyond the CRUD verbs: `aggregate`, `upsert`, `list({distinct})`, and the
analytics and page-view beacons. Thin: the work is in services/reading.py, services/upsert.py and the one
query engine (services/query/aggregate.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from backend.deps import AdminUser, CurrentUser, SessionDep
from backend.jsonutil import JSONResponse
from backend.routes.base44 import realtime
from backend.routes.base44.common import AppId, EntityName, check_app, spec_for
from backend.routes.reads import base44_params
from backend.routing import JsonRoute
from backend.services import entities, reading, upsert
from backend.services.query.params import _int

router = APIRouter(prefix="/api/apps/{app_id}/entities", tags=["Base44 entities"], route_class=JsonRoute)
AnyBody = Annotated[Any, Body()]


@router.post("/{entity}/aggregate", operation_id="b44_aggregate")
async def aggregate(app_id: AppId, entity: EntityName, user: CurrentUser, body: AnyBody) -> Response:
    """`aggregate(spec)`: groups of the records the user may read → `{"rows", "truncated"}` (at most 1,000 rows)."""
    return JSONResponse(await reading.aggregate(spec_for(app_id, entity), body, user.viewer))


@router.post("/{entity}/upsert", operation_id="b44_upsert")
def upsert_records(
    app_id: AppId, entity: EntityName, session: SessionDep, user: CurrentUser, body: AnyBody
) -> Response:
    """`upsert(records, {key})`: update the records whose key exists, create the rest → `{"created", "updated",
    "records"}`; at most 500 per call, all or nothing."""
    return JSONResponse(upsert.upsert(session, spec_for(app_id, entity), body, entities.Actor.of(user)))


async def distinct_page(app_id: str, entity: str, request: Request, user: Any) -> Response:
    """`list({distinct: field})` on `v2/list`: `{"items": [values ascending], "next_cursor", "has_more"}`."""
    spec = spec_for(app_id, entity)
    items = request.query_params.multi_items()
    field = request.query_params.get("distinct", "")
    raw_limit = request.query_params.get("limit")
    limit = _int("limit", raw_limit, 10**9) if raw_limit is not None else None
    params = base44_params([(k, v) for k, v in items if k not in ("distinct", "limit")])
    return JSONResponse(await reading.distinct(spec, field, params, limit, user.viewer))


# The SDK's beacons: public (sendBeacon sends no Authorization header, and as text/plain), any body,
# never an error — accepted and dropped.
beacons = APIRouter(tags=["Base44 integrations"], include_in_schema=False, route_class=JsonRoute)


@beacons.post("/api/apps/{app_id}/analytics/track/batch")
async def analytics(app_id: AppId) -> Response:
    """Analytics events: accepted, nothing is tracked."""
    check_app(app_id)
    return JSONResponse({"success": True})


@beacons.post("/api/app-logs/{app_id}/log-user-in-app/{page}")
async def log_user_in_app(app_id: str, page: str) -> Response:
    """The page-view log of the 0.8 template: accepted, nothing is stored."""
    return JSONResponse({"success": True})


# This process's realtime state, for operators and the tests (admin).
stats = APIRouter(tags=["Admin"], route_class=JsonRoute)


@stats.get("/api/admin/realtime", operation_id="admin_realtime")
async def realtime_stats(_: AdminUser) -> Response:
    """This worker process's sockets, joined rooms, queued changes and counters (delivered, dropped, refused)."""
    return JSONResponse({**realtime.hub.counts(), "listening": await realtime.wait_listening(0.01)})
