"""The fast lane serves hot reads before routing; the FastAPI routes behind it must answer identically."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from backend.config import get_settings
from backend.database import get_engine
from backend.main import create_app
from tests.conftest import IS_POSTGRES, assert_error, make_user

POOL = "crm-backend-reads"  # the asyncpg pool's application_name

REQUESTS = [
    "/api/contacts",
    "/api/contacts?limit=1",  # a next cursor
    "/api/contacts?sort=full_name&limit=1&skip=1",  # a deferred join on PostgreSQL
    "/api/contacts?sort=-city,full_name&fields=full_name,city",  # nulls in the sort, a projection
    "/api/apps/a1/entities/Contact?sort=city&limit=2&skip=1",
    "/api/contacts?sort=full_name&limit=2&count=true",
    '/api/contacts?q={"city":"חיפה"}&fields=full_name',
    "/api/contacts?sort=nope",
    "/api/contacts?limit=-1",
    "/api/apps/a1/entities/Contact?sort=-created_date",
    "/api/apps/a1/entities/Tenant",
    "/api/apps/a1/entities/Contact?distinct=city",
    "/api/apps/a1/entities/lowercase",
]


@pytest.fixture(scope="module")
def routed_app() -> Any:
    return create_app(fast_lane=False)


def test_fast_lane_and_routes_answer_the_same(client: Any, routed_app: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    created = client.post("/api/contacts/bulk", headers=h, json=[
        {"full_name": "דנה", "city": "חיפה", "x": 1}, {"full_name": "אבי", "city": "ירושלים"}, {"full_name": "רון"},
    ]).json()  # fmt: skip
    client.post("/api/apps/a1/entities/Tenant", headers=h, json={"name": "t"})
    paths = [*REQUESTS, f"/api/contacts/{created[0]['id']}", f"/api/apps/a1/entities/Contact/{created[1]['id']}",
             "/api/contacts/" + "0" * 24]  # fmt: skip
    with TestClient(routed_app, raise_server_exceptions=False) as routed:
        for path in paths:
            fast, slow = client.get(path, headers=h), routed.get(path, headers=h)
            assert (fast.status_code, fast.json()) == (slow.status_code, slow.json()), path
            for header in ("etag", "x-total-count", "x-next-cursor"):
                assert fast.headers.get(header) == slow.headers.get(header), (path, header)
        # following cursors page by page, through a null in the sort key, on both paths
        for sort in ("-created_date", "city", "-city"):
            path = f"/api/contacts?sort={sort}&limit=1"
            seen: list[str] = []
            while path:
                fast, slow = client.get(path, headers=h), routed.get(path, headers=h)
                assert (fast.status_code, fast.json()) == (slow.status_code, slow.json()), path
                assert fast.headers.get("x-next-cursor") == slow.headers.get("x-next-cursor"), path
                seen += [r["id"] for r in fast.json()]
                cursor = fast.headers.get("x-next-cursor")
                path = f"/api/contacts?sort={sort}&limit=1&cursor={cursor}" if cursor else ""
            assert sorted(seen) == sorted(c["id"] for c in created), sort


@pytest.mark.skipif(not IS_POSTGRES, reason="the asyncpg reads exist on PostgreSQL only")
def test_hot_reads_use_the_asyncpg_pool_on_postgresql(client: Any, admin: dict[str, Any]) -> None:
    """The list page and the single record are served over asyncpg, not the SQLAlchemy thread path:
    PostgreSQL shows each pool connection's last statement."""
    created = client.post("/api/contacts", headers=admin["headers"], json={"full_name": "א"}).json()

    def last_statements() -> list[str]:
        with get_engine().connect() as conn:
            sql = "SELECT query FROM pg_stat_activity WHERE application_name = :n AND pid <> pg_backend_pid()"
            return list(conn.scalars(text(sql), {"n": POOL}))

    assert client.get("/api/contacts?sort=full_name&limit=7", headers=admin["headers"]).status_code == 200
    assert any("FROM contacts" in q and "LIMIT 8" in q for q in last_statements()), last_statements()
    assert client.get(f"/api/contacts/{created['id']}", headers=admin["headers"]).json()["full_name"] == "א"
    assert any("contacts.id = $1" in q for q in last_statements())


@pytest.mark.parametrize("path", ["/api/contacts", "/api/properties/abc", "/api/apps/a1/entities/Tenant"])
def test_fast_lane_needs_a_valid_token(client: Any, path: str) -> None:
    assert_error(client.get(path), 401, "unauthorized")
    response = client.get(path, headers={"Authorization": "Bearer not.a.token"})
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_hot_reads_see_logout_disable_and_password_change_at_once(client: Any, admin: dict[str, Any]) -> None:
    """The fast lane remembers a token's verified signature, never whether its session is still valid."""
    record = client.post("/api/contacts", headers=admin["headers"], json={"full_name": "ב"}).json()
    reads = ["/api/contacts", f"/api/contacts/{record['id']}", "/api/apps/a1/entities/Contact"]

    def reads_ok(headers: dict[str, str]) -> bool:
        return all(client.get(path, headers=headers).status_code == 200 for path in reads)

    def refused(headers: dict[str, str]) -> None:
        for path in [*reads, "/api/contacts?limit=-1", "/api/apps/nope/entities/Contact"]:  # 401 before 400/404
            assert_error(client.get(path, headers=headers), 401, "unauthorized")

    out = make_user("out@example.com")
    assert reads_ok(out["headers"])
    assert client.post("/api/auth/logout", headers=out["headers"]).status_code == 204
    refused(out["headers"])

    gone = make_user("gone@example.com")
    assert reads_ok(gone["headers"])
    assert client.put(f"/api/users/{gone['id']}", headers=admin["headers"], json={"disabled": True}).status_code == 200
    refused(gone["headers"])

    moved = make_user("moved@example.com", password="correct-horse")
    assert reads_ok(moved["headers"])
    change = {"current_password": "correct-horse", "new_password": "battery-staple"}
    assert client.post("/api/auth/change-password", headers=moved["headers"], json=change).status_code == 204
    refused(moved["headers"])


def test_a_remembered_token_still_expires(client: Any, admin: dict[str, Any]) -> None:
    claims = {"sub": admin["id"], "ver": 1, "jti": "short-lived", "iat": int(time.time())}
    token = jwt.encode({**claims, "exp": int(time.time()) + 2}, get_settings().secret_key, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/contacts", headers=headers).status_code == 200  # verified, and remembered
    time.sleep(2.1)
    response = client.get("/api/contacts", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert "expired" in response.json()["detail"]
