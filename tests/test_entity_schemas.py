"""Base44 entity schemas: the parser, and entities nobody declared typed by a stored schema (admin API and
import) — validated on write, coerced on import, compared as numbers/booleans/dates in `q` and `sort`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.entity_schema import SchemaError, load_schema_text, parse_schema
from backend.models.entities import load_declarations
from tests.conftest import assert_error

APP = "/api/apps/app123"
WORKSHOP = {
    "name": "Workshop",
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "days": {"type": "integer"},
        "fee": {"type": "number"},
        "is_active": {"type": "boolean", "default": True},
        "starts_on": {"type": "string", "format": "date"},
        "level": {"type": "string", "enum": ["basic", "advanced"]},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title"],
}


# --- the parser -----------------------------------------------------------------------------------------


def test_jsonc_comments_and_trailing_commas_are_read() -> None:
    text = '{\n  // a Base44 CLI file\n  "name": "Note", /* inline */ "properties": {"url": {"type": "string",},},\n}'
    decl = parse_schema(load_schema_text(text, "note.jsonc"))
    assert decl.name == "Note" and decl.fields["url"].kind == "str"
    assert parse_schema(load_schema_text('{"properties": {"a": {"type": "string", "default": "//x"}}}', "x"), name="X")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"name": "Bad", "properties": {"when": {"type": "timestamp"}}}, "Bad.when: unknown type 'timestamp'"),
        ({"name": "bad name", "properties": {}}, "not a valid entity name"),
        ({"name": "Bad", "properties": {"a": {"type": "string"}}, "required": ["b"]}, "required names 'b'"),
        ({"name": "Bad", "properties": {"a-b": {"type": "string"}}}, "'a-b' is not a valid field name"),
        ({"name": "Bad", "properties": {"a": "string"}}, "Bad.a: a property must be an object"),
        ({"name": "Bad", "properties": {"a": {"type": "string", "enum": []}}}, "enum must be a non-empty list"),
        ({"name": "Bad", "properties": [], "rls": {}}, "properties must be an object"),
    ],
)
def test_a_bad_schema_is_refused_naming_entity_and_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_schema(doc, source=None)


def test_invalid_json_names_the_file() -> None:
    with pytest.raises(SchemaError, match=r"tenant\.json: not valid JSON"):
        load_schema_text('{"name": "Tenant", ', "tenant.json")


def test_every_declaration_loads_and_refs_point_at_declared_entities(tmp_path: Path) -> None:
    decls = load_declarations()
    assert {"Contact", "Property", "Client", "Match", "MarketingLog"} <= set(decls)
    (tmp_path / "A.json").write_text(
        json.dumps(
            {"name": "A", "x-table": "a", "x-collection": "a", "properties": {"b_id": {"type": "string", "x-ref": "B"}}}
        )
    )
    with pytest.raises(SchemaError, match="x-ref names 'B', which is not declared"):
        load_declarations(tmp_path)
    (tmp_path / "A.json").write_text(
        json.dumps({"name": "A", "x-table": "a", "x-collection": "a", "properties": {"version": {"type": "integer"}}})
    )
    with pytest.raises(SchemaError, match="'version' is a built-in field"):
        load_declarations(tmp_path)


# --- a stored schema types the document store -------------------------------------------------------------


def _put_schema(client: Any, admin: dict[str, Any], doc: dict[str, Any] = WORKSHOP) -> Any:
    return client.put(f"/api/admin/schemas/{doc['name']}", json=doc, headers=admin["headers"])


def test_a_stored_schema_validates_writes_and_types_queries(
    client: Any, admin: dict[str, Any], agent: dict[str, Any]
) -> None:
    h, base = admin["headers"], f"{APP}/entities/Workshop"
    # untyped first: "3" is kept as text, like any undeclared value
    before = client.post(base, headers=h, json={"title": "before", "days": "3"}).json()
    assert before["days"] == "3"
    assert client.delete(f"{base}/{before['id']}", headers=h).status_code == 200

    described = _put_schema(client, admin)
    assert described.status_code == 200, described.text
    assert described.json()["properties"]["days"] == {"type": "integer"} and described.json()["declared"] is False

    for bad, field in (
        ({"days": "three"}, "days"),
        ({"is_active": "yes"}, "is_active"),
        ({"level": "expert"}, "level"),
    ):
        body = assert_error(client.post(base, headers=h, json={"title": "x", **bad}), 422, "validation_error")
        assert [e["loc"][-1] for e in body["detail"]] == [field]
    assert_error(client.post(base, headers=h, json={"days": 2}), 422, "validation_error")  # title is required

    made = [
        client.post(base, headers=h, json={"title": f"w{d}", "days": d, "fee": d * 1.5, "is_active": d % 2 == 0})
        for d in (2, 9, 10)
    ]
    assert all(r.status_code == 201 for r in made), [r.text for r in made]
    assert client.post(base, headers=h, json={"title": "defaulted"}).json()["is_active"] is True

    def days(**params: str) -> list[Any]:
        response = client.get(base, headers=h, params=params)
        assert response.status_code == 200, response.text
        return [r.get("days") for r in response.json()]

    assert days(q='{"days": {"$gte": 3}}', sort="days") == [9, 10]
    assert days(q='{"days": {"$gte": "3"}}', sort="days") == [9, 10]  # the value is read as the field's kind
    assert days(sort="-days", q='{"days": {"$exists": true}}') == [10, 9, 2]  # numbers, not text ("9" > "10")
    assert days(is_active="true", sort="days") == [None, 2, 10]
    assert days(q='{"is_active": false}') == [9]
    assert_error(client.get(base, headers=h, params={"q": '{"days": {"$gt": "many"}}'}), 400, "bad_request")

    # a field of the schema cannot be retyped on a declared entity, and only admins store schemas
    retype = {"name": "Contact", "properties": {"full_name": {"type": "integer"}}}
    body = assert_error(_put_schema(client, admin, retype), 400, "bad_request")
    assert "Contact.full_name" in body["message"]
    other = client.put("/api/admin/schemas/Workshop", json=WORKSHOP, headers=agent["headers"])
    assert other.status_code == 403

    assert client.delete("/api/admin/schemas/Workshop", headers=h).status_code == 204
    assert client.post(base, headers=h, json={"days": "many"}).status_code == 201  # untyped again
    assert_error(client.delete("/api/admin/schemas/Workshop", headers=h), 404, "not_found")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"properties": {"when": {"type": "timestamp"}}}, "Workshop.when: unknown type"),
        ({"properties": {"a": {"type": "string"}}, "required": ["b"]}, "required names 'b'"),
        ([1, 2], "A schema is a JSON object"),
    ],
)
def test_a_bad_schema_on_the_api_is_a_400_and_stores_nothing(
    client: Any, admin: dict[str, Any], doc: Any, message: str
) -> None:
    body = assert_error(
        client.put("/api/admin/schemas/Workshop", json=doc, headers=admin["headers"]), 400, "bad_request"
    )
    assert message in body["message"]
    assert client.get("/api/admin/schemas/Workshop", headers=admin["headers"]).json()["stored"] is None


def test_a_csv_import_is_coerced_by_the_stored_schema(client: Any, admin: dict[str, Any]) -> None:
    h = admin["headers"]
    assert _put_schema(client, admin).status_code == 200
    csv = 'title,days,is_active,starts_on,tags,id\n"A","3","TRUE","2025-03-05","[""x""]",aaa1\nB,12,false,,,aaa2\nC,x,true,,,aaa3\n'
    response = client.post(
        "/api/admin/import/Workshop", files={"file": ("Workshop_export.csv", csv.encode())}, headers=h
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 2 and report["rejected"] == 1
    assert [(r["row"], r["id"]) for r in report["rejections"]] == [("line 4", "aaa3")]
    assert "days: expected a whole number" in report["rejections"][0]["reason"]
    rows = client.get(f"{APP}/entities/Workshop", headers=h, params={"q": '{"is_active": true}'}).json()
    assert [(r["title"], r["days"], r["tags"]) for r in rows] == [("A", 3, ["x"])]
    assert [r["title"] for r in client.get(f"{APP}/entities/Workshop", headers=h, params={"sort": "-days"}).json()] == [
        "B",
        "A",
    ]
