"""The hot reads — a list page and one record — on both surfaces, as one function each.

The FastAPI routes and the fast lane (`backend/fastlane.py`) both call these, so there is one
implementation whichever way a request arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Response
from sqlalchemy.engine import Connection

from backend.errors import BadRequest
from backend.jsonutil import JSONResponse
from backend.services import entities
from backend.services.query import Page, parse_list_params, prepared
from backend.services.query.prepared import Prepared
from backend.services.registry import EntitySpec

# Base44 options we do not implement; refused with a clear 400 rather than read as a field filter.
BASE44_UNSUPPORTED = frozenset({"distinct"})


def page_response(page: Page) -> Response:
    headers: dict[str, str] = {}
    if page.total is not None:
        headers["X-Total-Count"] = str(page.total)
    if page.next_cursor:
        headers["X-Next-Cursor"] = page.next_cursor
    return Response(page.body, media_type="application/json", headers=headers)


def record_response(record: dict[str, Any], tag: str, status: int = 200, location: str | None = None) -> Response:
    headers = {"ETag": tag}
    if location:
        headers["Location"] = location
    return JSONResponse(record, status_code=status, headers=headers)


def base44_params(items: Sequence[tuple[str, str]]) -> Any:
    for name, _ in items:
        if name in BASE44_UNSUPPORTED:
            raise BadRequest(f"The {name!r} option is not supported by this server")
    return parse_list_params(items)


def list_response(
    conn: Connection, spec: EntitySpec, items: Sequence[tuple[str, str]], *, base44: bool, deleted: bool = False
) -> Response:
    """A list page: REST is strict about field names and sends paging headers; Base44 is lenient."""
    params = base44_params(items) if base44 else parse_list_params(items)
    return page_response(entities.list_records(conn, spec, params, strict=not base44, deleted=deleted))


def get_response(conn: Connection, spec: EntitySpec, record_id: str) -> Response:
    return record_response(*entities.get(conn, spec, record_id))


# The same two reads as compiled SQL for asyncpg (see backend/services/query/prepared.py); None when the
# request needs the general path above. Bad parameters raise here exactly as they do above.


def prepared_list(spec: EntitySpec, items: Sequence[tuple[str, str]], *, base44: bool) -> Prepared[Response] | None:
    params = base44_params(items) if base44 else parse_list_params(items)
    query = prepared.page(spec, params)
    return None if query is None else query.then(page_response)


def prepared_get(spec: EntitySpec, record_id: str) -> Prepared[Response] | None:
    query = prepared.record(spec, record_id)
    return None if query is None else query.then(lambda found: record_response(found[0], entities.etag(found[1])))
