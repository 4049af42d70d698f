"""Hostile input to the entity routes (issue 3, "Bad input"): each is a 4xx with the error body,
a message that names the problem, and the database exactly as it was."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from backend.database import get_engine
from backend.models import Contact, Property
from tests.conftest import assert_error

PATH = "/api/properties"
SQL = "x'; DROP TABLE properties;--"


def snapshot() -> list[tuple[Any, ...]]:
    """Every stored property and contact row (deleted ones too), to prove nothing changed."""
    with get_engine().connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(Property.__table__).order_by(Property.id))]
        rows += [tuple(r) for r in conn.execute(select(Contact.__table__).order_by(Contact.id))]
        return rows


def count_properties() -> int:
    with get_engine().connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Property.__table__)) or 0)


def nested(depth: int) -> dict[str, Any]:
    """A query whose objects are nested `depth` deep: `$and` objects around a leaf operator object."""
    query: dict[str, Any] = {"$eq": "תל אביב"}
    query = {"city": query}
    for _ in range(depth - 2):
        query = {"$and": [query]}
    return query


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((depth_of(v) for v in value), default=0)
    return 0


def raw_request(
    app: Any, method: str, raw_path: str, headers: dict[str, str], body: bytes = b"{}"
) -> tuple[int, dict[str, Any]]:
    """Sends a path to the app exactly as given (HTTP clients normalise `/..` away before sending)."""
    headers = {**headers, "Content-Type": "application/json", "Content-Length": str(len(body))}
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": unquote(raw_path), "raw_path": raw_path.encode(), "root_path": "",
        "query_string": b"", "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


@pytest.fixture
def seeded(client: Any, agent: dict[str, Any]) -> dict[str, Any]:
    """Two live properties, one in the trash, one contact; returns the first property."""
    made = client.post(
        f"{PATH}/bulk",
        json=[{"city": "תל אביב", "price": 100, "tag": "א"}, {"city": "חיפה", "price": 200}, {"city": "עכו"}],
        headers=agent["headers"],
    )
    assert made.status_code == 201, made.text
    assert client.delete(f"{PATH}/{made.json()[2]['id']}", headers=agent["headers"]).status_code == 204
    assert client.post("/api/contacts", json={"full_name": "דנה"}, headers=agent["headers"]).status_code == 201
    return made.json()[0]  # type: ignore[no-any-return]


def expect_list_error(client: Any, agent: dict[str, Any], params: dict[str, str], status: int, *words: str) -> None:
    before = snapshot()
    body = assert_error(client.get(PATH, params=params, headers=agent["headers"]), status, "bad_request")
    for word in words:
        assert word in body["message"], body["message"]
    assert snapshot() == before


# --- q ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "words"),
    [
        ('{"city": "תל אביב"', ["q", "JSON"]),
        ("city=תל אביב", ["q", "JSON"]),
        ('{"city": NaN}', ["q", "JSON"]),
        ('["city"]', ["q", "object"]),
        ('"city"', ["q", "object"]),
        ("42", ["q", "object"]),
        ("null", ["q", "object"]),
        ('{"$where": "this.price > 1"}', ["$where"]),
        ('{"city": {"$where": "1"}}', ["$where"]),
        ('{"city": {"$regexx": "^ת"}}', ["$regexx"]),
        ('{"$expr": {"$gt": ["$price", 1]}}', ["$expr"]),
        ('{"price": {"$gt": 1, "plain": 2}}', ["price"]),
        ('{"nope": 1}', ["nope"]),
        ('{"$or": [{"nope": 1}]}', ["nope"]),
        ('{"city; DROP TABLE properties": "x"}', ["city; DROP TABLE properties"]),
        ('{"price\\" OR 1=1 --": 1}', ["price"]),
        ('{"deleted_at": null}', ["deleted_at"]),
        ('{"extra": {}}', ["extra"]),
        ('{"$or": []}', ["$or"]),
        ('{"$and": {"city": "x"}}', ["$and"]),
        ('{"city": {"$in": "תל אביב"}}', ["$in"]),
        ('{"city": {"$exists": "yes"}}', ["$exists"]),
        ('{"tag": {"$size": -1}}', ["$size"]),
        ('{"city": {"$regex": "("}}', ["regular expression"]),
        ('{"city": {"$regex": "x", "$options": "gx"}}', ["$options"]),
        ('{"price": {"$gt": "abc"}}', ["price"]),
        ('{"price": {"$gt": [1]}}', ["price"]),
        ('{"created_date": {"$gt": "yesterday"}}', ["created_date"]),
        ('{"city": {"$not": "x"}}', ["$not"]),
        ('{"tag": {"$elemMatch": 3}}', ["$elemMatch"]),
    ],
)
def test_bad_q_is_400(client: Any, agent: dict[str, Any], seeded: dict[str, Any], q: str, words: list[str]) -> None:
    expect_list_error(client, agent, {"q": q}, 400, *words)


def test_q_nested_9_deep_is_400_and_8_deep_is_accepted(
    client: Any, agent: dict[str, Any], seeded: dict[str, Any]
) -> None:
    assert depth_of(nested(8)) == 8 and depth_of(nested(9)) == 9
    accepted = client.get(PATH, params={"q": json.dumps(nested(8))}, headers=agent["headers"])
    assert accepted.status_code == 200, accepted.text
    assert [r["id"] for r in accepted.json()] == [seeded["id"]]
    expect_list_error(client, agent, {"q": json.dumps(nested(9))}, 400, "8")
    deep_not: dict[str, Any] = {"$eq": "x"}
    for _ in range(9):
        deep_not = {"$not": deep_not}
    expect_list_error(client, agent, {"q": json.dumps({"city": deep_not})}, 400, "8")
    very_deep = "[" * 5000 + "]" * 5000
    expect_list_error(client, agent, {"q": '{"$and": ' + very_deep + "}"}, 400)


@pytest.mark.parametrize("value", [SQL, "' OR '1'='1", '") OR 1=1 --', "%", "*", "\\", "\x00"])
def test_sql_in_q_values_is_just_data(client: Any, agent: dict[str, Any], seeded: dict[str, Any], value: str) -> None:
    before = snapshot()
    for params in (
        {"q": json.dumps({"city": value})},
        {"q": json.dumps({"tag": value})},
        {"q": json.dumps({"city": {"$in": [value]}})},
        {"q": json.dumps({"created_by": value})},
        {"q": json.dumps({"city": {"$regex": "^" + re.escape(value)}})},
        {"city": value},
    ):
        response = client.get(PATH, params=params, headers=agent["headers"])
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            assert response.json() == [], params
        else:
            assert_error(response, 400, "bad_request")
    assert snapshot() == before
    assert len(client.get(PATH, headers=agent["headers"]).json()) == 2  # the table survives


def test_unknown_field_becomes_known_once_a_record_has_it(
    client: Any, agent: dict[str, Any], seeded: dict[str, Any]
) -> None:
    expect_list_error(client, agent, {"q": '{"floor_plan": "A"}'}, 400, "floor_plan")
    expect_list_error(client, agent, {"floor_plan": "A"}, 400, "floor_plan")
    made = client.post(PATH, json={"floor_plan": "A"}, headers=agent["headers"])
    assert made.status_code == 201
    found = client.get(PATH, params={"q": '{"floor_plan": "A"}'}, headers=agent["headers"])
    assert [r["id"] for r in found.json()] == [made.json()["id"]]


# --- sort, fields, limit, skip ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "word"),
    [
        ("nope", "nope"),
        ("-nope", "nope"),
        ("price;DROP TABLE properties", "price;DROP TABLE properties"),
        ("price desc", "price desc"),
        ("(SELECT 1)", "(SELECT 1)"),
        ("price--", "price--"),
        ("1", "1"),
        ("price,nope", "nope"),
        ("deleted_at", "deleted_at"),
        ("extra", "extra"),
        ("version", "version"),
        (",".join(["price"] * 6), "sort"),
    ],
)
def test_bad_sort_is_400(client: Any, agent: dict[str, Any], seeded: dict[str, Any], sort: str, word: str) -> None:
    expect_list_error(client, agent, {"sort": sort}, 400, word)
    expect_list_error(client, agent, {"order_by": sort}, 400, word)


@pytest.mark.parametrize(
    "fields", ["nope", "city,$$", "*", "city;DROP TABLE properties", "price)--", "city,nope", "extra", "deleted_at"]
)
def test_bad_fields_is_400(client: Any, agent: dict[str, Any], seeded: dict[str, Any], fields: str) -> None:
    expect_list_error(client, agent, {"fields": fields}, 400)


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"limit": "-1"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"skip": "-5"}, "skip"),
        ({"skip": "abc"}, "skip"),
        ({"offset": "-5"}, "offset"),
        ({"price": "abc"}, "price"),
        ({"parking": "maybe"}, "parking"),
        ({"created_date": "yesterday"}, "created_date"),
        ({"nope": "1"}, "nope"),
        ({"a;b": "1"}, "a;b"),
    ],
)
def test_bad_parameters_are_400(
    client: Any, agent: dict[str, Any], seeded: dict[str, Any], params: dict[str, str], word: str
) -> None:
    expect_list_error(client, agent, params, 400, word)


def test_huge_limit_is_clamped(client: Any, agent: dict[str, Any], seeded: dict[str, Any]) -> None:
    for limit in (str(10**12), str(10**24)):
        response = client.get(PATH, params={"limit": limit}, headers=agent["headers"])
        assert response.status_code == 200, response.text
        assert len(response.json()) == 2


# --- cursor -----------------------------------------------------------------------------------------------


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


def test_cursor_from_another_query_or_tampered_is_400(
    client: Any, agent: dict[str, Any], admin: dict[str, Any], seeded: dict[str, Any]
) -> None:
    page = client.get(PATH, params={"sort": "price", "limit": 1}, headers=agent["headers"])
    cursor = page.headers["x-next-cursor"]
    payload, signature = cursor.split(".")
    forged_payload = base64.urlsafe_b64encode(json.dumps({"v": [None, "0"], "f": "x"}).encode()).decode().rstrip("=")
    bad = [
        ({"sort": "-price"}, cursor),
        ({"sort": "price", "q": '{"city": "חיפה"}'}, cursor),
        ({"sort": "price", "city": "חיפה"}, cursor),
        ({"sort": "price"}, _flip(payload, 3) + "." + signature),
        ({"sort": "price"}, payload + "." + _flip(signature, 0)),
        ({"sort": "price"}, forged_payload + "." + signature),
        ({"sort": "price"}, payload),
        ({"sort": "price"}, "garbage"),
        ({"sort": "price"}, cursor + "." + signature),
        ({"sort": "price"}, "x" * 5000),
    ]
    for params, value in bad:
        expect_list_error(client, agent, {**params, "limit": "1", "cursor": value}, 400, "cursor")
    default = client.get(PATH, params={"limit": 1}, headers=agent["headers"]).headers["x-next-cursor"]
    other = client.get("/api/contacts", params={"limit": "1", "cursor": default}, headers=agent["headers"])
    assert "cursor" in assert_error(other, 400, "bad_request")["message"]
    trash = client.get(f"{PATH}/trash", params={"limit": "1", "cursor": default}, headers=admin["headers"])
    assert "cursor" in assert_error(trash, 400, "bad_request")["message"]
    good = client.get(PATH, params={"sort": "price", "limit": "1", "cursor": cursor}, headers=agent["headers"])
    assert good.status_code == 200 and [r["price"] for r in good.json()] == [200]


# --- bodies -----------------------------------------------------------------------------------------------


def expect_write_error(
    client: Any, agent: dict[str, Any], method: str, path: str, status: int, code: str, **kw: Any
) -> dict[str, Any]:
    before = snapshot()
    body = assert_error(
        client.request(method, path, headers={**agent["headers"], **kw.pop("headers", {})}, **kw), status, code
    )
    assert snapshot() == before
    return body


def test_a_list_where_an_object_is_expected_is_422(client: Any, agent: dict[str, Any], seeded: dict[str, Any]) -> None:
    one = f"{PATH}/{seeded['id']}"
    for method, path in (("POST", PATH), ("PUT", one), ("PATCH", one)):
        expect_write_error(client, agent, method, path, 422, "validation_error", json=[{"city": "x"}])
        expect_write_error(client, agent, method, path, 422, "validation_error", json="city")
    expect_write_error(client, agent, "POST", f"{PATH}/bulk", 422, "validation_error", json={"city": "x"})
    expect_write_error(client, agent, "POST", f"{PATH}/bulk", 422, "validation_error", json=[{"city": "x"}, ["y"]])


def test_too_many_keys_and_too_long_strings_are_422(client: Any, agent: dict[str, Any], seeded: dict[str, Any]) -> None:
    one = f"{PATH}/{seeded['id']}"
    many = {f"k{i}": i for i in range(10_000)}
    long_text = "א" * 100 * 1024
    for method, path in (("POST", PATH), ("PATCH", one), ("PUT", one)):
        expect_write_error(client, agent, method, path, 422, "validation_error", json=many)
        body = expect_write_error(client, agent, method, path, 422, "validation_error", json={"description": long_text})
        assert body["detail"][0]["loc"] == ["body", "description"]
        body = expect_write_error(client, agent, method, path, 422, "validation_error", json={"memo": long_text})
        assert body["detail"][0]["loc"] == ["body", "memo"]
    expect_write_error(
        client, agent, "POST", f"{PATH}/bulk", 422, "validation_error", json=[{"description": long_text}]
    )


def test_bad_undeclared_names_are_422(client: Any, agent: dict[str, Any], seeded: dict[str, Any]) -> None:
    for key in ("$where", "x;DROP TABLE properties", "a.b", ""):
        expect_write_error(client, agent, "POST", PATH, 422, "validation_error", json={key: 1})


def test_a_body_above_the_limit_is_413(client: Any, agent: dict[str, Any], seeded: dict[str, Any]) -> None:
    big = json.dumps({"description": "x" * (3 * 1024 * 1024)})
    headers = {"Content-Type": "application/json"}
    for method, path in (("POST", PATH), ("POST", f"{PATH}/bulk"), ("PUT", f"{PATH}/{seeded['id']}")):
        expect_write_error(client, agent, method, path, 413, "payload_too_large", content=big, headers=headers)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{bad", 422, "validation_error"),
        (b'{"city": "x",}', 422, "validation_error"),
        (b"", 422, "validation_error"),
        (b"\xff\xfe{}", 422, "validation_error"),
        (b'{"city": "\xd7"}', 422, "validation_error"),  # not UTF-8: malformed JSON like the rest (orjson)
    ],
)
def test_malformed_json_is_rejected(
    client: Any, agent: dict[str, Any], seeded: dict[str, Any], body: bytes, status: int, code: str
) -> None:
    headers = {"Content-Type": "application/json"}
    expect_write_error(client, agent, "POST", PATH, status, code, content=body, headers=headers)
    expect_write_error(client, agent, "PATCH", f"{PATH}/{seeded['id']}", status, code, content=body, headers=headers)


# --- ids in the path --------------------------------------------------------------------------------------


def test_hostile_ids_are_404(app: Any, client: Any, agent: dict[str, Any], seeded: dict[str, Any]) -> None:
    record_id = seeded["id"]
    paths = [
        "/" + "a" * (1024 * 1024),
        f"/{record_id}/..",
        f"/{record_id}/../..",
        f"/{record_id}%2F..",
        f"/{record_id}%2F..%2F..%2Fcontacts",
        "/..%2F..%2Fapi%2Fcontacts",
        f"/{record_id}%00",
        f"/{record_id}'--",
        "/%2E%2E",
    ]
    before = snapshot()
    for suffix in paths:
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            status, body = raw_request(app, method, PATH + suffix, agent["headers"])
            assert status == 404, (method, suffix[:80], status, body)
            assert body["code"] == "not_found" and body["message"]
    status, body = raw_request(app, "POST", f"{PATH}/{'a' * (1024 * 1024)}/restore", agent["headers"])
    assert status in (403, 404) and body["code"] in ("forbidden", "not_found")
    assert snapshot() == before
    assert client.get(f"{PATH}/{record_id}", headers=agent["headers"]).status_code == 200


def test_an_id_of_another_collection_is_404(client: Any, agent: dict[str, Any], seeded: dict[str, Any]) -> None:
    contact = client.get("/api/contacts", headers=agent["headers"]).json()[0]
    before = snapshot()
    assert_error(client.get(f"{PATH}/{contact['id']}", headers=agent["headers"]), 404, "not_found")
    assert_error(
        client.patch(f"{PATH}/{contact['id']}", json={"city": "x"}, headers=agent["headers"]), 404, "not_found"
    )
    assert_error(client.delete(f"{PATH}/{contact['id']}", headers=agent["headers"]), 404, "not_found")
    assert snapshot() == before
    assert count_properties() == 3


def test_nul_characters_are_refused_on_every_database(
    client: Any, agent: dict[str, Any], seeded: dict[str, Any]
) -> None:
    """PostgreSQL cannot store U+0000 in text or JSONB, so a portable store refuses it on input (never a 500)."""
    for body in ({"city": "a\x00b"}, {"memo": "a\x00b"}):
        before = snapshot()
        response = client.post(PATH, json=body, headers=agent["headers"])
        assert response.status_code in (400, 422), response.text
        assert_error(
            response, response.status_code, "bad_request" if response.status_code == 400 else "validation_error"
        )
        assert snapshot() == before
