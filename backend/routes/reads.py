"""How the read routes answer: a page's headers, a record's ETag, and Base44's list options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Response

from backend.errors import BadRequest
from backend.jsonutil import JSONResponse
from backend.services.query import ListParams, Page, parse_list_params

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


def base44_params(items: Sequence[tuple[str, str]]) -> ListParams:
    for name, _ in items:
        if name in BASE44_UNSUPPORTED:
            raise BadRequest(f"The {name!r} option is not supported by this server")
    return parse_list_params(items)
