"""The fast lane: the hot reads, dispatched before FastAPI's router.

A list page or one record (REST `GET /api/{collection}[/{id}]`, Base44 `GET .../entities/{Entity}[/{id}]`)
is most of the traffic: the frontend loads whole collections. FastAPI's routing and dependency
machinery cost more CPU than the query itself here, so these requests are recognised by one regular
expression and served by the same functions the routes call (`backend/routes/reads.py`).

On PostgreSQL the common pages and single records run as compiled SQL over asyncpg on the event loop
(`backend/services/query/prepared.py`): the session check and the read are two prepared statements on
one pooled connection. Everything else here (SQLite, `q` filters, `count`, the document store) runs the
auth check and the query on one connection in one worker-thread hop. Requests these patterns do not
cover (trash, `User`, `count`, `v2/list`) go on to FastAPI unchanged. The outer middleware (request id,
CORS) applies as for any route.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backend import asyncdb
from backend.concurrency import in_thread
from backend.database import run_read
from backend.errors import DomainError, Unauthorized, response_for
from backend.routes import reads
from backend.routes.base44.common import check_app
from backend.services.auth import authenticate, authenticate_async
from backend.services.query.prepared import Prepared
from backend.services.registry import MODELLED, EntitySpec, get_spec
from backend.services.security import bearer_token, decode_access_token

_REST = re.compile(r"^/api/([a-z_]{1,40})(?:/([A-Za-z0-9_-]{1,64}))?$")
_BASE44 = re.compile(r"^/api/apps/([^/]{1,128})/entities/([A-Z][A-Za-z0-9]{0,63})(?:/([A-Za-z0-9_-]{1,64}))?$")
_COLLECTIONS = {spec.collection: spec for spec in MODELLED.values()}
_NOT_RECORDS = {"trash", "count", "bulk", "import", "me", "update-many"}  # sub-routes, not record ids


@dataclass(frozen=True)
class _Read:
    """A hot read: which entity (resolved late, so a bad app id answers after the token check), which
    record (None for a list page), on which surface, with which query parameters."""

    spec: Callable[[], EntitySpec]
    record_id: str | None
    base44: bool
    query: list[tuple[str, str]]

    def prepared(self) -> Prepared[Response] | None:
        spec = self.spec()
        if self.record_id is None:
            return reads.prepared_list(spec, self.query, base44=self.base44)
        return reads.prepared_get(spec, self.record_id)

    def run(self, conn: Connection) -> Response:
        spec = self.spec()
        if self.record_id is None:
            return reads.list_response(conn, spec, self.query, base44=self.base44)
        return reads.get_response(conn, spec, self.record_id)


def _read(path: str, query_string: bytes) -> _Read | None:
    """What the request asks for, if it is a hot read; None sends it on to FastAPI."""
    if rest := _REST.match(path):
        spec = _COLLECTIONS.get(rest[1])
        record_id = rest[2]
        if spec is None or record_id in _NOT_RECORDS:
            return None
        return _Read(lambda: spec, record_id, False, QueryParams(query_string).multi_items())
    if b44 := _BASE44.match(path):
        app_id, entity, record_id = b44[1], b44[2], b44[3]
        if entity == "User" or record_id in _NOT_RECORDS:
            return None

        def spec_of() -> EntitySpec:
            check_app(app_id)
            return get_spec(entity)

        return _Read(spec_of, record_id, True, QueryParams(query_string).multi_items())
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
            read = _read(scope["path"], scope["query_string"])
            if read is not None:
                response = await _serve(scope, read)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _serve(scope: Scope, read: _Read) -> Response:
    try:
        token = _bearer(scope)
        if token is None:
            raise Unauthorized("Not authenticated: send `Authorization: Bearer <token>`")
        if asyncdb.available():
            claims = decode_access_token(token)  # a forged or expired token stops here, before any query
            refused: DomainError | None = None
            try:
                prepared = read.prepared()
            except DomainError as exc:  # answered once the session is known to be valid (401 comes first)
                prepared, refused = None, exc
            if prepared is not None or refused is not None:

                async def work(conn: Any) -> Response:
                    await authenticate_async(conn, claims)
                    if refused is not None:
                        raise refused
                    assert prepared is not None
                    return prepared.read(await conn.fetch(prepared.sql, *prepared.args))

                return await asyncdb.run(work)
        return await in_thread(lambda: _serve_in_thread(token, read))
    except Exception as exc:  # known errors get their error body; anything else is a logged 500 upstream
        response = response_for(exc)
        if response is None:
            raise
        return response


def _serve_in_thread(token: str, read: _Read) -> Response:
    """The general path: auth check and query on one connection, in one worker-thread hop."""

    def work(conn: Connection) -> Response:
        authenticate(conn, token)  # the same check as every route's, on the same connection as the read
        return read.run(conn)

    return run_read(work)
