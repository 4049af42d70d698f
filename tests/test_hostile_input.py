"""Hostile input on every input path — query parameters, JSON bodies, headers, path ids — gets a 4xx with
the error body, never a 500 (or a 503 blaming the database).

The issue's three: `?cursor=x.%C3%A9`, `?anyfield=18446744073709551616`, `{"full_name": "a\\ud800b"}`. The
rest is the same class of bug found by probing each path the same way: values the standard library's JSON
parser accepts but no database stores (lone surrogates, NaN, integers past 64 bits), and one NaN that, once
stored, made SQLite's JSON functions refuse every later query of its collection ("malformed JSON", a 503).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.routing import APIRoute

from backend.errors import ValidationFailed
from backend.main import create_app
from backend.routing import JsonRoute
from backend.services.registry import get_spec
from backend.services.validation import validate_record
from tests.conftest import assert_error

B44 = "/api/apps/a1/entities"
LISTS = [
    "/api/contacts",
    "/api/contacts/trash",
    "/api/properties",
    f"{B44}/Contact",
    f"{B44}/Contact/count",
    f"{B44}/Contact/v2/list",
    f"{B44}/Tenant",
]


def _no_server_error(response: Any, what: str) -> None:
    assert response.status_code < 500 or response.status_code == 501, (what, response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert {"detail", "message", "code"} <= body.keys(), (what, body)


@pytest.mark.parametrize("path", LISTS)
def test_a_cursor_with_non_ascii_text_is_a_400(client: Any, admin: dict[str, Any], path: str) -> None:
    for cursor in ("x.%C3%A9", "%C3%A9.%C3%A9", "é"):
        response = client.get(f"{path}?cursor={cursor}", headers=admin["headers"])
        if path.endswith("/count"):
            _no_server_error(response, cursor)  # count ignores cursors
        else:
            assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("value", ["18446744073709551616", "18446744073709551615", "-18446744073709551616",
                                   "9" * 40, "1e400", "-1e400", "nan", "inf", "1" * 5000])  # fmt: skip
def test_equality_filters_with_numbers_no_database_holds(client: Any, admin: dict[str, Any], value: str) -> None:
    h = admin["headers"]
    client.post(f"{B44}/Contact", headers=h, json={"full_name": "x", "anyfield": 1})
    client.post("/api/properties", headers=h, json={"title": "p", "price": 5})
    client.post(f"{B44}/Tenant", headers=h, json={"name": "t", "anyfield": 1})
    for path in (f"{B44}/Contact", f"{B44}/Contact/count", f"{B44}/Contact/v2/list", f"{B44}/Tenant"):
        for name in ("anyfield", "price"):
            response = client.get(path, headers=h, params={name: value, "count": "true"})
            assert response.status_code == 200, (path, name, response.text)
    response = client.get("/api/properties", headers=h, params={"price": value})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert response.json() == []
    else:
        assert_error(response, 400, "bad_request")


def test_query_bodies_with_integers_past_64_bits(client: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    client.post(f"{B44}/Contact", headers=h, json={"full_name": "x", "n": 1})
    for big in (18446744073709551615, -(2**63) - 1):
        deleted = client.request("DELETE", f"{B44}/Contact", headers=h, json={"n": big})
        assert deleted.status_code == 200 and deleted.json()["deleted"] == 0, deleted.text
        updated = client.patch(
            f"{B44}/Contact/update-many", headers=h, json={"query": {"n": {"$gt": big}}, "data": {"a": 1}}
        )
        assert updated.status_code == 200, updated.text
        listed = client.get(
            f"{B44}/Contact", headers=h, params={"q": json.dumps({"n": {"$in": [big]}, "t": {"$size": big}})}
        )
        assert listed.status_code in (200, 400), listed.text


LONE_SURROGATE = b'{"full_name": "a\\ud800b", "title": "a\\udc00", "name": "\\udfff"}'
BAD_BODIES = {
    "lone surrogate": LONE_SURROGATE,
    "surrogate key": b'{"full_name": "a", "\\ud800": 1}',
    "NaN": b'{"full_name": "a", "x": NaN}',
    "Infinity": b'{"full_name": "a", "x": -Infinity}',
    "1e400": b'{"full_name": "a", "x": 1e400}',
    "2000 levels": b'{"full_name": "a", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    "not UTF-8": b'{"full_name": "\xff\xfe"}',
}


def _write_paths(record_id: str, user_id: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/api/contacts"), ("PUT", f"/api/contacts/{record_id}"), ("PATCH", f"/api/contacts/{record_id}"),
        ("POST", "/api/contacts/bulk"), ("POST", f"{B44}/Contact"), ("PUT", f"{B44}/Contact/{record_id}"),
        ("POST", f"{B44}/Tenant"), ("PUT", f"{B44}/Contact/bulk"), ("PATCH", f"{B44}/Contact/update-many"),
        ("DELETE", f"{B44}/Contact"), ("PUT", "/api/auth/me"), ("PUT", f"{B44}/User/me"), ("POST", "/api/users"),
        ("PUT", f"/api/users/{user_id}"), ("POST", "/api/whatsapp/send"), ("POST", "/api/whatsapp/send-bulk"),
        ("POST", "/api/automation/generate-matches"), ("POST", "/api/admin/import/Contact"),
        ("POST", "/api/auth/change-password"), ("POST", "/api/auth/reset-password"), ("POST", "/api/apps/a1/auth/login"),
        ("POST", "/api/apps/a1/users/invite-user"), ("POST", "/api/apps/a1/functions/generateMatches"),
        ("POST", "/api/apps/a1/integration-endpoints/Core/CreateFileSignedUrl"),
    ]  # fmt: skip


@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_json_bodies_no_database_can_store_are_refused_on_every_write_path(
    client: Any, admin: dict[str, Any], kind: str
) -> None:
    h = {**admin["headers"], "content-type": "application/json"}
    record_id = client.post("/api/contacts", headers=h, json={"full_name": "kept"}).json()["id"]
    for method, path in _write_paths(record_id, admin["id"]):
        response = client.request(method, path, headers=h, content=BAD_BODIES[kind])
        _no_server_error(response, f"{method} {path}")
        if path != "/api/admin/import/Contact":  # reads the body itself; see the import test below
            assert response.status_code in (400, 401, 404, 409, 422), (method, path, response.text)
    # nothing was stored, and the collection still answers every kind of query
    listed = client.get(f"{B44}/Contact", headers=h, params={"q": json.dumps({"x": {"$exists": True}})})
    assert listed.status_code == 200 and listed.json() == []
    assert [r["full_name"] for r in client.get("/api/contacts", headers=h).json()] == ["kept"]


def test_the_issues_lone_surrogate_on_create_is_a_422_naming_it(client: Any, agent: dict[str, Any]) -> None:
    h = {**agent["headers"], "content-type": "application/json"}
    body = assert_error(client.post("/api/contacts", headers=h, content=b'{"full_name": "a\\ud800b"}'), 422,
                        "validation_error")  # fmt: skip
    assert "surrogate" in body["message"], body
    # a real astral character written as a surrogate pair is fine
    ok = client.post("/api/contacts", headers=h, content=b'{"full_name": "a\\ud83d\\ude00b"}')
    assert ok.status_code == 201 and ok.json()["full_name"] == "a\U0001f600b"


def test_imports_reject_rows_with_lone_surrogates(client: Any, admin: dict[str, Any], agent: dict[str, Any]) -> None:
    rows = b'[{"id": "c1", "full_name": "ok"}, {"id": "c2", "full_name": "bad\\ud800"}, {"id": "c3", "full_name": "x", "y": ["\\udc00"]}]'
    report = client.post("/api/admin/import/Contact", headers={**admin["headers"], "content-type": "application/json"},
                         content=rows)  # fmt: skip
    assert report.status_code == 200, report.text
    assert report.json()["created"] == 1 and report.json()["rejected"] == 2
    assert all("surrogate" in r["reason"] for r in report.json()["rejections"])
    answer = client.post(f"{B44}/Contact/import", headers=agent["headers"], files={"file": ("Contact.json", rows)})
    assert answer.status_code == 200 and answer.json()["status"] == "error" and "surrogate" in answer.json()["details"]


def test_non_finite_numbers_never_reach_storage() -> None:
    """The last guard below the JSON parser: a NaN stored as JSON broke every later JSON query on SQLite."""
    for value in (float("nan"), float("inf"), [float("-inf")]):
        with pytest.raises(ValidationFailed):
            validate_record(get_spec("Tenant"), {"x": value}, partial=False)


def test_every_route_decodes_json_strictly() -> None:
    """A router created without `route_class=JsonRoute` would bring the standard library's parser back."""
    app = create_app()
    plain = [r.path for r in app.routes if isinstance(r, APIRoute) and not isinstance(r, JsonRoute)]
    assert plain == []


@pytest.mark.parametrize("header", ["If-Match", "Idempotency-Key", "X-Request-ID", "Authorization", "Content-Type"])
def test_headers_with_bytes_outside_ascii(client: Any, admin: dict[str, Any], header: str) -> None:
    record_id = client.post("/api/contacts", headers=admin["headers"], json={"full_name": "x"}).json()["id"]
    headers = {k.encode(): v.encode() for k, v in admin["headers"].items()}
    headers[header.encode()] = (
        b'"v1"\xe9\xff' if header == "If-Match" else b"Bearer \xe9\xff" if header == "Authorization" else b"\xe9\xff"
    )
    for method, path in (("PUT", f"/api/contacts/{record_id}"), ("POST", "/api/whatsapp/send"), ("GET", "/api/contacts"),
                         ("GET", "/api/auth/me")):  # fmt: skip
        _no_server_error(client.request(method, path, headers=headers, content=b'{"notes": "z"}'), f"{method} {path}")


@pytest.mark.parametrize("record_id", ["%ED%A0%80", "%00", "a" * 65, "%C3%A9", "x" * 5000, "..%2F.."])
def test_path_ids_that_cannot_exist(client: Any, admin: dict[str, Any], record_id: str) -> None:
    for method, path in (("GET", "/api/contacts/{}"), ("PUT", "/api/contacts/{}"), ("DELETE", "/api/contacts/{}"),
                         ("GET", f"{B44}/Contact/{{}}"), ("GET", "/api/users/{}"), ("GET", "/api/apps/{}/entities/Contact"),
                         ("GET", f"{B44}/{{}}"), ("GET", "/api/whatsapp/batches/{}"), ("POST", "/api/contacts/{}/restore"),
                         ("GET", "/api/admin/export/{}")):  # fmt: skip
        url = path.format(record_id)
        _no_server_error(
            client.request(method, url, headers=admin["headers"], json={} if method == "PUT" else None), url
        )
