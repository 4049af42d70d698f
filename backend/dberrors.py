"""The database's errors as domain errors, for both drivers (SQLAlchemy/psycopg2 and asyncpg), in one place.

Whatever the database says about a request becomes the answer API.md promises: a statement stopped at the
statement timeout is the client's costly query (400), an overloaded pool or a database that cannot be
reached is a 503 with Retry-After, a refused value a 400, a unique key taken a 409. Executors and the HTTP
error handler both call `as_domain_error`; None means "not the database's": a real bug, a logged 500.
"""

from __future__ import annotations

import logging

import asyncpg
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backend.errors import BadRequest, Conflict, DomainError, QueryTooSlow, ServiceUnavailable

log = logging.getLogger("backend.errors")
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout (or a cancel)
# asyncpg: a connection lost during a read, or a server going down — worth one more try on a fresh
# connection (not InterfaceError, asyncpg's word for a programming mistake, nor a cancelled statement).
LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    OSError,
)


def unavailable(what: str, exc: BaseException, retry_after: int = 5) -> ServiceUnavailable:
    log.warning("database unavailable (%s): %s", what, str(exc)[:300] or type(exc).__name__)
    return ServiceUnavailable(
        "The database is unavailable; try again in a moment", headers={"Retry-After": str(retry_after)}
    )


def as_domain_error(exc: BaseException) -> DomainError | None:
    """The domain error a database failure means for the client, or None when it is not one."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, PoolTimeout):
        # Every pooled connection stayed busy for DB_POOL_TIMEOUT: the server is overloaded, not broken.
        log.warning("no free database connection within DB_POOL_TIMEOUT: %s", str(exc)[:200])
        return ServiceUnavailable(
            "The server is busy (no free database connection); try again in a moment", headers={"Retry-After": "2"}
        )
    if isinstance(exc, asyncpg.QueryCanceledError) or (
        isinstance(exc, DBAPIError) and getattr(exc.orig, "pgcode", None) == QUERY_CANCELED
    ):
        log.warning("statement stopped at the statement timeout: %s", str(getattr(exc, "statement", "") or "")[:300])
        return QueryTooSlow.now()
    if isinstance(exc, asyncpg.DataError | DataError):
        log.info("database refused a value: %s", str(getattr(exc, "orig", exc)).strip()[:300])
        return BadRequest("The database refused a value in this request")
    if isinstance(exc, IntegrityError | asyncpg.IntegrityConstraintViolationError):
        # A unique constraint (a match pair, a user's email...) raced or repeated: the client's conflict.
        log.info("integrity conflict: %s", str(getattr(exc, "orig", exc)).strip()[:300])
        return Conflict("This conflicts with an existing record (a value that must be unique is taken)")
    if isinstance(exc, OperationalError):
        return unavailable("operational error", exc.orig or exc)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return unavailable("connection lost", exc, retry_after=2)
    if isinstance(exc, (*LOST, TimeoutError)):
        return unavailable("connection lost or timed out", exc)
    if isinstance(exc, ValueError) and "NUL" in str(exc):
        # psycopg2 refuses U+0000 before sending; whatever input carried it is the client's to fix
        return BadRequest("Text may not contain the NUL character (U+0000)")
    return None
