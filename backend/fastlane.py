"""The fast lane: the hot reads, dispatched before FastAPI's router.

A list page or one record (REST `GET /api/{collection}[/{id}]`, Base44 `GET .../entities/{Entity}[/{id}]`)
is most of the traffic: the frontend loads whole collections. FastAPI's routing and dependency
machinery cost more CPU than the query itself here, so these requests are recognised by one regular
expression and served by the same functions the routes call (`backend/routes/reads.py`), with the
auth check and the query on one connection in one worker-thread hop. Everything else — and anything
these patterns do not cover (trash, `User`, `count`, `v2/list`) — goes on to FastAPI unchanged.
The outer middleware (request id, CORS) applies as for any route.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.engine import Connection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.concurrency import in_thread
from backend.database import run_read
from backend.errors import Unauthorized, response_for
from backend.routes import reads
from backend.routes.base44.common import check_app
from backend.services.auth import authenticate
from backend.services.registry import MODELLED, get_spec
from backend.services.security import bearer_token

_REST = re.compile(r"^/api/([a-z_]{1,40})(?:/([A-Za-z0-9_-]{1,64}))?$")
_BASE44 = re.compile(r"^/api/apps/([^/]{1,128})/entities/([A-Z][A-Za-z0-9]{0,63})(?:/([A-Za-z0-9_-]{1,64}))?$")
_COLLECTIONS = {spec.collection: spec for spec in MODELLED.values()}
_NOT_RECORDS = {"trash", "count", "bulk", "import", "me", "update-many"}  # sub-routes, not record ids

Work = Callable[[Connection], Response]


def _work(path: str, query: list[tuple[str, str]]) -> Callable[[], Work] | None:
    """What the request asks for, if it is a hot read; None sends it on to FastAPI."""
    if rest := _REST.match(path):
        spec = _COLLECTIONS.get(rest[1])
        record_id = rest[2]
        if spec is None or record_id in _NOT_RECORDS:
            return None
        if record_id is None:
            return lambda: lambda conn: reads.list_response(conn, spec, query, base44=False)
        return lambda: lambda conn: reads.get_response(conn, spec, record_id)
    if b44 := _BASE44.match(path):
        app_id, entity, record_id = b44[1], b44[2], b44[3]
        if entity == "User" or record_id in _NOT_RECORDS:
            return None

        def resolve() -> Work:
            check_app(app_id)
            spec = get_spec(entity)
            if record_id is None:
                return lambda conn: reads.list_response(conn, spec, query, base44=True)
            return lambda conn: reads.get_response(conn, spec, record_id)

        return resolve
    return None


def _bearer(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            return bearer_token(value.decode("latin-1"))
    return None


class FastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            from starlette.datastructures import QueryParams

            plan = _work(scope["path"], QueryParams(scope["query_string"]).multi_items())
            if plan is not None:
                response = await in_thread(lambda: _serve(scope, plan))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _serve(scope: Scope, plan: Callable[[], Work]) -> Response:
    try:
        token = _bearer(scope)
        if token is None:
            raise Unauthorized("Not authenticated: send `Authorization: Bearer <token>`")
        work = plan()

        def read(conn: Connection) -> Response:
            authenticate(conn, token)  # the same check as every route's, on the same connection as the read
            return work(conn)

        return run_read(read)
    except Exception as exc:  # known errors get their error body; anything else is a logged 500 upstream
        response = response_for(exc)
        if response is None:
            raise
        return response
