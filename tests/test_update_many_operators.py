"""`updateMany`'s operators check types and sizes before they compute: each refusal is a 400 naming the
operator and the field, and nothing of the call is written — never a 500, never a string repeated 10^8 times."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import assert_error

BASE = "/api/apps/a1/entities/Contact"


def _update_many(client: Any, h: dict[str, str], query: dict[str, Any], data: dict[str, Any]) -> Any:
    return client.patch(f"{BASE}/update-many", headers=h, json={"query": query, "data": data})


@pytest.fixture
def office(client: Any, agent: dict[str, Any]) -> dict[str, Any]:
    h = agent["headers"]
    records = client.post(f"{BASE}/bulk", headers=h, json=[
        {"full_name": "a", "city": "תל אביב", "notes": "abc", "score": 5, "label": "x", "tags": ["t"], "bag": [1]},
        {"full_name": "b", "city": "חיפה", "notes": "def", "score": "high", "label": 7, "tags": "t", "bag": "no"},
    ]).json()  # fmt: skip
    return {"h": h, "ids": [r["id"] for r in records], "before": {r["id"]: r for r in records}}


@pytest.mark.parametrize(
    ("data", "op", "field"),
    [
        ({"$inc": {"city": 1}}, "$inc", "city"),  # a declared text field
        ({"$mul": {"notes": 10_000_000}}, "$mul", "notes"),  # used to repeat the text 10^7 times
        ({"$mul": {"notes": 1e8}}, "$mul", "notes"),
        ({"$inc": {"score": 1}}, "$inc", "score"),  # 5 on one record, "high" on the other
        ({"$mul": {"tags": 2}}, "$mul", "tags"),
        ({"$inc": {"score": "1"}}, "$inc", "score"),
        ({"$min": {"score": 3}}, "$min", "score"),  # a number against the other record's text
        ({"$max": {"label": "y"}}, "$max", "label"),  # text against the other record's number
        ({"$min": {"city": 3}}, "$min", "city"),
        ({"$max": {"bag": [2]}}, "$max", "bag"),
        ({"$push": {"city": "x"}}, "$push", "city"),
        ({"$push": {"tags": {"$each": 5}}}, "$push", "tags"),
        ({"$addToSet": {"tags": {"$each": "abc"}}}, "$addToSet", "tags"),
        ({"$pull": {"tags": {"$in": 5}}}, "$pull", "tags"),
        ({"$pull": {"bag": 1}}, "$pull", "bag"),  # a list on one record, text on the other
        ({"$push": {"tags": "u"}}, "$push", "tags"),
        ({"$unset": {"full_name": ""}}, "$unset", "full_name"),  # required
        ({"$rename": {"full_name": "name"}}, "$rename", "full_name"),  # required
        ({"$rename": {"notes": "id"}}, "$rename", "notes"),  # onto a built-in
        ({"$rename": {"notes": "notes"}}, "$rename", "notes"),
    ],
)
def test_mismatched_operators_are_refused_naming_operator_and_field(
    client: Any, office: dict[str, Any], data: dict[str, Any], op: str, field: str
) -> None:
    body = assert_error(_update_many(client, office["h"], {}, data), 400, "bad_request")
    assert op in body["message"] and repr(field) in body["message"], body
    after = {r["id"]: r for r in client.get(BASE, headers=office["h"]).json()}
    assert after == office["before"]  # nothing of the call was written, not even to the record that fit


def test_well_typed_operators_still_apply(client: Any, office: dict[str, Any]) -> None:
    h, (first, second) = office["h"], office["ids"]
    ok = _update_many(client, h, {"id": first}, {
        "$inc": {"score": 2.5}, "$mul": {"fresh": 3}, "$min": {"label": "a"}, "$max": {"city": "תת"},
        "$addToSet": {"tags": {"$each": ["t", "u", "u"]}, "bag": {"$each": [1, True, "1", 1.0]}},
        "$rename": {"notes": "memo"}, "$currentDate": {"seen": True},
    })  # fmt: skip
    assert ok.status_code == 200 and ok.json()["updated"] == 1, ok.text
    record = client.get(f"{BASE}/{first}", headers=h).json()
    assert record["score"] == 7.5 and record["fresh"] == 0 and record["label"] == "a" and record["city"] == "תת"
    assert record["tags"] == ["t", "u"] and record["bag"] == [1, True, "1"]
    assert record["memo"] == "abc" and record["notes"] is None and record["seen"].startswith("20")
    pulled = _update_many(client, h, {"id": first}, {"$pull": {"bag": {"$in": [True, "1"]}}, "$unset": {"memo": 1}})
    assert pulled.status_code == 200
    record = client.get(f"{BASE}/{first}", headers=h).json()
    assert record["bag"] == [1] and "memo" not in record
    # the other record was never touched
    assert client.get(f"{BASE}/{second}", headers=h).json() == office["before"][second]


def test_a_result_is_held_to_the_limits_of_a_create(client: Any, office: dict[str, Any]) -> None:
    h, first = office["h"], office["ids"][0]
    grown = _update_many(client, h, {"id": first}, {"$push": {"tags": {"$each": ["x" * 50_000] * 6}}})
    assert_error(grown, 422, "validation_error")
    assert client.get(f"{BASE}/{first}", headers=h).json() == office["before"][first]
