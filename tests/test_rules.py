"""Row rules (Base44's `rls`): what a block may say, and what it compiles to for one user — checked against
the database by running the compiled condition over real rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select

from backend.database import get_sessionmaker
from backend.models.base import new_id, utcnow
from backend.services import rules
from backend.services.query.fields import FieldResolver
from backend.services.registry import MODELLED, get_spec
from backend.services.rules import RuleError, Viewer
from tests.conftest import assert_error

AGENT = Viewer(id="u1", email="agent@office.co.il", role="user", app_role="agent", data={"team": "north"})
NO_ROLE = Viewer(id="u2", email="new@office.co.il", role="user")
MANAGER = Viewer(id="u3", email="boss@office.co.il", role="user", app_role="office_manager")
ADMIN = Viewer(id="u4", email="root@office.co.il", role="admin")


def _known(name: str) -> bool:
    return name in {"status", "handler", "created_by", "team", "price"}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"reed": True}, "rls.reed is not an operation"),
        ({"read": {"$where": "1"}}, "unknown operator '$where'"),
        ({"read": {"status": {"$regex2": "x"}}}, "status: unknown operator '$regex2'"),
        ({"read": {"data.nope": "x"}}, "names the field 'data.nope'"),
        ({"read": {"user_condition": {"role": {"$in": ["a"]}}}}, "equality only"),
        ({"read": {"user_condition": {}}}, "user_condition takes an object"),
        ({"read": {"$or": []}}, "$or takes a non-empty list"),
        ({"read": 5}, "a rule is true, false or a condition object"),
        ([], "rls must be an object"),
    ],
)
def test_a_malformed_rule_is_refused_naming_entity_and_rule(block: Any, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules.check_block("Lead", block, _known)
    assert str(caught.value).startswith("Lead") and message in str(caught.value)


GADGET = {"name": "Gadget", "type": "object", "properties": {"x": {"type": "string"}, "n": {"type": "number"}}}


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ({"x": {"$regex": "("}}, "x:"),  # not a regular expression
        ({"x": {"$regex": "(a+)+"}}, "x:"),  # catastrophically slow: refused in q as well
        ({"x": {"$exists": "x"}}, "x:"),
        ({"id": {"$all": 5}}, "id:"),
        ({"created_date": {"$gt": "{{user.email}}"}}, "created_date:"),  # a date compared with an email
        ({"n": {"$gte": "many"}}, "n:"),
        ({"$or": [{"user_condition": {"role": "admin"}}, {"n": {"$in": 3}}]}, "n:"),
    ],
)
def test_a_rule_no_request_could_run_is_refused_when_stored(
    client: Any, admin: dict[str, Any], rule: Any, named: str
) -> None:
    """Stored, it would answer 400 to every non-admin request on the entity; refused at the PUT instead."""
    schema = {**GADGET, "rls": {"read": rule}}
    body = assert_error(
        client.put("/api/admin/schemas/Gadget", json=schema, headers=admin["headers"]), 400, "bad_request"
    )
    assert "Gadget: rls.read" in body["message"] and named in body["message"], body
    stored = client.get("/api/admin/schemas/Gadget", headers=admin["headers"]).json()
    assert "x" not in str(stored.get("schema", stored)), stored  # nothing stored


@pytest.mark.parametrize(
    "rule",
    [
        {"created_by": "{{user.email}}"},
        {"x": {"$regex": "^a.*b$"}, "n": {"$gte": 3}},
        {"x": "{{user.data.team}}"},  # a custom user field: its type is the office's, checked at run time
        {"n": {"$lte": "{{user.data.budget}}"}},
        {"$or": [{"created_by_id": "{{user.id}}"}, {"user_condition": {"data.app_role": "office_manager"}}]},
    ],
)
def test_rules_that_compile_are_stored(client: Any, admin: dict[str, Any], rule: Any) -> None:
    schema = {**GADGET, "rls": {"read": rule}}
    answer = client.put("/api/admin/schemas/Gadget", json=schema, headers=admin["headers"])
    assert answer.status_code == 200, answer.text
    stored = client.get("/api/admin/schemas/Gadget", headers=admin["headers"]).json()
    assert "x" in str(stored.get("schema", stored)), stored


def test_every_declared_block_is_valid() -> None:
    rules.check_declared()
    assert rules.rule_for(MODELLED["PropertyBrokerage"].rls, "delete") == {"user_condition": {"data.app_role": "admin"}}
    assert rules.rule_for(MODELLED["Matches"].rls, "update") == rules.rule_for(MODELLED["Matches"].rls, "write")
    assert rules.rule_for(MODELLED["Contact"].rls, "delete") is None  # no block: open


def _decide(entity: str, op: str, viewer: Viewer) -> Any:
    spec = get_spec(entity)
    return rules.condition(
        rules.rule_for(spec.rls, op), viewer, FieldResolver(None, spec, strict=False, dialect="sqlite")
    )


@pytest.mark.parametrize(
    ("entity", "op", "viewer", "allowed"),
    [
        ("PropertyBrokerage", "read", AGENT, True),
        ("PropertyBrokerage", "create", AGENT, True),
        ("PropertyBrokerage", "create", NO_ROLE, True),  # no app_role is an agent, as in the app
        ("PropertyBrokerage", "update", AGENT, False),
        ("PropertyBrokerage", "update", MANAGER, True),
        ("PropertyBrokerage", "delete", MANAGER, False),
        ("PropertyBrokerage", "delete", ADMIN, True),  # the server's admin passes every rule
        ("MarketingLead", "read", AGENT, False),
        ("MarketingLead", "read", MANAGER, True),
        ("Tenant", "read", AGENT, True),
        ("Tenant", "update", AGENT, False),
        ("Project", "read", AGENT, False),
        ("Contact", "delete", AGENT, True),
    ],
)
def test_the_office_defaults_decide_by_app_role(entity: str, op: str, viewer: Viewer, allowed: bool) -> None:
    assert _decide(entity, op, viewer) is allowed


def test_templates_and_record_fields_compile_to_sql_that_selects_the_right_rows() -> None:
    spec = get_spec("Task")
    rows = [
        {"title": "mine", "created_by": AGENT.email, "status": "חדשה"},
        {"title": "team", "created_by": "other@x", "status": "חדשה", "extra": {"team": "north"}},
        {"title": "closed", "created_by": AGENT.email, "status": "הושלמה"},
        {"title": "theirs", "created_by": "other@x", "status": "בביצוע"},
    ]
    with get_sessionmaker()() as session:
        now = utcnow()
        session.execute(
            insert(spec.table),
            [
                {**{f: None for f in spec.fields}, "id": new_id(), "created_date": now, "updated_date": now,
                 "is_sample": False, "version": 1, "extra": {}, **row}
                for row in rows
            ],
        )  # fmt: skip
        session.commit()
        rule = {
            "$and": [
                {"status": {"$ne": "הושלמה"}},
                {"$or": [{"created_by": "{{user.email}}"}, {"data.team": "{{user.data.team}}"}]},
            ]
        }
        resolver = FieldResolver(session, spec, strict=False)
        cond = rules.condition(rule, AGENT, resolver)
        assert not isinstance(cond, bool)
        titles = session.scalars(select(spec.model.title).where(cond).order_by(spec.model.title)).all()
        assert titles == ["mine", "team"]
        nobody = rules.condition({"$nor": [{"created_by": "{{user.email}}"}, {"status": "בביצוע"}]}, AGENT, resolver)
        assert not isinstance(nobody, bool)
        assert session.scalars(select(spec.model.title).where(nobody)).all() == ["team"]
        # a user condition decides without SQL: false for this user, so the whole $and is false
        assert rules.condition({"user_condition": {"role": "admin"}, "status": "x"}, AGENT, resolver) is False
        assert rules.condition({"$or": [{"user_condition": {"email": "{{user.email}}"}}]}, AGENT, resolver) is True
