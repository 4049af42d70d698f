"""AUTO_MATCH (API.md §6.1): creating, updating, deleting or restoring a Property or Client through the entity
routes re-matches just that record after the commit; purging one removes its matches; a failing hook never
fails the write."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import OutboxEntry
from backend.models.base import utcnow
from backend.services.outbox import drain_all

BUYER = {"request_category": "קנייה", "city": "תל אביב", "budget": 2_000_000, "rooms": "3", "area": "פלורנטין"}
FLAT = {"listing_type": "מכירה", "city": "תל אביב", "price": 1_900_000, "rooms": "3", "area": "פלורנטין"}


def matches(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The matches once the outbox has run (what a drainer does right after each commit)."""
    drain_all()
    response = client.get("/api/matches", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def create(client: Any, headers: dict[str, str], collection: str, body: dict[str, Any]) -> str:
    response = client.post(f"/api/{collection}", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]  # type: ignore[no-any-return]


@pytest.fixture
def auto_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "auto_match", True)


def test_creating_a_property_matches_it_at_once(client: Any, agent: dict[str, Any], auto_match: None) -> None:
    buyer = create(client, agent["headers"], "clients", BUYER)  # no property yet: nothing to match
    assert matches(client, agent["headers"]) == []
    flat = create(client, agent["headers"], "properties", FLAT)
    [match] = matches(client, agent["headers"])
    assert (match["client_id"], match["property_id"], match["match_score"], match["status"]) == (buyer, flat, 85, "new")
    assert match["reasons"] == ["price within budget", "area matches", "rooms match"]


def test_updating_rematches_and_keeps_the_agents_status(client: Any, agent: dict[str, Any], auto_match: None) -> None:
    create(client, agent["headers"], "clients", BUYER)
    flat = create(client, agent["headers"], "properties", FLAT)
    [match] = matches(client, agent["headers"])
    response = client.put(f"/api/matches/{match['id']}", json={"status": "sent"}, headers=agent["headers"])
    assert response.status_code == 200, response.text

    response = client.put(f"/api/properties/{flat}", json={"price": 2_150_000}, headers=agent["headers"])
    assert response.status_code == 200, response.text
    [match] = matches(client, agent["headers"])
    assert (match["match_score"], match["status"]) == (65, "sent")

    untouched = create(client, agent["headers"], "properties", {**FLAT, "area": "יפו"})  # 40 + 20 = 60
    assert len(matches(client, agent["headers"])) == 2
    response = client.put(f"/api/properties/{untouched}", json={"status": "נסגר"}, headers=agent["headers"])
    assert response.status_code == 200, response.text
    assert [m["property_id"] for m in matches(client, agent["headers"])] == [flat]  # the closed one went


def test_a_new_client_is_matched_too(client: Any, agent: dict[str, Any], auto_match: None) -> None:
    flat = create(client, agent["headers"], "properties", FLAT)
    buyer = create(client, agent["headers"], "clients", BUYER)
    assert [(m["client_id"], m["property_id"]) for m in matches(client, agent["headers"])] == [(buyer, flat)]


def test_auto_match_off_matches_nothing(client: Any, agent: dict[str, Any]) -> None:
    create(client, agent["headers"], "clients", BUYER)
    create(client, agent["headers"], "properties", FLAT)
    assert matches(client, agent["headers"]) == []


def outbox_rows() -> list[tuple[str, str, int, str | None]]:
    with get_sessionmaker()() as session:
        rows = session.execute(
            select(OutboxEntry.entity, OutboxEntry.status, OutboxEntry.attempts, OutboxEntry.last_error)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def make_due() -> None:
    """Skip the retry delay: the failed rows are due now."""
    with get_sessionmaker()() as session:
        session.execute(update(OutboxEntry).values(run_after=utcnow() - dt.timedelta(seconds=1)))
        session.commit()


def test_a_failing_rematch_never_fails_the_write_and_is_retried(
    client: Any, agent: dict[str, Any], auto_match: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("matching is broken")

    with monkeypatch.context() as broken:
        broken.setattr("backend.services.matching.auto.generate_matches", explode)
        buyer = create(client, agent["headers"], "clients", BUYER)
        flat = create(client, agent["headers"], "properties", FLAT)
        assert client.get(f"/api/properties/{flat}", headers=agent["headers"]).status_code == 200
        assert matches(client, agent["headers"]) == []
        # the work is kept, with what went wrong, to be tried again later
        assert outbox_rows() == [
            ("Client", "pending", 1, "RuntimeError: matching is broken"),
            ("Property", "pending", 1, "RuntimeError: matching is broken"),
        ]
    make_due()
    assert [(m["client_id"], m["property_id"]) for m in matches(client, agent["headers"])] == [(buyer, flat)]
    assert outbox_rows() == []


# --- deletes, restores and purges ----------------------------------------------------------------------
B44 = "/api/apps/app123/entities"


def pairs(client: Any, headers: dict[str, str]) -> set[tuple[str, str, str]]:
    return {(m["client_id"], m["property_id"], m["status"]) for m in matches(client, headers)}


def set_status(client: Any, headers: dict[str, str], match_id: str, status: str) -> None:
    response = client.put(f"/api/matches/{match_id}", json={"status": status}, headers=headers)
    assert response.status_code == 200, response.text


def touched_and_untouched(client: Any, headers: dict[str, str]) -> tuple[str, str, str, str]:
    """A flat with an agent's `sent` match (buyer) and an untouched `new` one (other), plus another flat."""
    buyer = create(client, headers, "clients", BUYER)
    other = create(client, headers, "clients", {**BUYER, "area": "יפו"})  # 40 + 20 = 60 with the flat
    flat = create(client, headers, "properties", FLAT)
    [sent] = [m for m in matches(client, headers) if m["client_id"] == buyer]
    set_status(client, headers, sent["id"], "sent")
    return buyer, other, flat, sent["id"]


def test_deleting_a_property_drops_its_new_matches_and_restoring_brings_them_back(
    client: Any, agent: dict[str, Any], admin: dict[str, Any], auto_match: None
) -> None:
    buyer, other, flat, sent = touched_and_untouched(client, agent["headers"])
    kept = create(client, agent["headers"], "properties", {**FLAT, "price": 1_800_000})  # not deleted
    assert len(matches(client, agent["headers"])) == 4

    assert client.delete(f"/api/properties/{flat}", headers=agent["headers"]).status_code == 204
    assert pairs(client, agent["headers"]) == {(buyer, flat, "sent"), (buyer, kept, "new"), (other, kept, "new")}

    response = client.post(f"/api/properties/{flat}/restore", headers=admin["headers"])
    assert response.status_code == 200, response.text
    assert pairs(client, agent["headers"]) == {
        (buyer, flat, "sent"), (other, flat, "new"), (buyer, kept, "new"), (other, kept, "new"),
    }  # fmt: skip
    assert [m["id"] for m in matches(client, agent["headers"]) if m["status"] == "sent"] == [sent]


def test_deleting_a_client_drops_its_new_matches_and_restoring_brings_them_back(
    client: Any, agent: dict[str, Any], admin: dict[str, Any], auto_match: None
) -> None:
    buyer, other, flat, _ = touched_and_untouched(client, agent["headers"])
    assert client.delete(f"/api/clients/{other}", headers=agent["headers"]).status_code == 204
    assert client.delete(f"/api/clients/{buyer}", headers=agent["headers"]).status_code == 204
    assert pairs(client, agent["headers"]) == {(buyer, flat, "sent")}

    response = client.post(f"/api/clients/{other}/restore", headers=admin["headers"])
    assert response.status_code == 200, response.text
    assert pairs(client, agent["headers"]) == {(buyer, flat, "sent"), (other, flat, "new")}


def test_base44_delete_many_drops_the_new_matches(
    client: Any, agent: dict[str, Any], admin: dict[str, Any], auto_match: None
) -> None:
    buyer, other, flat, _ = touched_and_untouched(client, agent["headers"])
    response = client.request("DELETE", f"{B44}/Client", json={"area": "יפו"}, headers=admin["headers"])
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "deleted": 1}
    assert pairs(client, agent["headers"]) == {(buyer, flat, "sent")}

    response = client.delete(f"{B44}/Client/{buyer}", headers=agent["headers"])  # the single delete too
    assert response.status_code == 200, response.text
    assert pairs(client, agent["headers"]) == {(buyer, flat, "sent")}  # the agent's match stays
    assert other


@pytest.mark.parametrize("auto", [True, False], ids=["auto_match", "auto_match_off"])
def test_purging_removes_every_match_referencing_it(
    client: Any, agent: dict[str, Any], admin: dict[str, Any], monkeypatch: pytest.MonkeyPatch, auto: bool
) -> None:
    monkeypatch.setattr(get_settings(), "auto_match", auto)
    buyer = create(client, agent["headers"], "clients", BUYER)
    other = create(client, agent["headers"], "clients", {**BUYER, "area": "יפו"})
    third = create(client, agent["headers"], "clients", {**BUYER, "rooms": "4"})
    flat = create(client, agent["headers"], "properties", FLAT)
    kept = create(client, agent["headers"], "properties", {**FLAT, "price": 1_800_000})
    response = client.post("/api/automation/generate-matches", json={}, headers=agent["headers"])
    assert response.status_code == 200, response.text
    by_client = {m["client_id"]: m["id"] for m in matches(client, agent["headers"]) if m["property_id"] == flat}
    set_status(client, agent["headers"], by_client[buyer], "sent")
    assert client.delete(f"/api/matches/{by_client[third]}", headers=agent["headers"]).status_code == 204
    assert client.delete(f"/api/properties/{flat}", headers=agent["headers"]).status_code == 204

    assert client.delete(f"/api/properties/{flat}?purge=true", headers=admin["headers"]).status_code == 204
    live = matches(client, agent["headers"])
    trash = client.get("/api/matches/trash", headers=admin["headers"])
    assert trash.status_code == 200, trash.text
    assert [m for m in live + trash.json() if m["property_id"] == flat] == []
    assert {m["client_id"] for m in live if m["property_id"] == kept} == {buyer, other, third}


def test_auto_match_off_leaves_matches_on_delete(client: Any, agent: dict[str, Any]) -> None:
    create(client, agent["headers"], "clients", BUYER)
    flat = create(client, agent["headers"], "properties", FLAT)
    response = client.post("/api/automation/generate-matches", json={}, headers=agent["headers"])
    assert response.status_code == 200, response.text
    assert client.delete(f"/api/properties/{flat}", headers=agent["headers"]).status_code == 204
    assert [m["property_id"] for m in matches(client, agent["headers"])] == [flat]  # the next run clears it


@pytest.mark.parametrize("purge", [False, True], ids=["delete", "purge"])
def test_a_failing_hook_never_fails_a_delete(
    client: Any,
    admin: dict[str, Any],
    auto_match: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    purge: bool,
) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("matching is broken")

    create(client, admin["headers"], "clients", BUYER)
    flat = create(client, admin["headers"], "properties", FLAT)
    assert len(matches(client, admin["headers"])) == 1
    with monkeypatch.context() as broken:
        broken.setattr("backend.services.matching.auto.generate_matches", explode)
        broken.setattr("backend.services.matching.store.delete_referencing", explode)
        response = client.delete(f"/api/properties/{flat}?purge={str(purge).lower()}", headers=admin["headers"])
        assert response.status_code == 204, response.text
        assert len(matches(client, admin["headers"])) == 1
        assert "matching is broken" in caplog.text  # the hook ran, failed and said so in the log
        assert [(entity, status) for entity, status, _, _ in outbox_rows()] == [("Property", "pending")]
    make_due()
    assert matches(client, admin["headers"]) == []  # retried once the hook works again
