"""The fast lane serves hot reads before routing; the FastAPI routes behind it must answer identically."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.conftest import assert_error

REQUESTS = [
    "/api/contacts",
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


@pytest.mark.parametrize("path", ["/api/contacts", "/api/properties/abc", "/api/apps/a1/entities/Tenant"])
def test_fast_lane_needs_a_valid_token(client: Any, path: str) -> None:
    assert_error(client.get(path), 401, "unauthorized")
    response = client.get(path, headers={"Authorization": "Bearer not.a.token"})
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
