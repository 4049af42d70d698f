"""The outbox: a write and its after-write work land together or not at all; the work runs after the
commit, durably, once per entry, and is retried when it fails."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.database import get_sessionmaker
from backend.models import Contact, OutboxEntry
from backend.services import entities, hooks, outbox
from tests.conftest import assert_error, make_user

APP = "/api/apps/app123/entities"


def _count(model: Any) -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str], str]]:
    calls: list[tuple[str, list[str], str]] = []
    monkeypatch.setattr(hooks, "_hooks", {"Contact": [lambda entity, ids, kind: calls.append((entity, ids, kind))]})
    return calls


def test_a_write_and_its_outbox_entry_commit_together(client: Any, admin: dict[str, Any], seen: list[Any]) -> None:
    created = client.post(f"{APP}/Contact", json={"full_name": "דנה"}, headers=admin["headers"]).json()
    assert _count(OutboxEntry) == 1 and seen == []  # recorded with the write, not run inside the request
    assert outbox.drain_all() == 1
    assert seen == [("Contact", [created["id"]], "write")] and _count(OutboxEntry) == 0
    assert outbox.drain_all() == 0 and len(seen) == 1  # once per entry


def test_a_request_failing_half_way_writes_neither_records_nor_outbox(
    client: Any, admin: dict[str, Any], seen: list[Any]
) -> None:
    first = client.post(f"{APP}/Contact", json={"full_name": "א"}, headers=admin["headers"]).json()
    outbox.drain_all()
    seen.clear()
    # bulkUpdate: the first item is written (and its outbox entry added), the second is refused → all rolls back
    body = [{"id": first["id"], "full_name": "שונה"}, {"id": first["id"], "full_name": 5}]
    response = client.put(f"{APP}/Contact/bulk", json=body, headers=admin["headers"])
    assert response.status_code == 422, response.text
    assert _count(OutboxEntry) == 0
    assert client.get(f"{APP}/Contact/{first['id']}", headers=admin["headers"]).json()["full_name"] == "א"
    assert outbox.drain_all() == 0 and seen == []
    assert _count(Contact) == 1


def test_an_entity_without_after_write_work_records_nothing(client: Any, admin: dict[str, Any]) -> None:
    client.post(f"{APP}/Supplier", json={"name": "אינסטלטור"}, headers=admin["headers"])
    assert _count(OutboxEntry) == 0


def test_the_in_app_drainer_runs_the_work_right_after_the_commit(
    admin: dict[str, Any], seen: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from fastapi.testclient import TestClient

    from backend.config import get_settings
    from backend.main import create_app

    done = threading.Event()
    monkeypatch.setattr(hooks, "_hooks", {"Contact": [lambda entity, ids, kind: (seen.append(ids), done.set())]})
    monkeypatch.setattr(get_settings(), "jobs_inapp", True)
    with TestClient(create_app()) as live:
        created = live.post(f"{APP}/Contact", json={"full_name": "דנה"}, headers=admin["headers"]).json()
        assert done.wait(10), "the drainer never ran the work"  # woken by the commit, not by its 5 s poll
    assert seen == [[created["id"]]] and _count(OutboxEntry) == 0


# A create rule that depends on the record: only the server can judge it, on the rows it has just written.
LOGBOOK = {
    "name": "Logbook",
    "type": "object",
    "properties": {"title": {"type": "string"}, "team": {"type": "string"}},
    "rls": {"create": {"team": "north"}},
}


def test_a_bulk_create_refused_after_its_insert_keeps_neither_rows_nor_outbox(
    client: Any, admin: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows are inserted and their outbox entry recorded in the request's transaction; then the create rule,
    checked on the written rows, refuses the second one: the request's unit of work rolls all of it back."""
    assert client.put("/api/admin/schemas/Logbook", headers=admin["headers"], json=LOGBOOK).status_code == 200
    calls: list[Any] = []
    monkeypatch.setattr(hooks, "_hooks", {"Logbook": [lambda entity, ids, kind: calls.append(ids)]})
    agent = make_user("north@office.example", app_role="agent")
    in_the_transaction: list[tuple[int, int]] = []
    real_check = entities.check_created

    def check_created(session: Session, spec: Any, actor: Any, ids: list[str]) -> None:
        rows = session.scalar(select(func.count()).select_from(spec.table).where(spec.scope()))
        flushed = session.scalar(select(func.count()).select_from(OutboxEntry)) or 0
        pending = sum(isinstance(entry, OutboxEntry) for entry in session.new)  # flushed by the commit
        in_the_transaction.append((int(rows or 0), int(flushed) + pending))
        real_check(session, spec, actor, ids)

    monkeypatch.setattr(entities, "check_created", check_created)
    items = [{"title": "צפון", "team": "north"}, {"title": "דרום", "team": "south"}]
    response = client.post(f"{APP}/Logbook/bulk", json=items, headers=agent["headers"])
    assert_error(response, 403, "forbidden")
    assert in_the_transaction == [(2, 1)]  # written, with its outbox entry, before the rule refused them
    assert client.get(f"{APP}/Logbook/count", headers=admin["headers"]).json() == {"count": 0}
    assert _count(OutboxEntry) == 0
    assert outbox.drain_all() == 0 and calls == []
    # the same request with only rows the rule allows lands whole, entry and all
    response = client.post(f"{APP}/Logbook/bulk", json=items[:1], headers=agent["headers"])
    assert response.status_code == 201, response.text
    assert client.get(f"{APP}/Logbook/count", headers=admin["headers"]).json() == {"count": 1}
    assert _count(OutboxEntry) == 1 and outbox.drain_all() == 1 and len(calls) == 1
