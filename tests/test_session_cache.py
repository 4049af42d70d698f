"""The session check's answer is reused (services/session_cache.py) and forgotten whenever what it read changes:
at once in the process that changed it, by PostgreSQL's notification in every other, and never used while
this process cannot hear those notifications."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from backend.config import get_settings
from backend.database import get_engine
from backend.services import session_cache
from backend.services.security import decode_access_token
from tests.conftest import IS_POSTGRES, assert_error, make_user
from tests.whatsapp_support import wait_for

pg_only = pytest.mark.skipif(not IS_POSTGRES, reason="the cache is used on PostgreSQL only")


def _elsewhere(sql: str, params: dict[str, Any], *, silently: bool = False) -> None:
    """A write as another process makes it: its own connection, no ORM (so no hook of this process sees it).
    `silently`: with triggers off for the transaction, so PostgreSQL notifies nobody."""
    with get_engine().begin() as conn:
        if silently:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(text(sql), params)


def _me(client: Any, user: dict[str, Any]) -> int:
    return int(client.get("/api/auth/me", headers=user["headers"]).status_code)


def test_logout_and_a_disabled_user_end_the_session_at_once_in_this_process(client: Any, admin: Any) -> None:
    agent = make_user("a@example.com")
    login = client.post("/api/auth/login", data={"username": "a@example.com", "password": "password-123"})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    for _ in range(3):  # checked, then (PostgreSQL) remembered
        assert client.get("/api/auth/me", headers=headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert_error(client.get("/api/auth/me", headers=headers), 401, "unauthorized")

    assert _me(client, agent) == 200
    disabled = client.put(f"/api/users/{agent['id']}", json={"disabled": True}, headers=admin["headers"])
    assert disabled.status_code == 200, disabled.text
    assert_error(client.get("/api/auth/me", headers=agent["headers"]), 401, "unauthorized")


@pg_only
def test_a_session_is_remembered_until_postgresql_says_it_changed(client: Any) -> None:
    wait_for(session_cache.in_use, 10, "the LISTEN connection")
    agent = make_user("a@example.com")
    assert _me(client, agent) == 200
    # Disabled behind the process's back, triggers off: no notification, so the remembered answer stands.
    # This is what proves the check is not asked again on every request.
    _elsewhere("UPDATE users SET disabled = true WHERE id = :id", {"id": agent["id"]}, silently=True)
    assert _me(client, agent) == 200
    # The same change as any other process makes it: the trigger notifies, every process forgets.
    _elsewhere("UPDATE users SET disabled = true WHERE id = :id", {"id": agent["id"]})
    wait_for(lambda: _me(client, agent) == 401, 5, "the notified process to end the session")

    other = make_user("b@example.com")
    assert _me(client, other) == 200
    _elsewhere("INSERT INTO revoked_tokens (jti, expires_at) VALUES (:jti, now() + interval '1 day')",
               {"jti": decode_access_token(other["token"]).jti})  # fmt: skip
    wait_for(lambda: _me(client, other) == 401, 5, "a logout made elsewhere to end the session")


@pg_only
def test_nothing_is_remembered_while_the_process_cannot_hear_postgresql(client: Any) -> None:
    wait_for(session_cache.in_use, 10, "the LISTEN connection")
    agent = make_user("a@example.com")
    assert _me(client, agent) == 200
    session_cache.trust(False)  # as when the LISTEN connection drops
    try:
        _elsewhere("UPDATE users SET disabled = true WHERE id = :id", {"id": agent["id"]}, silently=True)
        assert _me(client, agent) == 401  # asked again, though nobody was told
    finally:
        session_cache.trust(True)


def test_a_check_that_overlaps_a_change_keeps_nothing(monkeypatch: Any) -> None:
    monkeypatch.setattr(session_cache, "_trusted", True)
    monkeypatch.setattr(session_cache, "_entries", {})
    since = session_cache.epoch()
    session_cache.remember("kept", "row", since)
    assert session_cache.recall("kept") == "row"
    session_cache.forget()  # a commit changed users while a check was reading them
    session_cache.remember("stale", "old row", since)
    assert session_cache.recall("stale") is session_cache.UNKNOWN
    assert session_cache.recall("kept") is session_cache.UNKNOWN  # everything went
    monkeypatch.setattr(get_settings(), "session_cache_seconds", 0.0)  # SESSION_CACHE_SECONDS=0: never kept
    session_cache.remember("off", "row", session_cache.epoch())
    assert session_cache.recall("off") is session_cache.UNKNOWN


def test_it_holds_a_bounded_number_of_sessions(monkeypatch: Any) -> None:
    monkeypatch.setattr(session_cache, "_trusted", True)
    monkeypatch.setattr(session_cache, "_entries", {})
    monkeypatch.setattr(session_cache, "MAX_ENTRIES", 3)
    for n in range(5):
        session_cache.remember(n, f"row {n}", session_cache.epoch())
    assert [session_cache.recall(n) for n in range(5)][2:] == ["row 2", "row 3", "row 4"]
    assert len(session_cache._entries) == 3
