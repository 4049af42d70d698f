"""Engine, session factory and the declarative Base. One engine per process, built from settings."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import JSON, MetaData, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from backend.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

T = TypeVar("T")
# How the app's connections show up in pg_stat_activity (the fast lane's asyncpg pool: crm-backend-reads).
APPLICATION_NAME = "crm-backend"
# Threads (and connections) that serve the per-request session check only (backend/deps.py).
AUTH_CONNECTIONS = 2

# JSON everywhere, JSONB on PostgreSQL (indexable, compact, comparable).
JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_regexp(pattern: str, value: Any) -> bool:
    if value is None:
        return False
    flags = 0
    if pattern.startswith("(?i)"):
        flags, pattern = re.IGNORECASE, pattern[4:]
    return re.search(pattern, str(value), flags) is not None


def make_engine(url: str, *, statement_timeout_ms: int | None = None, **overrides: Any) -> Engine:
    """Build an engine: SQLite in WAL mode with foreign keys on; PostgreSQL pooled with pre-ping.

    Every PostgreSQL connection starts with `statement_timeout` (DB_STATEMENT_TIMEOUT_MS unless given;
    0 = none): a statement that runs on — a costly filter, a wait on a lock — is stopped by the server
    instead of holding a connection (and a worker thread) for minutes after its client has gone.
    """
    settings = get_settings()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **overrides)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.create_function("regexp", 2, _sqlite_regexp, deterministic=True)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    timeout = settings.db_statement_timeout_ms if statement_timeout_ms is None else statement_timeout_ms
    connect_args = {
        "options": f"-c statement_timeout={max(0, int(timeout))}",
        "application_name": APPLICATION_NAME,
        **overrides.pop("connect_args", {}),
    }
    options: dict[str, Any] = {
        "connect_args": connect_args,
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "pool_recycle": 1800,
    }
    if "poolclass" in overrides:  # NullPool and friends take no sizing arguments
        options = {"connect_args": connect_args, "pool_pre_ping": True}
    options.update(overrides)
    return create_engine(url, **options)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=False)


@lru_cache
def get_auth_engine() -> Engine:
    """SQLite: a few connections of their own for the per-request session check (the executor's `auth`
    lane), so it never queues behind reads holding the others. PostgreSQL uses asyncpg's lanes instead."""
    return make_engine(get_settings().database_url, pool_size=AUTH_CONNECTIONS, max_overflow=0)


def run_on(engine: Callable[[], Engine], work: Callable[[Connection], T]) -> T:
    """Run `work` on a connection of `engine`; once more if the connection turned out to be dead."""
    for attempt in (1, 2):
        try:
            with engine().connect() as conn:
                return work(conn)
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def long_statements(db: Session | Connection) -> None:
    """Give the current transaction DB_BULK_STATEMENT_TIMEOUT_MS instead of the everyday statement timeout.

    For bulk work an admin starts on purpose (imports and exports), whose single
    statements can legitimately take longer on a large office. `SET LOCAL` ends with the transaction, so
    the pooled connection goes back with the everyday limit. A no-op on SQLite.
    """
    if dialect_name(db) != "postgresql":
        return
    db.execute(text(f"SET LOCAL statement_timeout = {max(0, int(get_settings().db_bulk_statement_timeout_ms))}"))


def dialect_name(db: Session | Connection) -> str:
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name


@contextmanager
def unit_of_work(sessions: Callable[[], Session] | None = None) -> Iterator[Session]:
    """One unit of work: a session whose writes commit together when the block ends, or roll back when it
    raises (or when `discard` was called). Services only flush; their owner decides. The owners are the
    request (`get_session`) and the work that is not a request's: the outbox drainer and its hooks, the
    WhatsApp sender, the reminder scheduler, the scripts — and what must outlive the request's rollback
    (a sign-in attempt is counted even when its request fails)."""
    session = (sessions or get_sessionmaker())()
    try:
        yield session
        if session.info.pop("discard", False):
            session.rollback()
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def discard(session: Session) -> None:
    """Keep nothing this unit of work wrote, though it ends normally (a refused import answers its report, a
    dry run its plan): the owner rolls back instead of committing. The service never rolls back itself —
    the same session may carry the caller's other writes, which must go with it or stay with it."""
    session.info["discard"] = True


def dialect_insert(db: Session | Connection) -> Callable[[Any], Any]:
    """The database's own INSERT construct, which can say ON CONFLICT DO NOTHING (PostgreSQL's or SQLite's)."""
    return postgresql.insert if dialect_name(db) == "postgresql" else sqlite.insert


def get_session() -> Iterator[Session]:
    """One session per request, the request's unit of work: commits once when the handler returns (before
    the response is sent), rolls back on any error. The outbox's after-commit work runs after that commit."""
    with unit_of_work() as session:
        yield session
