"""Domain errors: what services raise on purpose. Pure — no HTTP here; routes/errors.py turns them (and the
database's errors, via backend/dberrors.py) into API.md's error body."""

from __future__ import annotations

from typing import Any


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
