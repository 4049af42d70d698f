"""asyncpg for the hot reads on PostgreSQL: list pages, one record and the auth check on the event loop.

The fast lane (`backend/fastlane.py`) serves most traffic. Through SQLAlchemy + psycopg2 each of those
reads paid for a worker-thread hop, statement construction and SQLAlchemy's execution layer; here the
SQL is compiled once by SQLAlchemy (the one query engine still writes it, see
`backend/services/query/prepared.py`) and executed as an asyncpg prepared statement, without leaving
the event loop. The pool belongs to the event loop that opened it in the app's lifespan; a request on
any other loop (a test client run without its lifespan) gets None and takes the thread path instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
import orjson
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from backend.config import get_settings
from backend.errors import BadRequest, QueryTooSlow, ServiceUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]
# A connection lost during a read, or a server going down: worth one more try on a fresh connection.
# (Not InterfaceError — asyncpg's word for a programming mistake — nor a cancelled statement.)
LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    OSError,
)


def compile_sql(stmt: ClauseElement) -> tuple[str, tuple[str, ...]]:
    """SQL text with `$n` placeholders, and the bound parameters' names in `$n` order."""
    compiled = stmt.compile(dialect=DIALECT)
    assert isinstance(compiled, SQLCompiler)
    return compiled.string, tuple(compiled.positiontup or ())


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns arrive decoded, as they do through SQLAlchemy
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, schema="pg_catalog", encoder=_json_text, decoder=orjson.loads)


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """These reads set no session state (no SET, LISTEN, advisory lock or cursor), so the default reset —
    a round trip of `RESET ALL; UNLISTEN *; ...` on every release — is skipped. asyncpg still rolls back
    a transaction left open before this is called."""


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


@dataclass
class _Reads:
    pool: asyncpg.Pool
    # First come, first served: asyncpg's pool lets a newcomer take a freed connection ahead of those
    # already waiting, which under load spread latency into a long tail (p99 100–140 ms against a p50 of
    # 12 ms with 32 clients on 10 connections). asyncio's Semaphore queues its waiters in order.
    gate: asyncio.Semaphore
    users: int = 1


_reads: dict[asyncio.AbstractEventLoop, _Reads] = {}  # per event loop


async def open_pool() -> None:
    """Create the running loop's pool (no connection is made until the first read); apps that share a
    loop (tests) share its pool."""
    settings = get_settings()
    if settings.is_sqlite:
        return
    loop = asyncio.get_running_loop()
    if loop in _reads:
        _reads[loop].users += 1
        return
    pool = await asyncpg.create_pool(
        _dsn(settings.database_url),
        min_size=0,
        max_size=settings.db_pool_size,
        timeout=settings.db_pool_timeout,  # to connect
        command_timeout=60,  # a read that hangs (a half-open connection) ends as a 503, not a stuck request
        max_inactive_connection_lifetime=300,
        server_settings={
            "application_name": "crm-backend-reads",
            "statement_timeout": str(max(0, settings.db_statement_timeout_ms)),
        },
        init=_init_connection,
        reset=_nothing_to_reset,
    )
    _reads[loop] = _Reads(pool, asyncio.Semaphore(settings.db_pool_size))


async def close_pool() -> None:
    loop = asyncio.get_running_loop()
    reads = _reads.get(loop)
    if reads is None:
        return
    reads.users -= 1
    if reads.users == 0:
        del _reads[loop]
        await reads.pool.close()


def _current() -> _Reads | None:
    try:
        return _reads.get(asyncio.get_running_loop())
    except RuntimeError:
        return None


def available() -> bool:
    """Whether this request's loop has a pool (else the caller uses the thread path)."""
    return _current() is not None


async def run(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run `work` on a pooled connection; once more on a fresh one if the connection was dead.

    Reads are idempotent, so the retry is safe; it replaces a ping before every read. A database that
    cannot be reached or refuses connections (down, starting, too many clients, bad credentials), a
    wait for a connection longer than DB_POOL_TIMEOUT, or a read past the command timeout is a 503 with
    Retry-After — never a 500, and never an endless queue.
    """
    reads = _current()
    if reads is None:
        raise RuntimeError("the asyncpg pool is not open on this event loop")
    settings = get_settings()
    for attempt in (1, 2):
        try:
            async with asyncio.timeout(settings.db_pool_timeout):
                await reads.gate.acquire()
        except TimeoutError as exc:
            raise _unavailable("every database connection stayed busy", exc) from exc
        try:
            try:
                conn = await reads.pool.acquire()
            except Exception as exc:  # connecting failed: whatever the server said, it is not the client's fault
                if attempt == 2:
                    raise _unavailable("could not connect", exc) from exc
                log.warning("database connect failed, retrying: %s", str(exc)[:300])
                continue
            try:
                return await work(conn)
            finally:
                await reads.pool.release(conn)
        except asyncpg.QueryCanceledError as exc:  # DB_STATEMENT_TIMEOUT_MS: the statement was stopped
            raise QueryTooSlow.now() from exc
        except asyncpg.DataError as exc:  # a value the database refused: the client's to fix
            log.info("database refused a value: %s", str(exc)[:300])
            raise BadRequest("The database refused a value in this request") from exc
        except TimeoutError as exc:  # the server stopped answering (command_timeout): do not wait twice
            raise _unavailable("a read timed out", exc) from exc
        except LOST as exc:
            if attempt == 2:
                raise _unavailable("the connection was lost", exc) from exc
            log.warning("database read failed, retrying: %s", str(exc)[:300])
        finally:
            reads.gate.release()
    raise AssertionError("unreachable")


def _unavailable(what: str, exc: BaseException) -> ServiceUnavailable:
    log.warning("database unavailable (%s): %s", what, str(exc)[:300] or type(exc).__name__)
    return ServiceUnavailable("The database is unavailable; try again in a moment", headers={"Retry-After": "5"})
