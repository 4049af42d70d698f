"""The REST contract of API.md §1 and §3 for every modelled entity, driven by the registry.

Each test runs once per entity (`MODELLED`) and builds its values from the declared field kinds, so a
new entity or field is covered without touching this file. Every test checks the answer AND the rows.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.database import get_engine
from backend.services.registry import MODELLED, EntitySpec
from tests.conftest import assert_error

SPECS = list(MODELLED.values())
_REFS = itertools.count(1)
ID = re.compile(r"^[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
BUILTINS = ("id", "created_date", "updated_date", "created_by", "created_by_id", "is_sample")
FORGED_BUILTINS: dict[str, Any] = {
    "id": "ffffffffffffffffffffffff",
    "created_date": "2001-01-01T00:00:00.000000",
    "updated_date": "2001-01-01T00:00:00.000000",
    "created_by": "forger@example.com",
    "created_by_id": "ffffffffffffffffffffffff",
    "is_sample": True,
}
# One good value per field kind (Hebrew where text is allowed), and one of the wrong type.
GOOD = {
    "str": "ערך בעברית",
    "int": 42,
    "float": 12.5,
    "bool": True,
    "date": "2025-03-05",
    "datetime": "2025-03-05T10:00",
    "ref": "65f000000000000000000001",  # full() uses fresh ids instead
    "list": ["תמונה.jpg", "b.png"],
}
OTHER = {
    "str": "ערך אחר",
    "int": 7,
    "float": 3.25,
    "bool": False,
    "date": "2026-01-31",
    "datetime": "2026-01-31T08:30:00Z",
    "ref": "65f000000000000000000002",
    "list": ["אחר.jpg"],
}
WRONG = {
    "str": 123,
    "int": "12",
    "float": "1.5",
    "bool": "yes",
    "date": 20250305,
    "datetime": True,
    "ref": 5,
    "list": [1, 2],
}
EXTRA = {
    "nickname": "השם הפרטי",
    "score": 3,
    "ratio": 2.5,
    "flag": True,
    "nested": {"a": {"b": [1, "ב", None]}, "עיר": "חיפה"},
    "tags": ["א", "b"],
    "nothing": None,
}


@pytest.fixture(params=SPECS, ids=lambda s: s.name)
def spec(request: pytest.FixtureRequest) -> EntitySpec:
    return request.param  # type: ignore[no-any-return]


def url(spec: EntitySpec, suffix: str = "") -> str:
    return f"/api/{spec.collection}{suffix}"


def writable(spec: EntitySpec) -> dict[str, Any]:
    """The declared fields a client may set (`readOnly` ones are the server's: ignored when sent)."""
    return {name: f for name, f in spec.fields.items() if not f.read_only}


def required(spec: EntitySpec) -> dict[str, Any]:
    """The required fields; references get fresh ids, so unique pairs (the match entities) never collide."""
    return {name: next_ref() if f.kind == "ref" else f"חובה {name}" for name, f in writable(spec).items() if f.required}


def full(spec: EntitySpec, values: dict[str, Any] = GOOD) -> dict[str, Any]:
    """Every declared field set; refs are fresh ids so unique pairs (Match) never collide."""
    return {name: next_ref() if f.kind == "ref" else values[f.kind] for name, f in writable(spec).items()}


def next_ref() -> str:
    return f"65f{next(_REFS):021x}"


def optional_fields(spec: EntitySpec) -> list[str]:
    return [name for name, f in writable(spec).items() if not f.required]


def rows(spec: EntitySpec) -> list[dict[str, Any]]:
    """Every stored row of the entity's table (deleted ones too), as dicts, ordered by id."""
    with get_engine().connect() as conn:
        result = conn.execute(select(spec.table).order_by(spec.table.c.id))
        return [dict(row._mapping) for row in result]


def row(spec: EntitySpec, record_id: str) -> dict[str, Any] | None:
    with get_engine().connect() as conn:
        found = conn.execute(select(spec.table).where(spec.table.c.id == record_id)).first()
        return dict(found._mapping) if found else None


def db_count(spec: EntitySpec) -> int:
    with get_engine().connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(spec.table)) or 0)


def create(client: Any, spec: EntitySpec, user: dict[str, Any], body: dict[str, Any] | None = None) -> Any:
    response = client.post(url(spec), json={**required(spec), **(body or {})}, headers=user["headers"])
    assert response.status_code == 201, response.text
    return response


def listed_ids(client: Any, spec: EntitySpec, user: dict[str, Any], suffix: str = "") -> list[str]:
    response = client.get(url(spec, suffix), headers=user["headers"])
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()]


def loc_names(response: Any) -> list[Any]:
    return [e["loc"][-1] for e in response.json()["detail"]]


# --- create, read, list -------------------------------------------------------------------------------


def test_create_sets_builtins_location_and_etag(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    body = full(spec)
    response = client.post(url(spec), json=body, headers=staff["headers"])
    assert response.status_code == 201, response.text
    record = response.json()
    assert ID.match(record["id"])
    assert response.headers["location"] == url(spec, f"/{record['id']}")
    assert response.headers["etag"]
    assert TIMESTAMP.match(record["created_date"]) and TIMESTAMP.match(record["updated_date"])
    assert record["created_by"] == staff["email"]
    assert record["created_by_id"] == staff["id"]
    assert record["is_sample"] is False
    assert {k: record[k] for k in body} == body
    stored = row(spec, record["id"])
    assert stored is not None and stored["created_by"] == staff["email"] and stored["deleted_at"] is None
    assert {k: stored[k] for k in body} == {
        k: (float(v) if spec.fields[k].kind == "float" else v) for k, v in body.items()
    }


def test_read_returns_the_created_record_with_its_etag(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    created = create(client, spec, staff, full(spec))
    response = client.get(url(spec, f"/{created.json()['id']}"), headers=staff["headers"])
    assert response.status_code == 200, response.text
    assert response.json() == created.json()
    assert response.headers["etag"] == created.headers["etag"]


def test_list_holds_every_live_record(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    ids = [create(client, spec, staff, full(spec)).json()["id"] for _ in range(3)]
    response = client.get(url(spec), params={"count": "true"}, headers=staff["headers"])
    assert response.status_code == 200
    assert sorted(r["id"] for r in response.json()) == sorted(ids)
    assert response.headers["x-total-count"] == "3"
    by_id = {r["id"]: r for r in response.json()}
    one = client.get(url(spec, f"/{ids[0]}"), headers=staff["headers"]).json()
    assert by_id[ids[0]] == one


def test_read_unknown_id_is_404(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    assert_error(client.get(url(spec, "/65f0000000000000000000ff"), headers=staff["headers"]), 404, "not_found")


# --- merge update -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_merges_and_null_stores_null(client: Any, spec: EntitySpec, staff: dict[str, Any], method: str) -> None:
    created = create(client, spec, staff, {**full(spec), "keep_me": "נשאר", "drop_me": 1})
    record_id = created.json()["id"]
    fields = optional_fields(spec)
    changed = fields[0]
    nulled = fields[1] if len(fields) > 1 else "keep_me"  # an entity with one optional field nulls an extra one
    change = {changed: OTHER[spec.fields[changed].kind], nulled: None, "drop_me": None, "added": "חדש"}
    response = client.request(method, url(spec, f"/{record_id}"), json=change, headers=staff["headers"])
    assert response.status_code == 200, response.text
    expected = {**created.json(), **change}
    expected["updated_date"] = response.json()["updated_date"]
    assert response.json() == expected
    assert response.json()["created_date"] == created.json()["created_date"]
    assert TIMESTAMP.match(response.json()["updated_date"])
    assert response.json()["updated_date"] >= created.json()["updated_date"]
    assert client.get(url(spec, f"/{record_id}"), headers=staff["headers"]).json() == expected
    stored = row(spec, record_id)
    if nulled in spec.fields:
        assert stored is not None and stored[nulled] is None
        assert stored["extra"] == {"keep_me": "נשאר", "drop_me": None, "added": "חדש"}
    else:
        assert stored is not None and stored["extra"] == {"keep_me": None, "drop_me": None, "added": "חדש"}


def test_update_unknown_id_is_404(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    response = client.patch(url(spec, "/65f0000000000000000000ff"), json={}, headers=staff["headers"])
    assert_error(response, 404, "not_found")
    assert db_count(spec) == 0


# --- delete, trash, restore, purge --------------------------------------------------------------------


def test_delete_is_soft_and_hides_the_record(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    keep = create(client, spec, staff).json()["id"]
    gone = create(client, spec, staff).json()["id"]
    response = client.delete(url(spec, f"/{gone}"), headers=staff["headers"])
    assert response.status_code == 204 and response.content == b""
    assert_error(client.get(url(spec, f"/{gone}"), headers=staff["headers"]), 404, "not_found")
    listed = client.get(url(spec), params={"count": "true"}, headers=staff["headers"])
    assert [r["id"] for r in listed.json()] == [keep]
    assert listed.headers["x-total-count"] == "1"
    q = {"q": f'{{"id": "{gone}"}}'}
    assert client.get(url(spec), params=q, headers=staff["headers"]).json() == []
    assert_error(client.delete(url(spec, f"/{gone}"), headers=staff["headers"]), 404, "not_found")
    assert_error(client.patch(url(spec, f"/{gone}"), json={}, headers=staff["headers"]), 404, "not_found")
    stored = row(spec, gone)
    assert stored is not None and stored["deleted_at"] is not None  # soft: the row is still there


def test_trash_restore_and_purge(client: Any, spec: EntitySpec, staff: dict[str, Any], admin: dict[str, Any]) -> None:
    live = create(client, spec, staff).json()["id"]
    record = create(client, spec, staff, full(spec)).json()
    record_id = record["id"]
    assert client.delete(url(spec, f"/{record_id}"), headers=staff["headers"]).status_code == 204

    assert listed_ids(client, spec, admin, "/trash") == [record_id]
    assert_error(client.get(url(spec, "/trash"), headers=staff["headers"]), 403, "forbidden")
    assert_error(client.post(url(spec, f"/{record_id}/restore"), headers=staff["headers"]), 403, "forbidden")
    assert_error(client.post(url(spec, f"/{live}/restore"), headers=admin["headers"]), 404, "not_found")

    restored = client.post(url(spec, f"/{record_id}/restore"), headers=admin["headers"])
    assert restored.status_code == 200, restored.text
    assert {k: v for k, v in restored.json().items() if k != "updated_date"} == {
        k: v for k, v in record.items() if k != "updated_date"
    }
    assert restored.headers["etag"]
    assert sorted(listed_ids(client, spec, staff)) == sorted([live, record_id])
    assert listed_ids(client, spec, admin, "/trash") == []
    assert row(spec, record_id)["deleted_at"] is None  # type: ignore[index]

    assert client.delete(url(spec, f"/{record_id}"), headers=staff["headers"]).status_code == 204
    response = client.delete(url(spec, f"/{record_id}"), params={"purge": "true"}, headers=staff["headers"])
    assert_error(response, 403, "forbidden")
    assert row(spec, record_id) is not None
    purged = client.delete(url(spec, f"/{record_id}"), params={"purge": "true"}, headers=admin["headers"])
    assert purged.status_code == 204, purged.text
    assert row(spec, record_id) is None
    assert listed_ids(client, spec, admin, "/trash") == []
    assert_error(client.post(url(spec, f"/{record_id}/restore"), headers=admin["headers"]), 404, "not_found")
    assert [r["id"] for r in rows(spec)] == [live]


# --- lenient input: built-ins ignored, "" → null, extra fields kept ----------------------------------------


def test_builtins_sent_on_create_and_update_are_ignored(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    internal = {"deleted_at": "2001-01-01T00:00:00", "version": 99, "extra": {"x": 1}}
    created = create(client, spec, staff, {**FORGED_BUILTINS, **internal})
    record = created.json()
    for name, forged in FORGED_BUILTINS.items():
        assert record[name] != forged, name
    assert record["created_by"] == staff["email"] and record["is_sample"] is False
    for name in internal:
        assert name not in record
    stored = row(spec, record["id"])
    assert stored is not None and stored["extra"] == {} and stored["deleted_at"] is None
    assert stored["version"] != 99

    response = client.put(url(spec, f"/{record['id']}"), json={**FORGED_BUILTINS, **internal}, headers=staff["headers"])
    assert response.status_code == 200, response.text
    after = response.json()
    assert {k: after[k] for k in BUILTINS if k != "updated_date"} == {
        k: record[k] for k in BUILTINS if k != "updated_date"
    }
    assert row(spec, FORGED_BUILTINS["id"]) is None
    assert [r["id"] for r in rows(spec)] == [record["id"]]
    stored = row(spec, record["id"])
    assert stored is not None and stored["extra"] == {} and stored["deleted_at"] is None


def test_empty_string_is_null_for_non_text_fields(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    body = {name: "" for name, f in writable(spec).items() if not f.required}
    record = create(client, spec, staff, body).json()
    stored = row(spec, record["id"])
    assert stored is not None
    for name in body:
        expected = "" if spec.fields[name].kind == "str" else None
        assert record[name] == expected, name
        assert stored[name] == expected, name
    # the same on update, over real values
    record = create(client, spec, staff, full(spec)).json()
    response = client.patch(url(spec, f"/{record['id']}"), json=body, headers=staff["headers"])
    assert response.status_code == 200, response.text
    for name in body:
        expected = "" if spec.fields[name].kind == "str" else None
        assert response.json()[name] == expected, name
        assert row(spec, record["id"])[name] == expected, name  # type: ignore[index]


def test_undeclared_fields_round_trip_and_merge(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    record = create(client, spec, staff, EXTRA).json()
    assert {k: record[k] for k in EXTRA} == EXTRA
    got = client.get(url(spec, f"/{record['id']}"), headers=staff["headers"]).json()
    assert {k: got[k] for k in EXTRA} == EXTRA
    assert isinstance(got["score"], int) and isinstance(got["ratio"], float) and got["flag"] is True
    listed = client.get(url(spec), headers=staff["headers"]).json()
    assert {k: listed[0][k] for k in EXTRA} == EXTRA
    assert row(spec, record["id"])["extra"] == EXTRA  # type: ignore[index]

    change = {"score": 4, "nested": {"c": "ג"}, "new_one": ["x"]}
    response = client.patch(url(spec, f"/{record['id']}"), json=change, headers=staff["headers"])
    assert response.status_code == 200, response.text
    merged = {**EXTRA, **change}
    assert {k: response.json()[k] for k in merged} == merged
    assert row(spec, record["id"])["extra"] == merged  # type: ignore[index]


def test_values_keep_their_stored_type(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    text_field = next(name for name, f in writable(spec).items() if f.kind in ("str", "ref") and not f.required)
    record = create(client, spec, staff, {text_field: "3", "extra_number": 3, "extra_text": "3"}).json()
    for shown in (
        record,
        client.get(url(spec, f"/{record['id']}"), headers=staff["headers"]).json(),
        client.get(url(spec), headers=staff["headers"]).json()[0],
    ):
        assert shown[text_field] == "3"
        assert shown["extra_number"] == 3 and isinstance(shown["extra_number"], int)
        assert shown["extra_text"] == "3"


def test_hebrew_is_unescaped_in_the_raw_bytes(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    created = create(client, spec, staff, {"nickname": "שלום עולם", "note": "דירה בתל אביב"})
    record_id = created.json()["id"]
    for response in (
        created,
        client.get(url(spec, f"/{record_id}"), headers=staff["headers"]),
        client.get(url(spec), headers=staff["headers"]),
    ):
        assert "דירה בתל אביב".encode() in response.content
        assert b"\\u05" not in response.content
        assert response.headers["content-type"].startswith("application/json")


# --- strict input: required fields, wrong types ---------------------------------------------------------


def test_required_fields_are_enforced(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    needed = [name for name, f in writable(spec).items() if f.required]
    if not needed:
        record = create(client, spec, staff, {}).json()  # nothing required: an empty record is fine
        assert row(spec, record["id"]) is not None
        return
    for body in ({}, {name: "" for name in needed}, {name: None for name in needed}):
        body_error = assert_error(client.post(url(spec), json=body, headers=staff["headers"]), 422, "validation_error")
        assert sorted(e["loc"][-1] for e in body_error["detail"]) == sorted(needed)
        assert needed[0] in body_error["message"]
    assert db_count(spec) == 0
    record = create(client, spec, staff).json()
    for value in ("", None):
        response = client.patch(url(spec, f"/{record['id']}"), json={needed[0]: value}, headers=staff["headers"])
        assert_error(response, 422, "validation_error")
        assert loc_names(response) == [needed[0]]
    assert row(spec, record["id"])[needed[0]] == record[needed[0]]  # type: ignore[index]


def test_wrong_types_are_422_naming_the_field(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    record = create(client, spec, staff, full(spec)).json()
    before = rows(spec)
    for name, declared in writable(spec).items():
        bad = {name: WRONG[declared.kind]}
        response = client.post(url(spec), json={**required(spec), **bad}, headers=staff["headers"])
        assert_error(response, 422, "validation_error")
        assert set(loc_names(response)) == {name}, response.text
        response = client.patch(url(spec, f"/{record['id']}"), json=bad, headers=staff["headers"])
        assert_error(response, 422, "validation_error")
        assert loc_names(response) == [name], response.text
    assert rows(spec) == before


# --- ETag / If-Match ----------------------------------------------------------------------------------


def test_etag_changes_on_every_write_and_stale_if_match_is_412(
    client: Any, spec: EntitySpec, staff: dict[str, Any], admin: dict[str, Any]
) -> None:
    created = create(client, spec, staff)
    record_id, tags = created.json()["id"], [created.headers["etag"]]
    field = optional_fields(spec)[0]
    path = url(spec, f"/{record_id}")

    first = client.patch(
        path, json={field: OTHER[spec.fields[field].kind]}, headers={**staff["headers"], "If-Match": tags[0]}
    )
    assert first.status_code == 200, first.text
    tags.append(first.headers["etag"])
    second = client.put(path, json={"x": 1}, headers=staff["headers"])  # no If-Match: last write wins
    tags.append(second.headers["etag"])
    assert client.get(path, headers=staff["headers"]).headers["etag"] == tags[-1]

    before = rows(spec)
    for method in ("PUT", "PATCH"):
        stale = client.request(method, path, json={field: None}, headers={**staff["headers"], "If-Match": tags[0]})
        assert_error(stale, 412, "precondition_failed")
    assert_error(client.delete(path, headers={**staff["headers"], "If-Match": tags[1]}), 412, "precondition_failed")
    assert rows(spec) == before

    assert client.delete(path, headers={**staff["headers"], "If-Match": tags[-1]}).status_code == 204
    restored = client.post(url(spec, f"/{record_id}/restore"), headers=admin["headers"])
    tags.append(restored.headers["etag"])
    assert len(set(tags)) == len(tags), tags


# --- bulk create --------------------------------------------------------------------------------------


def test_bulk_create_keeps_input_order(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    items = [{**required(spec), "position": i, "label": f"רשומה {i}"} for i in range(25)]
    response = client.post(url(spec, "/bulk"), json=items, headers=staff["headers"])
    assert response.status_code == 201, response.text
    created = response.json()
    assert [r["position"] for r in created] == list(range(25))
    assert all(ID.match(r["id"]) and r["created_by"] == staff["email"] for r in created)
    assert len({r["id"] for r in created}) == 25
    assert sorted(r["id"] for r in rows(spec)) == sorted(r["id"] for r in created)


def test_bulk_create_is_all_or_nothing(client: Any, spec: EntitySpec, staff: dict[str, Any]) -> None:
    name = optional_fields(spec)[0]
    declared = spec.fields[name]
    items = [required(spec), {**required(spec), name: WRONG[declared.kind]}, required(spec)]
    body = assert_error(client.post(url(spec, "/bulk"), json=items, headers=staff["headers"]), 422, "validation_error")
    assert [e["loc"] for e in body["detail"]] == [["body", 1, name]]
    assert db_count(spec) == 0

    body = assert_error(
        client.post(url(spec, "/bulk"), json=[required(spec)] * 1001, headers=staff["headers"]), 400, "bad_request"
    )
    assert "1000" in body["message"]
    assert db_count(spec) == 0
    assert_error(
        client.post(url(spec, "/bulk"), json=required(spec), headers=staff["headers"]), 422, "validation_error"
    )
    assert db_count(spec) == 0


# --- uniqueness (Match is unique per client and property) ----------------------------------------------


def test_duplicate_match_pair_is_409_and_nothing_is_written(client: Any, staff: dict[str, Any]) -> None:
    spec = MODELLED["Match"]
    pair = {"client_id": next_ref(), "property_id": next_ref()}
    other = create(client, spec, staff, {"client_id": next_ref(), "property_id": pair["property_id"]}).json()
    create(client, spec, staff, pair)
    before = rows(spec)
    assert_error(client.post(url(spec), json=pair, headers=staff["headers"]), 409, "conflict")
    fresh = {"client_id": next_ref(), "property_id": next_ref()}
    response = client.post(url(spec, "/bulk"), json=[fresh, fresh], headers=staff["headers"])
    assert_error(response, 409, "conflict")
    response = client.patch(
        url(spec, f"/{other['id']}"), json={"client_id": pair["client_id"]}, headers=staff["headers"]
    )
    assert_error(response, 409, "conflict")
    assert rows(spec) == before
