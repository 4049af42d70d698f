"""Realtime through the real @base44/sdk 0.8.50 from Node (tests/sdk/realtime.mjs) against real uvicorn
processes. On PostgreSQL the subscriber's server is not the one written to: changes cross processes by
LISTEN/NOTIFY — from another uvicorn, and from a separate Python process writing through the entity service.
On SQLite (one process by design) the writes go to the subscriber's own server.

No timing is asserted: events are awaited with a generous bound (a stuck delivery fails, a slow one does not);
scripts/bench_realtime.py measures latency.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

import httpx
import jwt
import orjson
import pytest

from backend.config import get_settings
from tests.conftest import IS_POSTGRES, ROOT, make_user
from tests.test_base44_sdk import NODE, SDK_DIR, sdk_modules  # noqa: F401 (the fixture)
from tests.uvicorn_process import uvicorn_process

APP_ID = "6801309791850cc36c8c709c"
WAIT = 20.0  # seconds: a liveness bound, not a speed claim
SERVER_ENV = {"REALTIME_RECHECK_SECONDS": "1", "JOBS_INAPP": "false"}
pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed: the realtime SDK tests need Node 20+"),
    pytest.mark.usefixtures("sdk_modules"),
]


class Node:
    """The driver in a subprocess; its lines are collected by a thread as they come."""

    def __init__(self, mode: str, server: str, token: str | None, entities: str = "") -> None:
        assert NODE is not None
        env = {**os.environ, "MODE": mode, "SERVER_URL": server, "APP_ID": APP_ID, "ENTITIES": entities}
        env.pop("TOKEN", None)
        if token:
            env["TOKEN"] = token
        self.process = subprocess.Popen(
            [NODE, str(SDK_DIR / "realtime.mjs")], cwd=ROOT, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)

    def wait_for(self, done: Callable[[list[str]], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not done(self.lines):
            if time.monotonic() > deadline:
                pytest.fail(f"gave up waiting for {what}; the driver said:\n" + "\n".join(self.lines[-40:]))
            with suppress(queue.Empty):
                self._new.get(timeout=0.2)

    def events(self, entity: str) -> list[dict[str, Any]]:
        prefix = f"EVENT {entity} "
        return [orjson.loads(line[len(prefix) :]) for line in self.lines if line.startswith(prefix)]

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def node(*args: Any) -> Iterator[Node]:
    driver = Node(*args)
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    """(the subscribers' server, the writers' server): two processes on PostgreSQL, one on SQLite."""
    with ExitStack() as stack:
        first = stack.enter_context(uvicorn_process(SERVER_ENV))
        second = stack.enter_context(uvicorn_process(SERVER_ENV)) if IS_POSTGRES else first
        yield first, second


def _stats(server: str, admin: dict[str, Any]) -> dict[str, Any]:
    return httpx.get(f"{server}/api/admin/realtime", headers=admin["headers"]).json()  # type: ignore[no-any-return]


def _wait_joined(server: str, admin: dict[str, Any], rooms: int) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        stats = _stats(server, admin)
        if stats["rooms"] >= rooms and stats["listening"]:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the subscribers never joined: {stats}")
        time.sleep(0.1)


def _token(user: dict[str, Any], seconds: float) -> str:
    """A token like the server's own, expiring in `seconds`."""
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": user["id"], "email": user["email"], "role": "user", "ver": 1, "iat": now,
              "exp": now + dt.timedelta(seconds=seconds), "jti": secrets.token_hex(16)}  # fmt: skip
    return jwt.encode(claims, get_settings().secret_key, algorithm="HS256")


WRITER = """
import sys
from backend.database import get_sessionmaker
from backend.services import entities
from backend.services.registry import get_spec
spec, actor = get_spec("Task"), entities.Actor(None, "script@example.com", None)
with get_sessionmaker()() as s:
    record, _ = entities.create(s, spec, {"title": "from a script"}, actor); s.commit()
with get_sessionmaker()() as s:
    entities.update_record(s, spec, record["id"], {"title": "changed by a script"}, actor=actor); s.commit()
with get_sessionmaker()() as s:
    entities.create(s, spec, {"title": "rolled back"}, actor); s.rollback()
with get_sessionmaker()() as s:
    entities.soft_delete(s, spec, record["id"], actor=actor); s.commit()
print(record["id"])
"""


def test_subscribers_get_each_change_once_from_any_process_and_only_what_they_may_read(
    servers: tuple[str, str],
) -> None:
    home, other = servers
    admin = make_user("rt-admin@example.com", role="admin")
    agent = make_user("rt-agent@example.com", app_role="agent")
    schema = {"name": "RtNote", "type": "object", "properties": {"title": {"type": "string"}},
              "rls": {"read": {"created_by": "{{user.email}}"}}}  # fmt: skip
    assert httpx.put(f"{other}/api/admin/schemas/RtNote", json=schema, headers=admin["headers"]).status_code < 300
    base = f"{other}/api/apps/{APP_ID}/entities"
    with (
        node("subscribe", home, admin["token"], "Task") as boss,
        node("subscribe", home, agent["token"], "RtNote") as ag,
    ):
        _wait_joined(home, admin, rooms=4)  # each driver: the SDK's socket and the raw one
        with httpx.Client(base_url=base, headers=admin["headers"]) as http:
            task = http.post("/Task", json={"title": "hello"}).json()
            assert http.put(f"/Task/{task['id']}", json={"title": "hello again"}).status_code == 200
            assert http.delete(f"/Task/{task['id']}").status_code == 200
            assert http.post("/Contact", json={"full_name": "not joined"}).status_code == 201
            hidden = http.post("/RtNote", json={"title": "the boss's"}).json()
        seen = httpx.post(f"{base}/RtNote", json={"title": "mine"}, headers=agent["headers"]).json()
        expected = {("create", task["id"]), ("update", task["id"]), ("delete", task["id"])}
        if IS_POSTGRES:  # another process's commits reach this server by NOTIFY (SQLite: one process only)
            script = subprocess.run(
                [sys.executable, "-c", WRITER], cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=120
            )
            assert script.returncode == 0, script.stderr
            scripted = script.stdout.strip().splitlines()[-1]
            expected |= {("create", scripted), ("update", scripted), ("delete", scripted)}
        boss.wait_for(lambda _: {(e["type"], e["id"]) for e in boss.events("Task")} >= expected, "the Task events")
        ag.wait_for(lambda _: any(e["id"] == seen["id"] for e in ag.events("RtNote")), "the agent's own note")
        time.sleep(1.0)  # room for a duplicate or a stray event to show up
    tasks = Counter((e["type"], e["id"]) for e in boss.events("Task"))
    assert tasks == dict.fromkeys(expected, 1), tasks  # exactly once each; the rolled-back create: never
    update = next(e for e in boss.events("Task") if e == {**e, "type": "update", "id": task["id"]})
    assert update["data"]["title"] == "hello again" and update["timestamp"]
    assert not any("Contact" in line for line in boss.lines), boss.lines  # a room it never joined
    assert {line for line in boss.lines if line.startswith("RAW ")} == {f"RAW entities:{APP_ID}:Task"}
    notes = [(e["type"], e["id"]) for e in ag.events("RtNote")]
    assert notes == [("create", seen["id"])] and hidden["id"] not in str(ag.lines)


def test_revoked_and_expired_tokens_are_disconnected(servers: tuple[str, str]) -> None:
    home, other = servers
    admin = make_user("rt-admin2@example.com", role="admin")
    user = make_user("rt-leaving@example.com")
    with (
        node("subscribe", home, user["token"], "Task") as leaving,
        node("subscribe", home, _token(user, 4), "Task") as brief,
    ):
        leaving.wait_for(lambda lines: "CONNECTED" in lines, "the connection")
        brief.wait_for(lambda lines: "CONNECTED" in lines, "the connection")
        assert httpx.post(f"{other}/api/auth/logout", headers=user["headers"]).status_code == 204
        leaving.wait_for(lambda lines: any(line.startswith("DISCONNECT") for line in lines), "the logout to act")
        brief.wait_for(lambda lines: any(line.startswith("DISCONNECT") for line in lines), "the token to expire")
        assert any("no longer valid" in line for line in leaving.lines if line.startswith("ERROR")), leaving.lines
        assert any("expired" in line for line in brief.lines if line.startswith("ERROR")), brief.lines
    with node("subscribe", home, _token(user, -5), "Task") as expired:  # refused at the handshake
        expired.wait_for(lambda lines: any(line.startswith("CONNECT_ERROR") for line in lines), "the refusal")
    assert _stats(home, admin)["sockets"] == 0


def test_refusals_leave_the_server_unaffected_and_floods_bounded(servers: tuple[str, str]) -> None:
    home, _ = servers
    admin = make_user("rt-admin3@example.com", role="admin")
    with node("probe", home, admin["token"]) as probe:
        probe.wait_for(lambda lines: any(line.startswith("FLOOD_DONE") for line in lines), "the probe")
        said = {line.split(" ", 1)[0]: line for line in probe.lines}
        assert said["NO_TOKEN"].startswith("NO_TOKEN connect_error Not authenticated"), said
        assert said["SIGNED_IN"] == "SIGNED_IN connect"
        assert "another app" in said["OTHER_APP"] and said["OTHER_APP"].startswith("OTHER_APP error")
        for label in ("MALFORMED", "NOT_A_STRING", "BAD_ENTITY"):
            assert said[label].startswith(f"{label} error join refused"), said
        assert said["FLOOD_DONE"] == "FLOOD_DONE true"
        stats = _stats(home, admin)
        assert stats["sockets"] == 1
        assert stats["rooms"] == get_settings().realtime_max_rooms  # 150 joins asked, capped; the flood left none
    assert httpx.get(f"{home}/api/health").status_code == 200
    assert _stats(home, admin)["rooms"] == 0


@pytest.fixture(scope="module")
def slow_recheck() -> Iterator[tuple[str, str]]:
    """Like `servers`, with the routine recheck an hour away: whatever acts sooner is the change itself."""
    env = {**SERVER_ENV, "REALTIME_RECHECK_SECONDS": "3600"}
    with ExitStack() as stack:
        first = stack.enter_context(uvicorn_process(env))
        second = stack.enter_context(uvicorn_process(env)) if IS_POSTGRES else first
        yield first, second


def test_a_logout_or_a_new_role_acts_on_sockets_without_waiting_for_the_routine_check(
    slow_recheck: tuple[str, str],
) -> None:
    """A change to users or logouts (on PostgreSQL from another process) has every socket checked again at
    once: the logged-out canary is dropped, and the manager made an agent stops hearing MarketingLead,
    which only managers read. The canary's drop comes from the same sweep that checks the manager again,
    after the demotion committed, so the order below is not a matter of timing."""
    home, other = slow_recheck
    admin = make_user("rt-admin4@example.com", role="admin")
    manager = make_user("rt-manager@example.com", app_role="office_manager")
    canary = make_user("rt-canary@example.com")
    leads = f"{other}/api/apps/{APP_ID}/entities/MarketingLead"
    with (
        node("subscribe", home, admin["token"], "MarketingLead") as boss,
        node("subscribe", home, manager["token"], "MarketingLead") as demoted,
        node("subscribe", home, canary["token"], "Task") as bird,
    ):
        _wait_joined(home, admin, rooms=6)
        before = httpx.post(leads, json={"full_name": "לפני"}, headers=admin["headers"]).json()
        demoted.wait_for(lambda _: any(e["id"] == before["id"] for e in demoted.events("MarketingLead")), "a lead")
        made_agent = httpx.put(
            f"{other}/api/users/{manager['id']}", json={"app_role": "agent"}, headers=admin["headers"]
        )
        assert made_agent.status_code == 200, made_agent.text
        assert httpx.post(f"{other}/api/auth/logout", headers=canary["headers"]).status_code == 204
        bird.wait_for(lambda lines: any(line.startswith("DISCONNECT") for line in lines), "the logout to act")
        after = httpx.post(leads, json={"full_name": "אחרי"}, headers=admin["headers"]).json()
        boss.wait_for(lambda _: any(e["id"] == after["id"] for e in boss.events("MarketingLead")), "the new lead")
        time.sleep(1.0)  # room for a stray event to show up
    assert [e["id"] for e in demoted.events("MarketingLead")] == [before["id"]], demoted.lines
    assert not any(line.startswith("DISCONNECT") for line in demoted.lines)  # still signed in, hears less
