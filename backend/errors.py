"""Domain errors raised by services, and the one place that turns any error into API.md's error body."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.jsonutil import JSONResponse

log = logging.getLogger("backend.errors")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    501: "not_configured",
    503: "service_unavailable",
}


QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout (or a cancel)


class DomainError(Exception):
    """Base of every error a service raises on purpose. `status` and `code` pick the answer."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, detail: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail if detail is not None else message
        self.headers = headers or {}


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "Not authenticated", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class PreconditionFailed(DomainError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class QueryTooSlow(BadRequest):
    """PostgreSQL stopped a statement at DB_STATEMENT_TIMEOUT_MS.

    A 400, not a 503: the limit is far above any normal request (list pages take milliseconds), so a
    statement that reaches it is the request's own cost — a pattern the database cannot answer cheaply —
    and the same request would be stopped again. A 503 with Retry-After would invite clients and proxies
    to repeat exactly that costly request. (Reads never wait for other requests' row locks.)
    """

    @classmethod
    def now(cls) -> QueryTooSlow:
        from backend.config import get_settings

        seconds = get_settings().db_statement_timeout_ms / 1000
        return cls(
            f"The database stopped this request after {seconds:g} s (DB_STATEMENT_TIMEOUT_MS): it is too costly. "
            "Narrow it — a simpler filter or pattern, fewer records — and try again."
        )


class ValidationFailed(DomainError):
    """422 with FastAPI's list-shaped `detail`, so both surfaces report field errors the same way."""

    status, code = 422, "validation_error"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after))})


class NotConfigured(DomainError):
    status, code = 501, "not_configured"


class ServiceUnavailable(DomainError):
    status, code = 503, "service_unavailable"


def field_error(field: str, msg: str, value: Any = None, kind: str = "value_error") -> dict[str, Any]:
    """One item of a FastAPI-style 422 `detail` list."""
    return {"type": kind, "loc": ["body", field], "msg": msg, "input": value}


def error_response(
    status: int, message: str, detail: Any = None, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "detail": message if detail is None else detail,
        "message": message,
        "code": code or CODES.get(status, "error"),
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _summarise_validation(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "Invalid input — " + "; ".join(parts) + more


def _jsonable_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        item = {k: err[k] for k in ("type", "loc", "msg") if k in err}
        reason = (err.get("ctx") or {}).get("error")
        if err.get("type") == "json_invalid" and isinstance(reason, str):
            item["msg"] = f"{item.get('msg')}: {reason}"  # what is wrong, e.g. "no low surrogate in string"
        value = err.get("input")
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            value = str(value)  # JSON encoders refuse integers past 64 bits; the client still sees it
        if isinstance(value, str | int | float | bool) or value is None:
            item["input"] = value if not isinstance(value, str) else value[:200]
        out.append(item)
    return out


def response_for(exc: Exception) -> JSONResponse | None:
    """The error body for a domain or database error, or None for anything unexpected (a 500)."""
    if isinstance(exc, DomainError):
        detail = exc.detail
        if isinstance(exc, ValidationFailed) and isinstance(detail, list):
            detail = _jsonable_errors(detail)
        return error_response(exc.status, exc.message, detail, exc.code, exc.headers)
    if isinstance(exc, PoolTimeout):
        # Every pooled connection stayed busy for DB_POOL_TIMEOUT: the server is overloaded, not broken.
        log.warning("no free database connection within DB_POOL_TIMEOUT: %s", str(exc)[:200])
        return error_response(
            503, "The server is busy (no free database connection); try again in a moment", headers={"Retry-After": "2"}
        )
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "pgcode", None) == QUERY_CANCELED:
        log.warning("statement stopped at the statement timeout: %s", str(exc.statement or "")[:300])
        return response_for(QueryTooSlow.now())
    if isinstance(exc, OperationalError):
        log.warning("database unavailable: %s", str(exc.orig).strip()[:300])
        return error_response(503, "The database is unavailable; try again in a moment", headers={"Retry-After": "5"})
    if isinstance(exc, DataError):
        log.info("database refused a value: %s", str(exc.orig).strip()[:300])
        return error_response(400, "The database refused a value in this request")
    if isinstance(exc, IntegrityError):
        # A unique constraint (a Match pair, a user's email...) raced or repeated: the client's conflict.
        log.info("integrity conflict: %s", str(exc.orig).strip()[:300])
        return error_response(409, "This conflicts with an existing record (a value that must be unique is taken)")
    if isinstance(exc, ValueError) and "NUL" in str(exc):
        # psycopg2 refuses U+0000 before sending; whatever input carried it is the client's to fix
        return error_response(400, "Text may not contain the NUL character (U+0000)")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return error_response(503, "The database connection was lost; try again", headers={"Retry-After": "2"})
    return None


def install_error_handlers(app: FastAPI) -> None:
    async def _known(_: Request, exc: Exception) -> JSONResponse:
        response = response_for(exc)
        if response is None:
            log.exception("unhandled error", exc_info=exc)
            return error_response(500, "Internal server error", code="internal_error")
        return response

    for kind in (DomainError, OperationalError, DataError, IntegrityError, DBAPIError, PoolTimeout, ValueError):
        app.add_exception_handler(kind, _known)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _jsonable_errors(exc.errors())
        return error_response(422, _summarise_validation(errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
        if exc.status_code == 404 and exc.detail == "Not Found":
            message = "No such route or record"
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "Internal server error", code="internal_error")
