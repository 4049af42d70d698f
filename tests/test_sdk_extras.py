"""SDK 0.8's aggregate, upsert and distinct, and its beacons — each answer checked against what the database
holds (read back here with plain SQL), on SQLite and PostgreSQL alike, declared and `extra` fields alike."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from backend.database import get_sessionmaker
from backend.services.registry import get_spec
from tests.conftest import assert_error

APP = "/api/apps/app1/entities"
CITIES = ["Tel Aviv", "Holon", "Tel Aviv", "Haifa", "Holon", "Tel Aviv", "Eilat", None]


def _stored(entity: str) -> list[dict[str, Any]]:
    """Every live record of `entity` straight from its table: declared columns plus `extra`."""
    spec = get_spec(entity)
    with get_sessionmaker()() as session:
        rows = session.execute(select(spec.table).where(spec.model.deleted_at.is_(None), spec.scope())).mappings()
        return [{**(row["extra"] or {}), **{k: v for k, v in row.items() if k != "extra"}} for row in rows]


@pytest.fixture
def properties(client: Any, staff: dict[str, Any]) -> list[dict[str, Any]]:
    items = [
        {
            "city": city,
            "price": 1_000_000 + 250_000 * i if i != 3 else None,
            "image_urls": [f"img{i % 3}.jpg", "shared.jpg"] if i % 2 == 0 else [],
            "agent": ["dana", "omer"][i % 2],  # undeclared: lives in `extra`
            "score": i * 1.5,  # undeclared number
        }
        for i, city in enumerate(CITIES)
    ]
    response = client.post(f"{APP}/Property/bulk", json=items, headers=staff["headers"])
    assert response.status_code == 201, response.text
    deleted = response.json()[-2]["id"]  # a record in the trash counts nowhere
    assert client.delete(f"{APP}/Property/{deleted}", headers=staff["headers"]).status_code == 200
    return response.json()


def _aggregate(client: Any, user: dict[str, Any], spec: Any, entity: str = "Property") -> Any:
    return client.post(f"{APP}/{entity}/aggregate", json=spec, headers=user["headers"])


def test_aggregate_groups_declared_fields_as_the_database_holds_them(
    client: Any, staff: dict[str, Any], properties: list[dict[str, Any]]
) -> None:
    body = _aggregate(
        client, staff, {"groupBy": "city", "sum": "price", "avg": "price", "min": "price", "max": "price"}
    ).json()
    stored = _stored("Property")
    groups: dict[Any, list[Any]] = defaultdict(list)
    for record in stored:
        groups[record["city"]].append(record["price"])
    assert body["truncated"] is False
    assert [row["city"] for row in body["rows"]] == sorted(groups, key=lambda c: (c is not None, c or ""))
    for row in body["rows"]:
        prices = [p for p in groups[row["city"]] if p is not None]
        assert row["count"] == len(groups[row["city"]])
        assert row["sum_price"] == (sum(prices) if prices else None)
        assert row["min_price"] == (min(prices) if prices else None)
        assert row["max_price"] == (max(prices) if prices else None)
        assert row["avg_price"] == (pytest.approx(sum(prices) / len(prices)) if prices else None)


def test_aggregate_over_extra_fields_with_a_query_first(
    client: Any, staff: dict[str, Any], properties: list[dict[str, Any]]
) -> None:
    query = {"price": {"$gte": 1_500_000}}
    body = _aggregate(client, staff, {"query": query, "groupBy": "agent", "sum": "score", "countDistinct": "city"})
    assert body.status_code == 200, body.text
    stored = [r for r in _stored("Property") if r["price"] is not None and r["price"] >= 1_500_000]
    expected: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in stored:
        expected[record["agent"]].append(record)
    rows = body.json()["rows"]
    assert {row["agent"] for row in rows} == set(expected)
    for row in rows:
        mine = expected[row["agent"]]
        assert row["count"] == len(mine)
        assert row["sum_score"] == pytest.approx(sum(r["score"] for r in mine))
        assert row["count_distinct_city"] == len({r["city"] for r in mine if r["city"] is not None})


def test_aggregate_having_sort_limit_and_truncated(
    client: Any, staff: dict[str, Any], properties: list[dict[str, Any]]
) -> None:
    counts = Counter(r["city"] for r in _stored("Property"))
    body = _aggregate(client, staff, {"groupBy": "city", "having": {"count": {"$gt": 1}}, "sort": "-count"}).json()
    assert [(row["city"], row["count"]) for row in body["rows"]] == sorted(
        ((c, n) for c, n in counts.items() if n > 1), key=lambda item: -item[1]
    )
    capped = _aggregate(client, staff, {"groupBy": "city", "limit": 2}).json()
    assert len(capped["rows"]) == 2 and capped["truncated"] is True
    whole = _aggregate(client, staff, {"groupBy": "city", "limit": len(counts)}).json()
    assert whole["truncated"] is False and len(whole["rows"]) == len(counts)


def test_aggregate_one_total_row_and_a_date_bucket(
    client: Any, staff: dict[str, Any], properties: list[dict[str, Any]]
) -> None:
    stored = _stored("Property")
    total = _aggregate(client, staff, {"sum": "price"}).json()["rows"]
    assert total == [{"count": len(stored), "sum_price": sum(r["price"] for r in stored if r["price"] is not None)}]
    by_day = _aggregate(client, staff, {"dateBucket": {"field": "created_date", "unit": "day"}}).json()["rows"]
    days = Counter(r["created_date"].strftime("%Y-%m-%d") for r in stored)
    assert {row["created_date"]: row["count"] for row in by_day} == dict(days)
    by_month = _aggregate(client, staff, {"dateBucket": {"field": "created_date", "unit": "month"}}).json()["rows"]
    assert {row["created_date"]: row["count"] for row in by_month} == dict(
        Counter(r["created_date"].strftime("%Y-%m") for r in stored)
    )


SCHEMA = {
    "name": "RtNote",
    "type": "object",
    "properties": {"title": {"type": "string"}, "amount": {"type": "number"}},
    "rls": {"read": {"created_by": "{{user.email}}"}},
}


def test_aggregate_and_distinct_apply_the_read_rule(
    client: Any, admin: dict[str, Any], staff: dict[str, Any], agent: dict[str, Any]
) -> None:
    assert client.put("/api/admin/schemas/RtNote", json=SCHEMA, headers=admin["headers"]).status_code in (200, 201)
    for user, titles in ((staff, ["a", "b", "c"]), (agent, ["x", "y"])):
        for title in titles:
            response = client.post(f"{APP}/RtNote", json={"title": title, "amount": 2}, headers=user["headers"])
            assert response.status_code == 201, response.text
    mine = _aggregate(client, agent, {"sum": "amount"}, "RtNote").json()["rows"]
    assert mine == [{"count": 2, "sum_amount": 4}]
    everything = _aggregate(client, admin, {"sum": "amount"}, "RtNote").json()["rows"]
    assert everything == [{"count": 5, "sum_amount": 10}]
    seen = client.get(f"{APP}/RtNote/v2/list", params={"distinct": "title"}, headers=agent["headers"]).json()
    assert seen["items"] == ["x", "y"]


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({"$lookup": {"from": "users"}}, "'$lookup'"),
        ({"groupBy": "city", "pipeline": []}, "'pipeline'"),
        ({"groupBy": "city", "having": {"count": {"$where": "1"}}}, "'$where'"),
        ({"groupBy": "city", "having": {"city": "Holon"}}, "'city'"),
        ({"groupBy": 'city"; DROP TABLE property; --'}, "DROP TABLE"),
        ({"sum": "price) FROM users --"}, "FROM users"),
        ({"groupBy": ["a", "b", "c", "d", "e"]}, "at most 4"),
        ({"groupBy": "city", "limit": 100_000}, "limit"),
        ({"sum": "city"}, "'city' is not a number field"),
        ({"groupBy": "city", "sort": "-nope"}, "'nope'"),
        ({"dateBucket": {"field": "city", "unit": "day"}}, "dateBucket"),
        ({"query": {"price": {"$bogus": 1}}}, "'$bogus'"),
        ("not an object", "aggregate takes an object"),
    ],
)
def test_aggregate_refuses_bad_specs_naming_the_problem(
    client: Any, staff: dict[str, Any], spec: Any, named: str
) -> None:
    body = assert_error(_aggregate(client, staff, spec), 400, "bad_request")
    assert named in body["message"], body


def test_upsert_creates_updates_and_last_wins(client: Any, staff: dict[str, Any]) -> None:
    first = client.post(
        f"{APP}/Property/upsert",
        json={"records": [{"crm_id": "A1", "city": "Holon"}], "key": "crm_id"},
        headers=staff["headers"],
    )
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["updated"]) == (1, 0)
    records = [
        {"crm_id": "A1", "city": "Haifa", "price": 5},
        {"crm_id": "B2", "city": "Eilat"},
        {"crm_id": "B2", "city": "Acre"},  # the same key twice in one call: the last wins
        {"crm_id": "C3", "city": "Tel Aviv"},
    ]
    body = client.post(
        f"{APP}/Property/upsert", json={"records": records, "key": ["crm_id"]}, headers=staff["headers"]
    ).json()
    assert (body["created"], body["updated"]) == (2, 1)
    assert [r["crm_id"] for r in body["records"]] == ["A1", "B2", "C3"]
    stored = {r["crm_id"]: r for r in _stored("Property")}
    assert sorted(stored) == ["A1", "B2", "C3"]  # one record per key
    assert (stored["A1"]["city"], stored["A1"]["price"]) == ("Haifa", 5)
    assert stored["A1"]["id"] == first.json()["records"][0]["id"]  # updated in place
    assert stored["B2"]["city"] == "Acre"


OWNED = {
    "name": "RtOwned",
    "type": "object",
    "properties": {"code": {"type": "string"}, "title": {"type": "string"}},
    "rls": {"read": {}, "create": {}, "update": {"created_by": "{{user.email}}"}, "delete": {}},
}


def test_upsert_is_held_to_the_row_rules_like_every_write(
    client: Any, admin: dict[str, Any], manager: dict[str, Any], agent: dict[str, Any]
) -> None:
    """An agent may neither read nor write MarketingLead or Campaign (the office's rules), nor change
    another's record where only the creator may; upsert is refused exactly as create/update are."""
    lead = client.post(f"{APP}/MarketingLead", json={"full_name": "ליד"}, headers=manager["headers"]).json()
    before = _stored("MarketingLead")
    # an unreadable record is not found, so the record would be a create — which the agent may not do
    hidden = {"records": [{"id": lead["id"], "full_name": "hacked"}], "key": "id"}
    body = assert_error(
        client.post(f"{APP}/MarketingLead/upsert", json=hidden, headers=agent["headers"]), 403, "forbidden"
    )
    assert body["message"] == "Your role may not create MarketingLead records"
    by_field = {"records": [{"full_name": "ליד", "notes": "x"}], "key": "full_name"}
    assert_error(client.post(f"{APP}/MarketingLead/upsert", json=by_field, headers=agent["headers"]), 403, "forbidden")
    assert _stored("MarketingLead") == before
    made = {"records": [{"name": "agent-made"}], "key": "name"}
    assert_error(client.post(f"{APP}/Campaign/upsert", json=made, headers=agent["headers"]), 403, "forbidden")
    assert [c for c in _stored("Campaign") if c.get("name") == "agent-made"] == []
    # a record the agent reads but may not change (another's, under a creator-only update rule)
    assert client.put("/api/admin/schemas/RtOwned", json=OWNED, headers=admin["headers"]).status_code in (200, 201)
    theirs = {"records": [{"code": "K1", "title": "שלו"}], "key": "code"}
    assert client.post(f"{APP}/RtOwned/upsert", json=theirs, headers=manager["headers"]).json()["created"] == 1
    change = {"records": [{"code": "K1", "title": "שלי"}], "key": "code"}
    assert_error(client.post(f"{APP}/RtOwned/upsert", json=change, headers=agent["headers"]), 403, "forbidden")
    assert [r["title"] for r in _stored("RtOwned")] == ["שלו"]
    # the rules let the manager, who may: the lead is updated in place
    allowed = client.post(f"{APP}/MarketingLead/upsert", json=hidden, headers=manager["headers"])
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["updated"] == 1 and _stored("MarketingLead")[0]["full_name"] == "hacked"


def test_upsert_without_the_key_names_the_record_and_writes_nothing(client: Any, staff: dict[str, Any]) -> None:
    records = [{"crm_id": "A1", "city": "Holon"}, {"city": "no key"}]
    response = client.post(
        f"{APP}/Property/upsert", json={"records": records, "key": "crm_id"}, headers=staff["headers"]
    )
    body = assert_error(response, 422, "validation_error")
    assert "records[1]" in body["message"] and "crm_id" in body["message"]
    assert body["detail"][0]["loc"] == ["body", "records", 1, "crm_id"]
    assert _stored("Property") == []
    bad_key = client.post(f"{APP}/Property/upsert", json={"records": [], "key": "a; drop"}, headers=staff["headers"])
    assert "'a; drop'" in assert_error(bad_key, 400, "bad_request")["message"]
    too_many = client.post(
        f"{APP}/Property/upsert", json={"records": [{"k": i} for i in range(501)], "key": "k"}, headers=staff["headers"]
    )
    assert "at most 500" in assert_error(too_many, 400, "bad_request")["message"]


def _distinct(client: Any, user: dict[str, Any], field: str, **params: Any) -> list[Any]:
    values: list[Any] = []
    cursor = None
    for _ in range(50):
        query = {"distinct": field, **params, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{APP}/Property/v2/list", params=query, headers=user["headers"])
        assert page.status_code == 200, page.text
        values += page.json()["items"]
        cursor = page.json()["next_cursor"]
        assert page.json()["has_more"] is (cursor is not None)
        if cursor is None:
            return values
    raise AssertionError("distinct pages never ended")


def test_distinct_values_ascending_paged_with_array_elements(
    client: Any, staff: dict[str, Any], properties: list[dict[str, Any]]
) -> None:
    stored = _stored("Property")
    assert _distinct(client, staff, "city", limit=2) == sorted({r["city"] for r in stored if r["city"] is not None})
    urls = sorted({u for r in stored for u in r["image_urls"] or []})
    assert _distinct(client, staff, "image_urls", limit=3) == urls
    assert _distinct(client, staff, "agent") == sorted({r["agent"] for r in stored})
    cheap = sorted({r["city"] for r in stored if r["price"] is not None and r["price"] < 1_600_000 and r["city"]})
    assert _distinct(client, staff, "city", q='{"price": {"$lt": 1600000}}') == cheap
    too_big = client.get(
        f"{APP}/Property/v2/list", params={"distinct": "city", "limit": 5000}, headers=staff["headers"]
    )
    assert "limit" in assert_error(too_big, 400, "bad_request")["message"]
    injected = client.get(f"{APP}/Property/v2/list", params={"distinct": "city') --"}, headers=staff["headers"])
    assert_error(injected, 400, "bad_request")


def test_beacons_are_accepted_without_a_token_and_any_body(client: Any) -> None:
    beacon = client.post(
        "/api/apps/app1/analytics/track/batch",
        content=b'{"events":[{"name":"x"}]}',
        headers={"Content-Type": "text/plain"},
    )
    assert beacon.status_code == 200
    assert client.post("/api/apps/app1/analytics/track/batch", content=b"not json").status_code == 200
    assert client.post("/api/app-logs/app1/log-user-in-app/Dashboard").status_code == 200


def test_the_handshake_token_never_reaches_the_log() -> None:
    import logging

    from backend.logs import _RequestIdFilter

    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", "/ws-user-apps/socket.io/?app_id=a&token=eyJ.secret.sig&EIO=4"), None,
    )  # fmt: skip
    _RequestIdFilter().filter(record)
    assert "eyJ" not in record.getMessage() and "token=[redacted]&EIO=4" in record.getMessage()
