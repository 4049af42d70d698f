"""The HTTP side of errors: every failure becomes API.md's body `{detail, message, code}`.

Services raise domain errors (backend/errors.py); the database's own errors are translated by
backend/dberrors.py; FastAPI's validation errors and unknown routes get the same body. Anything else is a
logged 500 that shows no internals.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.dberrors import as_domain_error
from backend.errors import DomainError, ValidationFailed
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
    error = as_domain_error(exc)
    if error is None:
        return None
    detail = error.detail
    if isinstance(error, ValidationFailed) and isinstance(detail, list):
        detail = _jsonable_errors(detail)
    return error_response(error.status, error.message, detail, error.code, error.headers)


def install_error_handlers(app: FastAPI) -> None:
    async def _known(_: Request, exc: Exception) -> JSONResponse:
        response = response_for(exc)
        if response is None:
            log.exception("unhandled error", exc_info=exc)
            return error_response(500, "Internal server error", code="internal_error")
        return response

    for kind in (DomainError, SQLAlchemyError, asyncpg.PostgresError, OSError, TimeoutError, ValueError):
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
