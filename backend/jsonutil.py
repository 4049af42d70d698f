"""The one JSON encoder: orjson, Hebrew unescaped, datetimes in Base44's `YYYY-MM-DDTHH:MM:SS.ffffff`."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse

_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def format_datetime(value: dt.datetime) -> str:
    """UTC, microseconds always present, no offset — exactly how Base44 returns timestamps."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, default=_default, option=_OPTS)
    except orjson.JSONEncodeError as exc:
        if "Recursion limit" not in str(exc):
            raise  # e.g. an integer past 64 bits: callers turn that into a 422
        # orjson stops at 254 levels. Writes refuse anything deeper than 32 (validation.MAX_DEPTH), but a
        # value stored before that rule must not make every read of its collection fail: the standard
        # library's encoder goes as deep as the interpreter's recursion limit.
        return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


loads = orjson.loads


class JSONResponse(StarletteJSONResponse):
    """A JSON response rendered by `dumps` (FastAPI's ORJSONResponse is deprecated). A JSONResponse
    subclass, so FastAPI documents each route's response model rather than a plain string."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
