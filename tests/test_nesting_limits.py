"""One stored value must never break a whole collection: deep nesting is refused on every write path, and
what is already stored (from before the rule) is still served by every read path.

The issue: a record holding a value nested 253 levels deep was accepted, and from then on every list of
that collection answered 500 for everyone (orjson, which renders pages, stops at 254 levels).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert

from backend.database import get_engine
from backend.models import Contact, Document
from backend.models.base import new_id, utcnow
from backend.services.validation import MAX_DEPTH
from tests.conftest import assert_error

B44 = "/api/apps/a1/entities"


def nested(depth: int) -> Any:
    """A value with `depth` levels of lists and objects, alternating (a scalar is depth 0)."""
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def _field_named(response: Any, name: str) -> None:
    body = assert_error(response, 422, "validation_error")
    assert any(err["loc"][-1] == name for err in body["detail"]), body
    assert f"{MAX_DEPTH} levels" in json.dumps(body), body


@pytest.mark.parametrize("entity", ["Contact", "Workshop"])
def test_every_write_path_refuses_values_nested_deeper_than_the_limit(
    client: Any, agent: dict[str, Any], admin: dict[str, Any], entity: str
) -> None:
    h = agent["headers"]
    deep, fine = nested(MAX_DEPTH + 1), nested(MAX_DEPTH)
    base = {"full_name": "x"} if entity == "Contact" else {"name": "x"}
    rest = entity == "Contact"

    created = client.post(f"{B44}/{entity}", headers=h, json={**base, "ok": fine})
    assert created.status_code == 201, created.text
    assert created.json()["ok"] == fine
    record_id = created.json()["id"]

    _field_named(client.post(f"{B44}/{entity}", headers=h, json={**base, "deep": deep}), "deep")
    _field_named(client.put(f"{B44}/{entity}/{record_id}", headers=h, json={"deep": deep}), "deep")
    _field_named(client.post(f"{B44}/{entity}/bulk", headers=h, json=[base, {**base, "deep": deep}]), "deep")
    _field_named(client.put(f"{B44}/{entity}/bulk", headers=h, json=[{"id": record_id, "deep": deep}]), "deep")
    _field_named(client.post(f"{B44}/{entity}", headers=h, json={**base, "deep": nested(253)}), "deep")
    if rest:
        _field_named(client.post("/api/contacts", headers=h, json={**base, "deep": deep}), "deep")
        _field_named(client.patch(f"/api/contacts/{record_id}", headers=h, json={"deep": deep}), "deep")
        _field_named(client.post("/api/contacts/bulk", headers=h, json=[{**base, "deep": deep}]), "deep")

    # updateMany: a $set of a deep value, and a $push that makes the list one level too deep
    for data in ({"$set": {"deep": deep}}, {"$push": {"ok": nested(MAX_DEPTH)}}):
        if data.get("$push"):
            client.put(f"{B44}/{entity}/{record_id}", headers=h, json={"ok": []})
        response = client.patch(
            f"{B44}/{entity}/update-many", headers=h, json={"query": {"id": record_id}, "data": data}
        )
        assert response.status_code == 422, response.text

    # importEntities (anyone) and the admin import: the row is refused, naming the field
    rows = json.dumps([{**base, "deep": deep}]).encode()
    answer = client.post(f"{B44}/{entity}/import", headers=h, files={"file": (f"{entity}.json", rows)}).json()
    assert answer["status"] == "error" and "deep" in answer["details"], answer
    report = client.post(
        f"/api/admin/import/{entity}", headers=admin["headers"], json=[{**base, "id": "r1", "deep": deep}]
    )
    assert report.status_code == 200 and report.json()["rejected"] == 1, report.text

    # nothing of the refused writes is stored
    listed = client.get(f"{B44}/{entity}", headers=h).json()
    assert len(listed) == 1 and "deep" not in listed[0]


def test_a_users_custom_field_is_held_to_the_same_limit(client: Any, agent: dict[str, Any]) -> None:
    _field_named(client.put("/api/auth/me", headers=agent["headers"], json={"deep": nested(MAX_DEPTH + 1)}), "deep")
    ok = client.put("/api/auth/me", headers=agent["headers"], json={"ok": nested(MAX_DEPTH)})
    assert ok.status_code == 200 and ok.json()["ok"] == nested(MAX_DEPTH)


def _store_directly(depth: int) -> tuple[str, str]:
    """What a record written before the limit looks like: inserted below the API."""
    now = utcnow()
    common = {"created_date": now, "updated_date": now, "is_sample": False, "version": 1}
    contact_id, doc_id = new_id(), new_id()
    with get_engine().begin() as conn:
        conn.execute(
            insert(Contact), [{"id": contact_id, "full_name": "old", "extra": {"deep": nested(depth)}, **common}]
        )
        conn.execute(
            insert(Document),
            [{"id": doc_id, "entity_name": "Workshop", "extra": {"name": "old", "deep": nested(depth)}, **common}],
        )
    return contact_id, doc_id


def test_a_deep_value_already_stored_is_served_by_every_read_path(client: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    contact_id, doc_id = _store_directly(253)
    client.post("/api/contacts", headers=h, json={"full_name": "new"})
    expected = nested(253)
    reads = {
        "/api/contacts": None,  # the fast lane (asyncpg on PostgreSQL)
        "/api/contacts?fields=full_name,deep": None,  # the general path (undeclared field)
        '/api/contacts?q={"full_name":"old"}': None,
        f"{B44}/Contact": None,
        f"{B44}/Contact/v2/list": "items",
        f"{B44}/Workshop": None,
    }
    for path, key in reads.items():
        response = client.get(path, headers=h)
        assert response.status_code == 200, (path, response.text[:300])
        records = response.json()[key] if key else response.json()
        assert expected in [r.get("deep") for r in records], path
    for path in (f"/api/contacts/{contact_id}", f"{B44}/Contact/{contact_id}", f"{B44}/Workshop/{doc_id}"):
        response = client.get(path, headers=h)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.json()["deep"] == expected
    for fmt in ("json", "csv"):
        export = client.get(f"/api/admin/export/Contact?format={fmt}", headers=h)
        assert export.status_code == 200 and export.text.count("leaf") == 1, fmt
