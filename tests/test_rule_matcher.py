"""The Python twin of the `q` compiler (services/query/matcher.py) that realtime delivery tests read rules with
must select exactly the records the SQL WHERE selects — on this database, for every kind of field and operator."""

from __future__ import annotations

from typing import Any

import pytest

from backend.database import get_sessionmaker
from backend.services import entities
from backend.services.query import select_ids
from backend.services.query.fields import FieldResolver
from backend.services.registry import get_spec
from backend.services.rules import Viewer, allows, fold

RECORDS: list[dict[str, Any]] = [
    {"city": "Holon", "price": 100, "parking": True, "tags": ["a", "b"], "n": 3, "label": "x", "meta": {"k": 1}},
    {"city": "holon", "price": 250, "parking": False, "tags": ["b"], "n": "3", "label": None, "items": [{"q": 2}]},
    {"city": None, "price": None, "tags": [], "n": 7.5, "items": [{"q": 5}, {"q": 1}]},
    {"city": "Tel Aviv", "price": 900, "parking": None, "n": True, "label": "y", "meta": {"k": 2}},
    {"city": "Eilat", "price": 30, "tags": ["c", "a"], "n": 0},
]

QUERIES: list[dict[str, Any]] = [
    {"city": "Holon"},
    {"city": None},
    {"city": {"$ne": "Holon"}},
    {"city": {"$in": ["Holon", None]}},
    {"city": {"$nin": ["Holon", "Eilat"]}},
    {"city": {"$exists": False}},
    {"city": {"$regex": "^hol", "$options": "i"}},
    {"city": {"$not": {"$regex": "o"}}},
    {"price": {"$gt": 99}},
    {"price": {"$lte": "250"}},
    {"price": 100},
    {"price": {"$gte": 30, "$lt": 900}},
    {"parking": True},
    {"parking": {"$ne": False}},
    {"tags": "a"},
    {"tags": ["a", "b"]},
    {"tags": {"$all": ["a", "b"]}},
    {"tags": {"$size": 1}},
    {"tags": {"$in": ["c", "z"]}},
    {"n": 3},
    {"n": "3"},
    {"n": {"$gt": 2}},
    {"n": {"$lt": "4"}},
    {"n": True},
    {"n": {"$exists": True}},
    {"label": {"$ne": None}},
    {"label": {"$in": ["x", None]}},
    {"meta.k": 2},
    {"meta.k": {"$gte": 1}},
    {"items": {"$elemMatch": {"q": {"$gt": 4}}}},
    {"items": {"$elemMatch": {"q": 2}}},
    {"$or": [{"city": "Eilat"}, {"price": {"$gt": 800}}]},
    {"$nor": [{"city": "Holon"}, {"n": {"$gt": 5}}]},
    {"$and": [{"tags": "b"}, {"parking": {"$ne": True}}]},
    {"created_by": "creator@example.com"},
    {"created_date": {"$gte": "2000-01-01"}},
    {"created_date": {"$lt": "2000-01-01T00:00:00Z"}},
    {"id": {"$exists": True}, "price": {"$not": {"$gt": 200}}},
]


@pytest.fixture
def stored() -> list[dict[str, Any]]:
    spec = get_spec("Property")
    actor = entities.Actor("u1", "creator@example.com")
    with get_sessionmaker()() as session:
        records = entities.bulk_create(session, spec, RECORDS, actor)
        session.commit()
        return [entities.get(session, spec, r["id"])[0] for r in records]  # as the API shows them


@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
def test_the_python_matcher_selects_what_the_sql_selects(stored: list[dict[str, Any]], query: dict[str, Any]) -> None:
    spec = get_spec("Property")
    with get_sessionmaker()() as session:
        in_sql = set(select_ids(session, spec, query))
        resolver = FieldResolver(session, spec, strict=False)
        in_python = {r["id"] for r in stored if allows(query, r, resolver)}
    assert in_python == in_sql
    assert in_sql or query in ({"created_date": {"$lt": "2000-01-01T00:00:00Z"}},)  # the queries do select


def test_a_folded_rule_decides_like_the_sql_fold(stored: list[dict[str, Any]]) -> None:
    rule = {"$or": [{"user_condition": {"data.app_role": "office_manager"}}, {"city": "{{user.data.city}}"}]}
    spec = get_spec("Property")
    agent = Viewer(id="a", email="a@example.com", role="user", app_role="agent", data={"city": "Holon"})
    manager = Viewer(id="m", email="m@example.com", role="user", app_role="office_manager")
    assert fold(rule, manager) is True
    folded = fold(rule, agent)
    assert folded == {"city": "Holon"}
    with get_sessionmaker()() as session:
        resolver = FieldResolver(session, spec, strict=False)
        allowed = {r["id"] for r in stored if allows(folded, r, resolver)}
        assert allowed == set(select_ids(session, spec, None, access=folded)) and len(allowed) == 1
