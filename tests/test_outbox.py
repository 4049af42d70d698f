"""The outbox: a write and its after-write work land together or not at all; the work runs after the
commit, durably, once per entry, and is retried when it fails."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.models import Contact, OutboxEntry
from backend.services import hooks, outbox

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
