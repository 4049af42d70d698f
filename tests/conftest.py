"""Test set-up: a fresh database built by the Alembic migrations, emptied after every test.

The suite runs against SQLite by default and against PostgreSQL when `TEST_DATABASE_URL` is set
(`make test` runs it once for each). Settings are fixed here, before the app is imported.

`make test` runs the suite in two processes (pytest-xdist, `-n 2`); each has a database of its own: a SQLite
file in its own temporary folder, or on PostgreSQL `<TEST_DATABASE_URL's database>_gw0`, `_gw1`, ... (created
when missing, migrated once per process). Between tests the tables are emptied, not rolled back to a
savepoint: many tests reach the database from other connections — a real uvicorn in a subprocess, the
asyncpg executor's pool, the outbox drainer and sender threads — which cannot see a test's uncommitted
transaction, so every test commits for real.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_TMP = Path(tempfile.mkdtemp(prefix="crm-tests-"))
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under pytest-xdist; unset in a single process


def _database_of_this_process() -> str:
    """SQLite: a file in this process's temporary folder. PostgreSQL: TEST_DATABASE_URL in a single process, its
    `<database>_<worker>` sibling under pytest-xdist (created here when missing; the `_schema` fixture migrates it)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{_TMP / 'test.db'}"
    if not _WORKER:
        return base
    from sqlalchemy import create_engine, make_url, text

    url = make_url(base)
    mine = url.set(database=f"{url.database}_{_WORKER}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": mine.database}) is None:
                conn.execute(text(f'CREATE DATABASE "{mine.database}"'))
    finally:
        engine.dispose()
    return mine.render_as_string(hide_password=False)


_DB_URL = _database_of_this_process()
os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATABASE_URL": _DB_URL,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256-0123456789",
        "ADMIN_EMAIL": "admin@example.com",
        "ADMIN_PASSWORD": "admin-password-1",
        "UPLOAD_DIR": str(_TMP / "uploads"),
        "CORS_ORIGINS": "http://localhost:5173,https://crm.example.com",
        "FRONTEND_URL": "http://localhost:5173",
        "AUTO_MATCH": "false",
        "WHATSAPP_INAPP_SENDER": "false",
        "JOBS_INAPP": "false",  # tests drain the outbox themselves (services.outbox.drain_all), deterministically
        "LOG_LEVEL": "WARNING",
    }
)

import pytest  # noqa: E402
from _pytest.nodeid import NodeId  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from pwdlib import PasswordHash  # noqa: E402
from pwdlib.hashers.argon2 import Argon2Hasher  # noqa: E402
from sqlalchemy import text  # noqa: E402

from backend.database import Base, get_engine, get_sessionmaker  # noqa: E402
from backend.main import create_app  # noqa: E402
from backend.services import security  # noqa: E402
from backend.services.security import create_access_token  # noqa: E402
from backend.services.users import create_user  # noqa: E402

IS_POSTGRES = _DB_URL.startswith("postgresql")

# Still Argon2id, with the smallest cost: the suite creates hundreds of users and would otherwise spend
# minutes hashing. Production keeps pwdlib's recommended parameters.
security._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
ROOT = Path(__file__).resolve().parent.parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """schemathesis 4.32 names the test of each API operation `test_openapi_operation[GET /api/...]`, but under
    pytest 9 all 288 share the nodeid `...::test_openapi_operation` (it sets `_nodeid`, which pytest 9 no longer
    reads). pytest-xdist schedules by nodeid, so `--dist loadfile` ran one of the 288. Each item gets back the
    nodeid its name says, before xdist reads them."""
    counts = Counter(item.nodeid for item in items)
    for item in items:
        if counts[item.nodeid] > 1 and item.parent is not None and item.name != item.nodeid.rsplit("::", 1)[-1]:
            item._id = NodeId.parse(f"{item.parent.nodeid}::{item.name}")  # type: ignore[attr-defined]


def _reset_schema() -> None:
    engine = get_engine()
    with engine.begin() as conn:
        if IS_POSTGRES:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(text(f'DROP TABLE IF EXISTS "{table.name}"'))
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["skip_logging"] = True
    command.upgrade(config, "head")


def _truncate() -> None:
    # The registry's generation counter is a row the migrations create; it survives, moved on, so every
    # process (and this one) reloads the stored schemas that were just emptied.
    with get_engine().begin() as conn:
        if IS_POSTGRES:
            conn.exec_driver_sql(_pg_cleaning_script(conn))
        else:
            conn.execute(text("UPDATE registry_generation SET generation = generation + 1"))
            for name in _cleaned_tables():
                conn.execute(text(f'DELETE FROM "{name}"'))


def _cleaned_tables() -> list[str]:
    """Every table but the registry's generation counter, children before the tables they reference."""
    return [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "registry_generation"]


_pg_script: list[str] = []  # built once per process, on first use


def _pg_cleaning_script(conn: Any) -> str:
    """One round trip that empties every table and restarts their sequences, as TRUNCATE ... RESTART IDENTITY did.

    DELETE, not TRUNCATE: most tables are empty or hold a few rows after a test, and TRUNCATE's cost is per
    table (new files for each table and index: 130 ms for the 42 tables), DELETE's per row (a few ms here)."""
    if _pg_script:
        return _pg_script[0]
    tables = _cleaned_tables()
    sequences = conn.execute(
        text(
            "SELECT s.seqrelid::regclass::text, s.seqstart FROM pg_sequence s "
            "JOIN pg_depend d ON d.objid = s.seqrelid AND d.deptype IN ('a', 'i') "
            "JOIN pg_class t ON t.oid = d.refobjid WHERE t.relname = ANY(:tables)"
        ),
        {"tables": tables},
    ).all()
    statements = ["UPDATE registry_generation SET generation = generation + 1"]
    statements += [f'DELETE FROM "{name}"' for name in tables]
    if sequences:
        statements.append("SELECT " + ", ".join(f"setval('{name}', {start}, false)" for name, start in sequences))
    _pg_script.append("; ".join(statements))
    return _pg_script[0]


@pytest.fixture(scope="session", autouse=True)
def _schema() -> Iterator[None]:
    _reset_schema()
    yield
    get_engine().dispose()


@pytest.fixture(autouse=True)
def _alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked `alone` (a timed assertion) run while the other test processes of this run wait between
    their tests; every other test holds the lock shared. Two files: the lock, and a turnstile that a waiting
    `alone` test holds so the others cannot keep starting tests ahead of it."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:  # a single process: nothing runs beside it
        yield
        return
    folder = Path(tempfile.gettempdir())
    alone = request.node.get_closest_marker("alone") is not None
    with (
        open(folder / f"crm-tests-{run}.turnstile", "w") as turnstile,
        open(folder / f"crm-tests-{run}.lock", "w") as lock,
    ):
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        if not alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        yield  # the locks go with the files


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    _truncate()


@pytest.fixture(scope="session")
def app() -> Any:
    return create_app()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def make_user(email: str, role: str = "user", password: str = "password-123", **extra: Any) -> dict[str, Any]:
    """Creates a user directly through the service; returns the user's id, email and a bearer header."""
    with get_sessionmaker()() as session:
        user = create_user(session, {"email": email, "password": password, "role": role, **extra})
        session.commit()
        token, _ = create_access_token(user.id, user.email, user.role, user.token_version)
        return {
            "id": user.id,
            "email": user.email,
            "password": password,
            "token": token,
            "headers": {"Authorization": f"Bearer {token}"},
        }


@pytest.fixture
def admin() -> dict[str, Any]:
    return make_user("boss@example.com", role="admin")


@pytest.fixture
def agent() -> dict[str, Any]:
    return make_user("agent@example.com", app_role="agent")


@pytest.fixture
def manager() -> dict[str, Any]:
    """The office manager: marketing, campaigns and WhatsApp are theirs (the office's default rules)."""
    return make_user("manager@example.com", app_role="office_manager")


@pytest.fixture
def staff() -> dict[str, Any]:
    """An office admin in the app (`app_role` admin) who is not the server's admin: every entity's row rules
    let them do everything, so entity-contract tests exercise the entity, not the rules."""
    return make_user("staff@example.com", app_role="admin")


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Every non-2xx answer carries API.md's error body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert "detail" in body
    return body  # type: ignore[no-any-return]
