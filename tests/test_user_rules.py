"""The users service's rules, the same on both surfaces: never zero enabled admins, never delete yourself,
and a disabled account's sign-in indistinguishable from a wrong password."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.models.user import User
from tests.conftest import assert_error, make_user

B44 = "/api/apps/a1/entities/User"


def _enabled_admins() -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).where(User.role == "admin", User.disabled.is_(False))) or 0)


def _update(client: Any, surface: str, actor: dict[str, Any], target_id: str, body: dict[str, Any]) -> Any:
    if surface == "rest":
        return client.put(f"/api/users/{target_id}", headers=actor["headers"], json=body)
    return client.put(f"{B44}/{target_id}", headers=actor["headers"], json=body)


def _list(client: Any, surface: str, actor: dict[str, Any], q: str | None = None) -> Any:
    params = {"q": q} if q is not None else None
    return client.get("/api/users" if surface == "rest" else B44, headers=actor["headers"], params=params)


def _delete(client: Any, surface: str, actor: dict[str, Any], target_id: str) -> Any:
    if surface == "rest":
        return client.delete(f"/api/users/{target_id}", headers=actor["headers"])
    return client.delete(f"{B44}/{target_id}", headers=actor["headers"])


@pytest.mark.parametrize("surface", ["rest", "base44"])
def test_deleting_your_own_account_is_refused(client: Any, admin: dict[str, Any], surface: str) -> None:
    make_user("second-admin@example.com", role="admin")  # not the last admin: the rule is about yourself
    body = assert_error(_delete(client, surface, admin, admin["id"]), 409, "conflict")
    assert "your own account" in body["message"]
    assert client.get("/api/auth/me", headers=admin["headers"]).status_code == 200


@pytest.mark.parametrize("surface", ["rest", "base44"])
@pytest.mark.parametrize("change", [{"role": "user"}, {"disabled": True}, {"role": "user", "disabled": True}])
def test_the_last_admin_cannot_demote_or_disable_themselves(
    client: Any, admin: dict[str, Any], surface: str, change: dict[str, Any]
) -> None:
    body = assert_error(_update(client, surface, admin, admin["id"], change), 409, "conflict")
    assert "no enabled administrator" in body["message"]
    assert _enabled_admins() == 1
    assert client.get("/api/users", headers=admin["headers"]).status_code == 200  # still an admin


@pytest.mark.parametrize("surface", ["rest", "base44"])
def test_with_another_admin_the_rules_allow_what_leaves_one(client: Any, admin: dict[str, Any], surface: str) -> None:
    other = make_user("other-admin@example.com", role="admin")
    disabled_admin = make_user("asleep@example.com", role="admin", disabled=True)  # does not count
    assert _update(client, surface, admin, other["id"], {"role": "user"}).status_code == 200
    # now `admin` is the last enabled one: demoting self is refused
    assert_error(_update(client, surface, admin, admin["id"], {"role": "user"}), 409, "conflict")
    # re-promote the other, then demoting self is fine
    assert _update(client, surface, admin, other["id"], {"role": "admin"}).status_code == 200
    assert _update(client, surface, admin, admin["id"], {"role": "user"}).status_code == 200
    assert _enabled_admins() == 1
    # a disabled admin is not an enabled one: deleting it is fine; deleting yourself never is
    assert _delete(client, surface, other, disabled_admin["id"]).status_code in (200, 204)
    assert_error(_delete(client, surface, other, other["id"]), 409, "conflict")


def test_two_admins_demoting_each_other_at_once_leave_one(client: Any, admin: dict[str, Any]) -> None:
    other = make_user("rival@example.com", role="admin")
    jobs = [(admin, other["id"]), (other, admin["id"])]

    def demote(job: tuple[dict[str, Any], str]) -> int:
        actor, target = job
        return int(client.put(f"/api/users/{target}", headers=actor["headers"], json={"role": "user"}).status_code)

    for _ in range(5):
        with ThreadPoolExecutor(2) as pool:
            statuses = list(pool.map(demote, jobs))
        assert statuses.count(200) <= 1 and set(statuses) <= {200, 401, 403, 409, 503}, statuses
        assert _enabled_admins() == 1
        with get_sessionmaker()() as session:  # both admins again for the next round
            for user in session.scalars(select(User).where(User.id.in_([admin["id"], other["id"]]))):
                user.role = "admin"
            session.commit()


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/apps/a1/auth/login"])
def test_a_disabled_account_answers_the_right_password_like_a_wrong_one(client: Any, path: str) -> None:
    user = make_user("gone@example.com", disabled=True)

    def sign_in(password: str) -> Any:
        if path == "/api/auth/login":
            return client.post(path, data={"username": user["email"], "password": password})
        return client.post(path, json={"email": user["email"], "password": password})

    right, wrong = sign_in(user["password"]), sign_in("not-the-password")
    assert_error(right, 401, "unauthorized")
    assert_error(wrong, 401, "unauthorized")
    assert right.json() == wrong.json()
    assert right.headers.get("www-authenticate") == wrong.headers.get("www-authenticate")


@pytest.mark.parametrize("surface", ["rest", "base44"])
def test_the_user_list_follows_one_rule_on_both_surfaces(client: Any, admin: dict[str, Any], surface: str) -> None:
    """The users service decides who is listed and how `q` narrows it; each surface only passes the caller."""
    agent = make_user("lister-agent@example.com", app_role="agent")
    make_user("lister-manager@example.com", app_role="office_manager")
    everyone = _list(client, surface, admin).json()
    assert {u["email"] for u in everyone} == {admin["email"], agent["email"], "lister-manager@example.com"}
    agents = _list(client, surface, admin, '{"app_role": "agent"}').json()
    assert [u["email"] for u in agents] == [agent["email"]]
    assert _list(client, surface, admin, '{"app_role": "nobody"}').json() == []
    assert_error(_list(client, surface, admin, '{"app_role": {"$ne": "agent"}}'), 400, "bad_request")
    assert_error(_list(client, surface, admin, "not json"), 400, "bad_request")
    mine = _list(client, surface, agent)
    if surface == "rest":  # /api/users is the admins' (API.md §4)
        assert_error(mine, 403, "forbidden")
    else:  # anyone else sees only themselves, whatever `q` names
        assert [u["email"] for u in mine.json()] == [agent["email"]]
        named = _list(client, surface, agent, json.dumps({"email": admin["email"]})).json()
        assert named == []
