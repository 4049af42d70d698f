"""The list query engine of API.md §3.1–§3.2 over REST, on declared, built-in and extra fields.

One small office of properties (Hebrew values) is created through `POST /api/properties/bulk`;
each case names the records it must return, by label, and the test compares exact id sets/orders.
`created_date` is pinned per record with one UPDATE after creation, so date filters are exact.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from sqlalchemy import update

from backend.config import get_settings
from backend.database import get_engine
from backend.models import Property

PATH = "/api/properties"
AGENT, BOSS = "agent@example.com", "boss@example.com"
# Labels p1..p5 are created by the agent in one bulk request, p6 by the admin.
DATA: dict[str, dict[str, Any]] = {
    "p1": {
        "city": "תל אביב", "status": "נכס חדש", "price": 1500000, "rooms": "3", "parking": True,
        "image_urls": ["a.jpg", "b.jpg"], "description": "Sunny apartment", "score": 9,
        "tags": ["מרפסת", "חניה"], "marks": [3, 9], "rank": 3, "owner": {"name": "דני", "age": 40},
        "visits": [{"who": "דני", "n": 2}, {"who": "רות", "n": 5}], "listed_on": "2024-03-01",
    },
    "p2": {
        "city": "חיפה", "status": "פולואפ", "price": 900000, "rooms": "2.5", "parking": False,
        "image_urls": [], "description": "sunny garden", "score": 10, "tags": ["חניה"], "marks": [6],
        "rank": 1, "note": "Hello World", "listed_on": "2024-11-15T09:30:00Z",
    },
    "p3": {"city": "תל אביב", "status": "נכס גויס", "rooms": "4", "score": "10", "tags": []},
    "p4": {
        "status": "נסגר", "price": 2500000, "rooms": "10", "score": None, "rank": 2, "note": "hello there",
        "owner": {"name": "רות", "age": 30},
    },
    "p5": {
        "city": "ירושלים", "status": "נכס חדש", "price": 1500000, "rooms": "6+", "score": 2.5, "marks": [1, 2],
        "visits": [{"who": "רות", "n": 1}], "listed_on": "2025-01-10",
    },
    "p6": {"city": "חיפה", "status": "פולואפ"},
}  # fmt: skip
CREATED = {
    "p1": dt.datetime(2024, 1, 1, 10, 0),
    "p2": dt.datetime(2024, 6, 15, 12, 30),
    "p3": dt.datetime(2024, 12, 31, 23, 59, 59, 999999),
    "p4": dt.datetime(2025, 1, 1),
    "p5": dt.datetime(2025, 2, 1, 8, 0),
    "p6": dt.datetime(2025, 3, 1, 9, 15, 30, 500000),
}
ALL = set(DATA)


class Office:
    """The dataset: label ↔ id, and list calls that answer in labels."""

    def __init__(self, client: Any, agent: dict[str, Any], admin: dict[str, Any]) -> None:
        self.client, self.headers = client, agent["headers"]
        bulk = client.post(f"{PATH}/bulk", json=[DATA[f"p{i}"] for i in range(1, 6)], headers=agent["headers"])
        assert bulk.status_code == 201, bulk.text
        single = client.post(PATH, json=DATA["p6"], headers=admin["headers"])
        assert single.status_code == 201, single.text
        self.ids = {f"p{i}": r["id"] for i, r in enumerate(bulk.json(), start=1)} | {"p6": single.json()["id"]}
        self.labels = {v: k for k, v in self.ids.items()}
        set_created_dates({self.ids[label]: when for label, when in CREATED.items()})

    def get(self, **params: Any) -> Any:
        response = self.client.get(PATH, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response

    def find(self, q: Any = None, **params: Any) -> set[str]:
        if q is not None:
            params["q"] = json.dumps(self.resolve(q), ensure_ascii=False)
        return {self.labels[r["id"]] for r in self.get(**params).json()}

    def order(self, **params: Any) -> list[str]:
        return [self.labels[r["id"]] for r in self.get(**params).json()]

    def resolve(self, value: Any) -> Any:
        """`@p1` in a query stands for p1's id."""
        if isinstance(value, str) and value.startswith("@"):
            return self.ids[value[1:]]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value


def set_created_dates(dates: dict[str, dt.datetime]) -> None:
    with get_engine().begin() as conn:
        for record_id, when in dates.items():
            conn.execute(update(Property).where(Property.id == record_id).values(created_date=when))


def expected_order(office: Office, sort: list[tuple[str, bool]]) -> list[str]:
    """Mongo's order: nulls smallest (first ascending, last descending), ties by id in the first key's direction."""
    values = {label: {**DATA[label], "id": office.ids[label], "created_date": CREATED[label]} for label in DATA}
    values["p6"]["created_by"] = BOSS
    for label in DATA:
        values[label].setdefault("created_by", AGENT)
    labels = sorted(DATA, key=lambda label: values[label]["id"], reverse=sort[0][1])
    for name, descending in reversed(sort):
        labels.sort(key=lambda label: _null_first(values[label].get(name)), reverse=descending)
    return labels


def _null_first(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else 0)


@pytest.fixture
def office(client: Any, agent: dict[str, Any], admin: dict[str, Any]) -> Office:
    return Office(client, agent, admin)


# --- q: equality, operators, logic ----------------------------------------------------------------------

# Groups of (name, q, expected labels); one test per group keeps the dataset set-up count low.
GROUPS: dict[str, list[tuple[str, Any, set[str]]]] = {
    "equality": [  # on declared, extra, nested and built-in fields
        ("eq-declared", {"city": "תל אביב"}, {"p1", "p3"}),
        ("eq-two-keys-anded", {"city": "תל אביב", "status": "נכס חדש"}, {"p1"}),
        ("eq-int", {"price": 1500000}, {"p1", "p5"}),
        ("eq-bool-true", {"parking": True}, {"p1"}),
        ("eq-bool-false", {"parking": False}, {"p2"}),
        ("eq-null-declared", {"city": None}, {"p4"}),
        ("eq-null-extra-missing", {"note": None}, {"p1", "p3", "p5", "p6"}),
        ("eq-null-extra-null-or-missing", {"score": None}, {"p4", "p6"}),
        ("eq-list-is-any-of", {"status": ["נכס חדש", "נסגר"]}, {"p1", "p4", "p5"}),
        ("eq-id-any-of", {"id": ["@p1", "@p2"]}, {"p1", "p2"}),
        ("eq-id", {"id": "@p3"}, {"p3"}),
        ("eq-extra-number-not-string", {"score": 10}, {"p2"}),
        ("eq-extra-string-not-number", {"score": "10"}, {"p3"}),
        ("eq-extra-array-contains", {"tags": "חניה"}, {"p1", "p2"}),
        ("eq-declared-list-contains", {"image_urls": "a.jpg"}, {"p1"}),
        ("eq-nested-path", {"owner.name": "דני"}, {"p1"}),
        ("eq-whole-object", {"owner": {"name": "רות", "age": 30}}, {"p4"}),
        ("eq-created-by", {"created_by": BOSS}, {"p6"}),
    ],
    "eq-ne": [
        ("$eq", {"rooms": {"$eq": "3"}}, {"p1"}),
        ("$eq-extra", {"score": {"$eq": 9}}, {"p1"}),
        ("$ne-matches-null", {"city": {"$ne": "תל אביב"}}, {"p2", "p4", "p5", "p6"}),
        ("$ne-extra-matches-missing", {"score": {"$ne": 10}}, {"p1", "p3", "p4", "p5", "p6"}),
        ("$ne-bool", {"parking": {"$ne": True}}, ALL - {"p1"}),
        ("$ne-array", {"tags": {"$ne": "חניה"}}, {"p3", "p4", "p5", "p6"}),
        ("$ne-null", {"city": {"$ne": None}}, ALL - {"p4"}),
    ],
    "comparisons": [  # follow the stored type, never match null
        ("$gt-int", {"price": {"$gt": 900000}}, {"p1", "p4", "p5"}),
        ("$gte-$lt-int", {"price": {"$gte": 900000, "$lt": 2000000}}, {"p1", "p2", "p5"}),
        ("$lte-int", {"price": {"$lte": 900000}}, {"p2"}),
        ("$lt-never-null", {"price": {"$lt": 10**12}}, {"p1", "p2", "p4", "p5"}),
        ("$gte-null-is-nothing", {"price": {"$gte": None}}, set()),
        ("$lt-numbers-numerically", {"score": {"$lt": 10}}, {"p1", "p5"}),
        ("$gte-numbers", {"score": {"$gte": 9}}, {"p1", "p2"}),
        ("$gt-strings-only-strings", {"score": {"$gt": "1"}}, {"p3"}),
        ("$gt-text-lexicographic", {"rooms": {"$gt": "3"}}, {"p3", "p5"}),
        ("$lt-text-lexicographic", {"rooms": {"$lt": "3"}}, {"p2", "p4"}),
        ("$gte-extra-int", {"rank": {"$gte": 2}}, {"p1", "p4"}),
        ("$gt-hebrew-text", {"city": {"$gt": "ירושלים"}}, {"p1", "p3"}),
        ("$gte-iso-date-text", {"listed_on": {"$gte": "2024-06-01"}}, {"p2", "p5"}),
        ("$lt-iso-date-text", {"listed_on": {"$lt": "2024-11-15T10"}}, {"p1", "p2"}),
    ],
    "timestamps": [  # built-in timestamps take any ISO-8601 form
        ("date-eq-naive", {"created_date": "2024-06-15T12:30:00"}, {"p2"}),
        ("date-eq-z", {"created_date": "2024-06-15T12:30:00Z"}, {"p2"}),
        ("date-eq-offset", {"created_date": "2024-06-15T15:30:00+03:00"}, {"p2"}),
        ("date-eq-micro", {"created_date": "2024-06-15T12:30:00.000000"}, {"p2"}),
        ("date-gte-date-only", {"created_date": {"$gte": "2025-01-01"}}, {"p4", "p5", "p6"}),
        ("date-lt-offset", {"created_date": {"$lt": "2025-01-01T02:00:00+02:00"}}, {"p1", "p2", "p3"}),
        (
            "date-range-millis-z",
            {"created_date": {"$gt": "2024-12-31T23:59:59.999999Z", "$lte": "2025-02-01T08:00:00.000Z"}},
            {"p4", "p5"},
        ),
        ("date-in", {"created_date": {"$in": ["2024-01-01T10:00:00Z", "2025-03-01T11:15:30.5+02:00"]}}, {"p1", "p6"}),
        ("updated-date-exists", {"updated_date": {"$exists": True}}, ALL),
    ],
    "in-nin": [
        ("$in", {"city": {"$in": ["חיפה", "ירושלים"]}}, {"p2", "p5", "p6"}),
        ("$in-with-null", {"city": {"$in": [None, "חיפה"]}}, {"p2", "p4", "p6"}),
        ("$in-extra-mixed-types", {"score": {"$in": [9, "10"]}}, {"p1", "p3"}),
        ("$in-array-field", {"tags": {"$in": ["מרפסת", "אין"]}}, {"p1"}),
        ("$in-id", {"id": {"$in": ["@p1", "@p3"]}}, {"p1", "p3"}),
        ("$nin-matches-null", {"city": {"$nin": ["תל אביב", "חיפה"]}}, {"p4", "p5"}),
        ("$nin-extra-matches-missing", {"score": {"$nin": [9, 10]}}, {"p3", "p4", "p5", "p6"}),
        ("$nin-id", {"id": {"$nin": ["@p1"]}}, ALL - {"p1"}),
    ],
    "exists": [  # $exists: false means null or missing
        ("$exists-true", {"city": {"$exists": True}}, ALL - {"p4"}),
        ("$exists-false", {"city": {"$exists": False}}, {"p4"}),
        ("$exists-extra", {"note": {"$exists": True}}, {"p2", "p4"}),
        ("$exists-false-extra-null-or-missing", {"score": {"$exists": False}}, {"p4", "p6"}),
        ("$exists-false-int", {"price": {"$exists": False}}, {"p3", "p6"}),
    ],
    "regex": [  # $regex (+ $options i)
        ("$regex-hebrew", {"city": {"$regex": "^תל"}}, {"p1", "p3"}),
        ("$regex-case-sensitive", {"description": {"$regex": "sunny"}}, {"p2"}),
        ("$regex-i", {"description": {"$regex": "^SUNNY", "$options": "i"}}, {"p1", "p2"}),
        ("$regex-extra", {"note": {"$regex": "^hello"}}, {"p4"}),
        ("$regex-extra-i", {"note": {"$regex": "^HELLO", "$options": "i"}}, {"p2", "p4"}),
        ("$regex-digits", {"rooms": {"$regex": "^[0-9]$"}}, {"p1", "p3"}),
        ("$regex-created-by", {"created_by": {"$regex": "^boss@"}}, {"p6"}),
    ],
    "arrays": [  # $all $size $elemMatch
        ("$all-extra", {"tags": {"$all": ["חניה", "מרפסת"]}}, {"p1"}),
        ("$all-one", {"tags": {"$all": ["חניה"]}}, {"p1", "p2"}),
        ("$all-declared-list", {"image_urls": {"$all": ["b.jpg"]}}, {"p1"}),
        ("$size-0", {"tags": {"$size": 0}}, {"p3"}),
        ("$size-2", {"tags": {"$size": 2}}, {"p1"}),
        ("$size-declared-list", {"image_urls": {"$size": 0}}, {"p2"}),
        ("$elemMatch-scalars-same-element", {"marks": {"$elemMatch": {"$gt": 5, "$lt": 8}}}, {"p2"}),
        ("$elemMatch-scalar", {"marks": {"$elemMatch": {"$gte": 9}}}, {"p1"}),
        ("$elemMatch-hebrew", {"tags": {"$elemMatch": {"$eq": "מרפסת"}}}, {"p1"}),
        ("$elemMatch-regex", {"image_urls": {"$elemMatch": {"$regex": "^a\\."}}}, {"p1"}),
        ("$elemMatch-object", {"visits": {"$elemMatch": {"who": "רות", "n": {"$gte": 2}}}}, {"p1"}),
        ("$elemMatch-object-one-key", {"visits": {"$elemMatch": {"who": "רות"}}}, {"p1", "p5"}),
        ("$elemMatch-object-same-element", {"visits": {"$elemMatch": {"who": "דני", "n": 5}}}, set()),
    ],
    "not": [
        ("$not-matches-null", {"price": {"$not": {"$gt": 1000000}}}, {"p2", "p3", "p6"}),
        ("$not-regex", {"city": {"$not": {"$regex": "^תל"}}}, {"p2", "p4", "p5", "p6"}),
        ("$not-extra", {"score": {"$not": {"$lt": 10}}}, {"p2", "p3", "p4", "p6"}),
    ],
    "logic": [  # $and $or $nor at several levels
        ("$and", {"$and": [{"city": "תל אביב"}, {"price": {"$exists": True}}]}, {"p1"}),
        ("$or", {"$or": [{"city": "חיפה"}, {"score": {"$gt": 9}}]}, {"p2", "p6"}),
        ("$nor", {"$nor": [{"city": "תל אביב"}, {"status": "נסגר"}]}, {"p2", "p5", "p6"}),
        ("$nor-matches-null", {"$nor": [{"score": {"$gt": 5}}]}, {"p3", "p4", "p5", "p6"}),
        ("field-and-$or", {"status": "נכס חדש", "$or": [{"city": "ירושלים"}, {"parking": True}]}, {"p1", "p5"}),
        (
            "nested-3-levels",
            {
                "$or": [
                    {"$and": [{"city": "תל אביב"}, {"$nor": [{"rooms": "3"}]}]},
                    {"$and": [{"price": {"$gte": 2000000}}, {"$or": [{"note": {"$regex": "there"}}, {"tags": "x"}]}]},
                ]
            },
            {"p3", "p4"},
        ),
        (
            "$and-of-$or",
            {"$and": [{"$or": [{"rank": 1}, {"rank": 3}]}, {"$or": [{"parking": False}, {"price": 1500000}]}]},
            {"p1", "p2"},
        ),
        ("empty-q", {}, ALL),
    ],
}


@pytest.mark.parametrize("group", list(GROUPS))
def test_q(office: Office, group: str) -> None:
    wrong = {}
    for name, q, expected in GROUPS[group]:
        found = office.find(q)
        if found != expected:
            wrong[name] = {"expected": sorted(expected), "found": sorted(found)}
    assert not wrong, wrong


def test_q_in_the_trash_and_count_use_the_same_engine(office: Office, client: Any, admin: dict[str, Any]) -> None:
    assert client.delete(f"{PATH}/{office.ids['p1']}", headers=office.headers).status_code == 204
    q = json.dumps({"city": "תל אביב"}, ensure_ascii=False)
    assert office.find({"city": "תל אביב"}) == {"p3"}
    assert office.get(q=q, count="true").headers["x-total-count"] == "1"
    trash = client.get(f"{PATH}/trash", params={"q": q, "count": "true"}, headers=admin["headers"])
    assert [r["id"] for r in trash.json()] == [office.ids["p1"]]
    assert trash.headers["x-total-count"] == "1"


# --- equality parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "נכס חדש", "city": "תל אביב"}, {"p1"}),
        ({"price": "1500000"}, {"p1", "p5"}),
        ({"parking": "true"}, {"p1"}),
        ({"score": "9"}, {"p1"}),
        ({"created_by": BOSS}, {"p6"}),
        ({"id": "@p4"}, {"p4"}),
        ({"city": "תל אביב", "q": '{"price": {"$gt": 1000000}}'}, {"p1"}),
    ],
    ids=["two-fields", "int-parsed", "bool-parsed", "extra-number", "built-in", "id", "with-q"],
)
def test_equality_parameters(office: Office, params: dict[str, str], expected: set[str]) -> None:
    params = office.resolve(params)
    q = params.pop("q", None)
    assert office.find(json.loads(q) if q else None, **params) == expected


def test_equality_parameters_in_a_raw_url(office: Office) -> None:
    response = office.client.get(f"{PATH}?status=נכס חדש&city=תל%20אביב", headers=office.headers)
    assert {office.labels[r["id"]] for r in response.json()} == {"p1"}


# --- sort -------------------------------------------------------------------------------------------------

SORTS = [
    ("price", [("price", False)]),
    ("-price", [("price", True)]),
    ("+price", [("price", False)]),
    (" price", [("price", False)]),  # a URL's literal '+' arrives as a space
    ("city,-price", [("city", False), ("price", True)]),
    ("-city,price", [("city", True), ("price", False)]),
    ("-city, +rooms", [("city", True), ("rooms", False)]),
    ("rank", [("rank", False)]),
    ("-rank", [("rank", True)]),
    ("status,-rank", [("status", False), ("rank", True)]),
    ("-created_date", [("created_date", True)]),
    ("created_date", [("created_date", False)]),
    ("created_by,-created_date", [("created_by", False), ("created_date", True)]),
    ("id", [("id", False)]),
    ("-id", [("id", True)]),
]


@pytest.mark.parametrize(("sort", "keys"), SORTS, ids=[s for s, _ in SORTS])
def test_sort(office: Office, sort: str, keys: list[tuple[str, bool]]) -> None:
    assert office.order(sort=sort) == expected_order(office, keys)


def test_sort_aliases_and_default(office: Office) -> None:
    assert office.order() == expected_order(office, [("created_date", True)]) == ["p6", "p5", "p4", "p3", "p2", "p1"]
    assert office.order(order_by="-price") == expected_order(office, [("price", True)])
    plus = office.client.get(f"{PATH}?sort=+price", headers=office.headers)  # '+' in a raw URL is a space
    encoded = office.client.get(f"{PATH}?sort=%2Bprice", headers=office.headers)
    expected = expected_order(office, [("price", False)])
    assert [office.labels[r["id"]] for r in plus.json()] == expected
    assert [office.labels[r["id"]] for r in encoded.json()] == expected


def test_sort_ties_break_by_id(office: Office) -> None:
    set_created_dates({office.ids[label]: dt.datetime(2025, 5, 5) for label in DATA})
    by_id = sorted(DATA, key=lambda label: office.ids[label])
    assert office.order(sort="created_date") == by_id
    assert office.order(sort="-created_date") == by_id[::-1]


def test_declared_date_fields_compare_and_sort_as_text(client: Any, agent: dict[str, Any]) -> None:
    """ENTITIES.md: `date`/`datetime` fields are kept as sent and compared as text."""
    dues = ["2025-01-09", "2025-01-10", "2025-10-01", None, ""]
    made = client.post(
        "/api/tasks/bulk",
        json=[{"title": f"משימה {i}", "due_date": d} for i, d in enumerate(dues)],
        headers=agent["headers"],
    )
    assert made.status_code == 201, made.text
    ids = [r["id"] for r in made.json()]

    def tasks(**params: Any) -> list[str]:
        response = client.get("/api/tasks", params=params, headers=agent["headers"])
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()]

    assert set(tasks(q='{"due_date": {"$lt": "2025-02-01"}}')) == {ids[0], ids[1]}
    assert set(tasks(q='{"due_date": {"$gte": "2025-01-10"}}')) == {ids[1], ids[2]}
    assert set(tasks(q='{"due_date": null}')) == {ids[3], ids[4]}  # "" was stored as null
    assert tasks(sort="due_date")[2:] == [ids[0], ids[1], ids[2]]
    assert tasks(sort="-due_date")[:3] == [ids[2], ids[1], ids[0]]

    starts = ["2025-03-05T10:00", "2025-03-05T09:00:00Z", "2025-03-06T08:00:00.000Z"]
    made = client.post("/api/meetings/bulk", json=[{"start_date": s} for s in starts], headers=agent["headers"])
    meetings = [r["id"] for r in made.json()]
    listed = client.get("/api/meetings", params={"sort": "-start_date"}, headers=agent["headers"]).json()
    assert [r["id"] for r in listed] == [meetings[2], meetings[0], meetings[1]]
    assert [r["start_date"] for r in listed] == [starts[2], starts[0], starts[1]]  # returned as sent


# --- limit, skip, fields, count ---------------------------------------------------------------------------


def test_limit_and_skip(office: Office) -> None:
    ordered = expected_order(office, [("price", False)])
    assert office.order(sort="price", limit=2) == ordered[:2]
    assert office.order(sort="price", limit=2, skip=2) == ordered[2:4]
    assert office.order(sort="price", offset=4) == ordered[4:]
    assert office.order(sort="price", skip=100) == []
    assert office.order(sort="price", limit=0) == []


def test_limit_defaults_to_and_is_clamped_at_max_page_size(office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "max_page_size", 4)
    ordered = expected_order(office, [("created_date", True)])
    assert office.order() == ordered[:4]
    assert office.order(limit=str(10**12)) == ordered[:4]
    assert office.order(limit=3) == ordered[:3]
    assert office.get().headers.get("x-next-cursor")


def test_fields_returns_only_those_keys_and_id(office: Office) -> None:
    records = office.get(fields="city,price", sort="price").json()
    assert all(set(r) == {"id", "city", "price"} for r in records)
    assert [r["price"] for r in records] == [
        DATA[label].get("price") for label in expected_order(office, [("price", False)])
    ]
    extra = {r["id"]: r for r in office.get(fields="score, created_date").json()}
    assert set(extra[office.ids["p1"]]) == {"id", "score", "created_date"}
    assert extra[office.ids["p1"]]["score"] == 9
    assert extra[office.ids["p1"]]["created_date"] == "2024-01-01T10:00:00.000000"
    assert all(set(r) <= {"id", "score", "created_date"} for r in extra.values())


def test_count_ignores_limit_and_skip(office: Office) -> None:
    q = json.dumps({"price": {"$exists": True}})
    response = office.get(q=q, count="true", limit=1, skip=1)
    assert response.headers["x-total-count"] == "4"
    assert len(response.json()) == 1
    assert office.get(count="true", limit=0).headers["x-total-count"] == "6"
    assert "x-total-count" not in office.get(q=q).headers


# --- keyset cursor ----------------------------------------------------------------------------------------


def _sort_value(record: dict[str, Any], name: str) -> tuple[bool, Any]:
    return _null_first(record.get(name))


def walk(
    client: Any, headers: dict[str, str], params: dict[str, Any], between: Any = None
) -> tuple[list[dict[str, Any]], int]:
    """Follows X-Next-Cursor to the end; calls `between(page_number)` after each page that has a next one."""
    records: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        response = client.get(PATH, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        records.extend(page)
        pages += 1
        cursor = response.headers.get("x-next-cursor")
        if not cursor:
            assert len(page) <= int(params["limit"])
            return records, pages
        assert len(page) == int(params["limit"])
        if between:
            between(pages)
        assert pages < 100


def bulk(client: Any, headers: dict[str, str], items: list[dict[str, Any]]) -> list[str]:
    response = client.post(f"{PATH}/bulk", json=items, headers=headers)
    assert response.status_code == 201, response.text
    return [r["id"] for r in response.json()]


TIES = [100, 100, 100, 200, 200, None, None, 300, 300, 300, None, 200, 100]


@pytest.mark.parametrize("sort", ["price", "-price", "city,-price", "-city,price,-rooms"])
def test_cursor_with_ties_and_nulls_while_rows_are_inserted(client: Any, agent: dict[str, Any], sort: str) -> None:
    cities = ["תל אביב", "חיפה", None]
    items = [{"price": p, "city": cities[i % 3], "rooms": str(i % 2)} for i, p in enumerate(TIES)]
    original = set(bulk(client, agent["headers"], items))

    def insert_ties(page: int) -> None:  # new rows on the very values the cursor stands on
        bulk(
            client,
            agent["headers"],
            [{"price": p, "city": cities[page % 3], "rooms": "1"} for p in (100, 200, None, 300)],
        )

    records, pages = walk(client, agent["headers"], {"sort": sort, "limit": 3}, insert_ties)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), "a row came twice"
    assert original <= set(ids), "a row that existed at the start was missed"
    assert pages >= 5
    keys = [(part.strip().lstrip("+-"), part.strip().startswith("-")) for part in sort.split(",")]

    def rank(record: dict[str, Any]) -> list[Any]:
        return [_sort_value(record, name) for name, _ in keys]

    for before, after in itertools.pairwise(records):  # the walk is in sort order
        for (name, descending), a, b in zip(keys, rank(before), rank(after), strict=True):
            if a != b:
                assert (a > b) if descending else (a < b), (sort, before[name], after[name])
                break
        else:
            assert (before["id"] > after["id"]) if keys[0][1] else (before["id"] < after["id"])


def test_cursor_on_the_default_sort_with_equal_created_dates(client: Any, agent: dict[str, Any]) -> None:
    ids = bulk(client, agent["headers"], [{"city": "באר שבע", "n": i} for i in range(11)])
    set_created_dates({record_id: dt.datetime(2025, 1, 1, 12, 0) for record_id in ids})
    records, pages = walk(
        client, agent["headers"], {"limit": 4}, lambda _: bulk(client, agent["headers"], [{"city": "אילת"}])
    )
    # rows inserted later sort before the cursor (newest first): the walk is exactly the originals
    assert [r["id"] for r in records] == sorted(ids, reverse=True)
    assert pages == 3


def test_cursor_on_an_extra_field_with_nulls(client: Any, agent: dict[str, Any]) -> None:
    ranks = [5, None, 3, 5, None, 1, 3, 5, None, 2]
    items = [{"rank": r} if r is not None else {"city": "x"} for r in ranks]
    ids = bulk(client, agent["headers"], items)
    for sort, descending in (("rank", False), ("-rank", True)):
        records, _ = walk(client, agent["headers"], {"sort": sort, "limit": 3})
        expected = sorted(zip(ranks, ids, strict=True), key=lambda p: p[1], reverse=descending)
        expected.sort(key=lambda p: _null_first(p[0]), reverse=descending)
        assert [r["id"] for r in records] == [record_id for _, record_id in expected], sort


@pytest.mark.parametrize("extra", [{}, {"count": "true"}, {"q": '{"rooms": {"$ne": "9"}}'}])
@pytest.mark.parametrize("sort", ["parking", "-parking"])
def test_cursor_on_a_yes_no_field(client: Any, agent: dict[str, Any], sort: str, extra: dict[str, str]) -> None:
    """A bool sort key with nulls, walked on every path (`count` and `q` take the general one)."""
    values = [True, False, None, True, False, None, True]
    ids = bulk(client, agent["headers"], [{"parking": v, "rooms": "1"} for v in values])
    records, _ = walk(client, agent["headers"], {"sort": sort, "limit": 2, **extra})
    descending = sort.startswith("-")
    expected = sorted(zip(values, ids, strict=True), key=lambda p: p[1], reverse=descending)
    expected.sort(key=lambda p: _null_first(p[0]), reverse=descending)
    assert [r["id"] for r in records] == [record_id for _, record_id in expected]


def test_cursor_keeps_the_filter_and_count(office: Office) -> None:
    q = json.dumps({"status": {"$ne": "נסגר"}}, ensure_ascii=False)
    first = office.get(q=q, sort="price", limit=2, count="true")
    assert first.headers["x-total-count"] == "5"
    records, pages = walk(office.client, office.headers, {"q": q, "sort": "price", "limit": 2})
    expected = [label for label in expected_order(office, [("price", False)]) if label != "p4"]
    assert [office.labels[r["id"]] for r in records] == expected
    assert pages == 3


def test_no_next_cursor_on_the_last_page(office: Office) -> None:
    assert "x-next-cursor" not in office.get(limit=6).headers
    assert "x-next-cursor" not in office.get(limit=10).headers
    assert office.get(limit=5).headers["x-next-cursor"]
    last = office.get(limit=5, cursor=office.get(limit=5).headers["x-next-cursor"])
    assert len(last.json()) == 1 and "x-next-cursor" not in last.headers
