"""Where the reads the query engine builds are run: one executor, chosen by the database at start-up.

- PostgreSQL: asyncpg, on the event loop — no worker-thread hop, no SQLAlchemy execution layer. SQLAlchemy
  still writes every statement (the one query engine); here it is compiled for asyncpg and executed.
  Hot page shapes arrive already compiled (services/query/prepared.py) and only bind their values.
- SQLite: the sync engine, in a worker thread.

Two lanes share the connections: `read` (lists, records, counts) and `auth` (the per-request session
check, `/me`), each with its own admission gate, so reads that hold every read connection — a costly
filter until its statement timeout, a locked table — never make the session check behind every other
request wait. Database failures leave here as domain errors (backend/dberrors.py): a lost connection is
retried once (reads are idempotent), a database that cannot be reached is a 503, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar

import asyncpg
import orjson
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from backend.concurrency import in_auth_thread, in_thread
from backend.config import get_settings
from backend.database import APPLICATION_NAME, AUTH_CONNECTIONS, get_auth_engine, get_engine, run_on
from backend.dberrors import LOST, as_domain_error, unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
Lane = Literal["read", "auth"]
DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


def compile_sql(stmt: ClauseElement) -> tuple[str, tuple[str, ...]]:
    """SQL text with `$n` placeholders, and the bound parameters' names in `$n` order (prepared shapes)."""
    compiled = stmt.compile(dialect=DIALECT)
    assert isinstance(compiled, SQLCompiler)
    return compiled.string, tuple(compiled.positiontup or ())


def compile_with_args(stmt: ClauseElement) -> tuple[str, list[Any]]:
    """SQL text with `$n` placeholders and its arguments in order (`IN` lists expanded)."""
    compiled = stmt.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    assert isinstance(compiled, SQLCompiler)
    params = compiled.construct_params()
    processors = compiled._bind_processors
    args = []
    for name in compiled.positiontup or ():
        value = params[name]
        process: Any = processors.get(name)  # a type's own conversion (none of this app's types need one today)
        args.append(process(value) if callable(process) and value is not None else value)
    return compiled.string, args


class Precompiled:
    """A statement with named bind parameters, compiled for asyncpg once (the per-request session check)."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self.sql, self.names = compile_sql(stmt)  # type: ignore[arg-type]


class Executor(Protocol):
    dialect: str

    async def rows(self, stmt: Executable, lane: Lane = "read") -> list[Any]:
        """Every row of `stmt` (tuples)."""

    async def rows_sql(self, sql: str, args: Sequence[Any], lane: Lane = "read") -> list[Any]:
        """Every row of SQL already compiled for this database (PostgreSQL's prepared shapes)."""

    async def rows_of(self, pre: Precompiled, params: dict[str, Any], lane: Lane = "read") -> list[Any]:
        """Every row of a precompiled statement with these parameter values."""


# --- PostgreSQL: asyncpg on the event loop ---------------------------------------------------------------


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns arrive decoded, as they do through SQLAlchemy
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, schema="pg_catalog", encoder=_json_text, decoder=orjson.loads)


IDLE_LIFETIME = 300.0  # seconds an idle connection is kept; older ones are closed instead of reused


class _Lane:
    """One lane's connections: its admission gate and its idle connections, the last used first.

    First come, first served: asyncio's Semaphore queues its waiters in order (asyncpg's pool let a newcomer
    take a freed connection ahead of those waiting: p99 100–140 ms against a p50 of 12 ms with 32 clients on
    10 connections, measured). The gate holds as many as the lane has connections, so a request that passed
    it finds an idle connection or may open one. This replaced `asyncpg.Pool`, whose queue, holder and
    shielded, timed release cost as much Python time as the query itself — twice per request (measured)."""

    def __init__(self, size: int) -> None:
        self.gate = asyncio.Semaphore(size)
        self.idle: list[tuple[asyncpg.Connection, float]] = []


class _Pool:
    def __init__(self) -> None:
        settings = get_settings()
        self.lanes: dict[Lane, _Lane] = {"read": _Lane(settings.db_pool_size), "auth": _Lane(AUTH_CONNECTIONS)}
        self.users = 1
        self.closing = False

    async def acquire(self, lane: _Lane) -> asyncpg.Connection:
        now = time.monotonic()
        while lane.idle:
            conn, since = lane.idle.pop()
            if now - since < IDLE_LIFETIME and not conn.is_closed():
                return conn
            conn.terminate()
        settings = get_settings()
        conn = await asyncpg.connect(
            _dsn(settings.database_url),
            timeout=settings.db_pool_timeout,
            command_timeout=60,  # a read that hangs (a half-open connection) ends as a 503, not a stuck request
            server_settings={
                "application_name": f"{APPLICATION_NAME}-reads",
                "statement_timeout": str(max(0, settings.db_statement_timeout_ms)),
            },
        )
        try:
            await _init_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    def release(self, lane: _Lane, conn: asyncpg.Connection, reusable: bool) -> None:
        """Back to the idle list when the last exchange ended cleanly (a result or the server's own error);
        after anything else — cancelled, timed out, lost — the connection's state is unknown: closed."""
        if reusable and not self.closing and not conn.is_closed() and not conn.is_in_transaction():
            lane.idle.append((conn, time.monotonic()))
        else:
            conn.terminate()

    async def close(self) -> None:
        self.closing = True
        for lane in self.lanes.values():
            idle, lane.idle = lane.idle, []
            for conn, _ in idle:
                try:
                    await asyncio.wait_for(conn.close(), 5)
                except (OSError, TimeoutError, asyncpg.PostgresError):
                    conn.terminate()


_pools: dict[asyncio.AbstractEventLoop, _Pool] = {}  # per event loop (tests run many)


async def open_pool() -> None:
    """The running loop's pool (no connection is made until the first read); apps that share a loop share it."""
    if get_settings().is_sqlite:
        return
    loop = asyncio.get_running_loop()
    if loop in _pools:
        _pools[loop].users += 1
    else:
        _pools[loop] = _Pool()


async def close_pool() -> None:
    loop = asyncio.get_running_loop()
    held = _pools.get(loop)
    if held is None:
        return
    held.users -= 1
    if held.users <= 0:
        del _pools[loop]
        await held.close()


def _current() -> _Pool:
    loop = asyncio.get_running_loop()
    held = _pools.get(loop)
    if held is None:  # an app served without its lifespan: the pool is made on first use
        held = _pools[loop] = _Pool()
    return held


async def run(work: Callable[[asyncpg.Connection], Awaitable[T]], lane: Lane = "read") -> T:
    """Run `work` on a pooled connection of `lane`; once more on a fresh one if the connection was dead.

    A database that cannot be reached or refuses connections (down, starting, too many clients, bad
    credentials), a wait for a connection longer than DB_POOL_TIMEOUT, or a read past the command timeout
    is a 503 with Retry-After — never a 500, and never an endless queue."""
    held = _current()
    chosen = held.lanes[lane]
    gate = chosen.gate
    for attempt in (1, 2):
        if gate.locked():  # a free gate is taken at once: no timer to arm for the common case
            try:
                async with asyncio.timeout(get_settings().db_pool_timeout):
                    await gate.acquire()
            except TimeoutError as exc:
                raise unavailable("every database connection stayed busy", exc, retry_after=2) from exc
        else:
            await gate.acquire()
        try:
            try:
                conn = await held.acquire(chosen)
            except Exception as exc:  # connecting failed: whatever the server said, it is not the client's fault
                if attempt == 2:
                    raise unavailable("could not connect", exc) from exc
                log.warning("database connect failed, retrying: %s", str(exc)[:300])
                continue
            reusable = False
            try:
                result = await work(conn)
                reusable = True
                return result
            except asyncpg.PostgresError as exc:  # the server's own answer: the connection is in step
                reusable = not isinstance(exc, LOST)
                raise
            finally:
                held.release(chosen, conn, reusable)
        except LOST as exc:
            if attempt == 2:
                raise unavailable("the connection was lost", exc) from exc
            log.warning("database read failed, retrying: %s", str(exc)[:300])
        except (asyncpg.PostgresError, TimeoutError) as exc:
            error = as_domain_error(exc)
            if error is None:
                raise
            raise error from exc
        finally:
            gate.release()
    raise AssertionError("unreachable")


class AsyncpgExecutor:
    dialect = "postgresql"

    async def rows(self, stmt: Executable, lane: Lane = "read") -> list[Any]:
        sql, args = compile_with_args(stmt)  # type: ignore[arg-type]
        return await self.rows_sql(sql, args, lane)

    async def rows_sql(self, sql: str, args: Sequence[Any], lane: Lane = "read") -> list[Any]:
        return await run(lambda conn: conn.fetch(sql, *args), lane)

    async def rows_of(self, pre: Precompiled, params: dict[str, Any], lane: Lane = "read") -> list[Any]:
        return await self.rows_sql(pre.sql, [params[name] for name in pre.names], lane)


# --- SQLite: the sync engine in a worker thread -----------------------------------------------------------


class ThreadExecutor:
    dialect = "sqlite"

    async def rows(self, stmt: Executable, lane: Lane = "read") -> list[Any]:
        engine: Callable[[], Engine] = get_auth_engine if lane == "auth" else get_engine

        def work() -> list[Any]:
            def fetch(conn: Connection) -> list[Any]:
                return list(conn.execute(stmt).all())

            try:
                return run_on(engine, fetch)
            except SQLAlchemyError as exc:  # the database's errors leave as domain errors, as from asyncpg
                error = as_domain_error(exc)
                if error is None:
                    raise
                raise error from exc

        return await (in_auth_thread(work) if lane == "auth" else in_thread(work))

    async def rows_sql(self, sql: str, args: Sequence[Any], lane: Lane = "read") -> list[Any]:
        raise NotImplementedError("compiled SQL is PostgreSQL's (prepared shapes)")

    async def rows_of(self, pre: Precompiled, params: dict[str, Any], lane: Lane = "read") -> list[Any]:
        return await self.rows(pre.stmt.params(**params), lane)  # type: ignore[attr-defined]


_POSTGRES = AsyncpgExecutor()
_SQLITE = ThreadExecutor()


def executor() -> Executor:
    return _SQLITE if get_settings().is_sqlite else _POSTGRES
