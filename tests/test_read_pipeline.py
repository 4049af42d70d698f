"""One read pipeline: every list and get — declared entities, document entities, entities an admin adds at run
time — goes through the same route, auth dependency, row rules and executor (asyncpg on PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from sqlalchemy import text

from backend.config import get_settings
from backend.database import get_engine
from tests.conftest import IS_POSTGRES, assert_error, make_user

POOL = "crm-backend-reads"  # the asyncpg pool's application_name
APP = "/api/apps/a1"
LOGBOOK = {
    "name": "Logbook",
    "type": "object",
    "properties": {"title": {"type": "string"}, "hours": {"type": "number"}},
    "rls": {"read": {"$or": [{"created_by": "{{user.email}}"}, {"user_condition": {"data.app_role": "admin"}}]}},
}


def test_an_entity_added_at_run_time_is_served_and_guarded_like_the_declared_ones(
    client: Any, admin: dict[str, Any], agent: dict[str, Any]
) -> None:
    put = client.put("/api/admin/schemas/Logbook", headers=admin["headers"], json=LOGBOOK)
    assert put.status_code == 200, put.text
    other = make_user("other@example.com", app_role="agent")
    mine = client.post(f"{APP}/entities/Logbook", headers=agent["headers"], json={"title": "שלי", "hours": 2.5})
    assert mine.status_code == 201, mine.text
    assert mine.json()["hours"] == 2.5
    assert_error(
        client.post(f"{APP}/entities/Logbook", headers=agent["headers"], json={"hours": "x"}), 422, "validation_error"
    )
    theirs = client.post(f"{APP}/entities/Logbook", headers=other["headers"], json={"title": "שלו", "hours": 1})
    # the agent sees only its own rows: the list, the count, the single record, a filter that names the other's
    listing = client.get(f"{APP}/entities/Logbook", headers=agent["headers"])
    assert [r["title"] for r in listing.json()] == ["שלי"]
    assert client.get(f"{APP}/entities/Logbook/count", headers=agent["headers"]).json() == {"count": 1}
    assert_error(
        client.get(f"{APP}/entities/Logbook/{theirs.json()['id']}", headers=agent["headers"]), 404, "not_found"
    )
    q = '{"title": "שלו"}'
    assert client.get(f"{APP}/entities/Logbook?q={q}", headers=agent["headers"]).json() == []
    # the admin sees both; no token is a 401 before anything else
    assert len(client.get(f"{APP}/entities/Logbook", headers=admin["headers"]).json()) == 2
    assert_error(client.get(f"{APP}/entities/Logbook"), 401, "unauthorized")
    # a rule change takes effect on the next request
    open_rules = {**LOGBOOK, "rls": {}}
    assert client.put("/api/admin/schemas/Logbook", headers=admin["headers"], json=open_rules).status_code == 200
    assert len(client.get(f"{APP}/entities/Logbook", headers=agent["headers"]).json()) == 2


def test_cursors_walk_every_record_once_through_nulls_in_the_sort(client: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    created = client.post("/api/contacts/bulk", headers=h, json=[
        {"full_name": "דנה", "city": "חיפה", "x": 1}, {"full_name": "אבי", "city": "ירושלים"}, {"full_name": "רון"},
    ]).json()  # fmt: skip
    for sort in ("-created_date", "city", "-city", "full_name"):
        path = f"/api/contacts?sort={sort}&limit=1"
        seen: list[str] = []
        while path:
            page = client.get(path, headers=h)
            assert page.status_code == 200, page.text
            seen += [r["id"] for r in page.json()]
            cursor = page.headers.get("x-next-cursor")
            path = f"/api/contacts?sort={sort}&limit=1&cursor={cursor}" if cursor else ""
        assert sorted(seen) == sorted(c["id"] for c in created), sort


def test_document_store_pages_hold_their_own_entity_and_walk_by_cursor(client: Any, admin: dict[str, Any]) -> None:
    """Entities nobody declared share one table: each list (a page, a cursor walk, a filtered page, the
    newest first or by a field of their own) holds its own records only, each once."""
    h = admin["headers"]
    made: dict[str, list[str]] = {"Widget": [], "Gadget": []}
    for i in range(3):
        for name in made:
            one = client.post(f"{APP}/entities/{name}", headers=h, json={"title": f"{name} {i}", "n": i})
            assert one.status_code == 201, one.text
            made[name].append(one.json()["id"])
    for name, ids in made.items():
        page = client.get(f"{APP}/entities/{name}?sort=-created_date&limit=50", headers=h).json()
        assert [r["id"] for r in page] == ids[::-1]
        for sort in ("-created_date", "created_date", "-n"):
            seen: list[str] = []
            path = f"{APP}/entities/{name}/v2/list?sort={sort}&limit=1"
            while path:
                body = client.get(path, headers=h).json()
                seen += [r["id"] for r in body["items"]]
                cursor = body["next_cursor"]
                path = f"{APP}/entities/{name}/v2/list?sort={sort}&limit=1&cursor={cursor}" if cursor else ""
            assert sorted(seen) == sorted(ids), (name, sort)
            assert len(seen) == len(ids)
        q = '{"n": {"$gte": 1}}'
        assert {r["id"] for r in client.get(f"{APP}/entities/{name}?q={q}", headers=h).json()} == set(ids[1:])


@pytest.mark.skipif(not IS_POSTGRES, reason="the asyncpg executor exists on PostgreSQL only")
def test_lists_and_records_of_every_kind_run_on_the_asyncpg_executor(client: Any, admin: dict[str, Any]) -> None:
    """PostgreSQL shows each pool connection's last statement: the page and the record were asyncpg's."""
    h = admin["headers"]
    created = client.post("/api/contacts", headers=h, json={"full_name": "א"}).json()
    tenant = client.post(f"{APP}/entities/Tenant", headers=h, json={"name": "ט"}).json()

    def last_statements() -> list[str]:
        with get_engine().connect() as conn:
            sql = (  # this database's: other test processes run the same pool against theirs
                "SELECT query FROM pg_stat_activity WHERE application_name = :n AND pid <> pg_backend_pid() "
                "AND datname = current_database()"
            )
            return list(conn.scalars(text(sql), {"n": POOL}))

    assert client.get("/api/contacts?sort=full_name&limit=7", headers=h).status_code == 200
    assert any("FROM contacts" in q and "LIMIT 8" in q for q in last_statements()), last_statements()
    assert client.get(f"/api/contacts/{created['id']}", headers=h).json()["full_name"] == "א"
    assert any("contacts.id = $1" in q for q in last_statements()), last_statements()
    assert client.get(f"{APP}/entities/Tenant/{tenant['id']}", headers=h).json()["name"] == "ט"
    assert any("FROM tenant " in q and "$1" in q for q in last_statements()), last_statements()


@pytest.mark.parametrize("path", ["/api/contacts", "/api/properties/abc", f"{APP}/entities/Tenant"])
def test_reads_need_a_valid_token(client: Any, path: str) -> None:
    assert_error(client.get(path), 401, "unauthorized")
    response = client.get(path, headers={"Authorization": "Bearer not.a.token"})
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


def test_reads_see_logout_disable_and_password_change_at_once(client: Any, admin: dict[str, Any]) -> None:
    record = client.post("/api/contacts", headers=admin["headers"], json={"full_name": "ב"}).json()
    reads = ["/api/contacts", f"/api/contacts/{record['id']}", f"{APP}/entities/Contact"]

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


def test_an_expired_token_is_refused(client: Any, admin: dict[str, Any]) -> None:
    claims = {"sub": admin["id"], "ver": 1, "jti": "short-lived", "iat": int(time.time())}
    token = jwt.encode({**claims, "exp": int(time.time()) + 2}, get_settings().secret_key, algorithm="HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/contacts", headers=headers).status_code == 200
    time.sleep(2.1)
    response = client.get("/api/contacts", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert "expired" in response.json()["detail"]
