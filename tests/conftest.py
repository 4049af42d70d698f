"""Test set-up: a fresh database built by the Alembic migrations, emptied after every test.

The suite runs against SQLite by default and against PostgreSQL when `TEST_DATABASE_URL` is set
(`make test` runs it once for each). Settings are fixed here, before the app is imported.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_TMP = Path(tempfile.mkdtemp(prefix="crm-tests-"))
_DB_URL = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
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
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "registry_generation"]
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE registry_generation SET generation = generation + 1"))
        if IS_POSTGRES:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture(scope="session", autouse=True)
def _schema() -> Iterator[None]:
    _reset_schema()
    yield
    get_engine().dispose()


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
