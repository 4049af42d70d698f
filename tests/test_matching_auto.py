"""AUTO_MATCH (API.md §6.1): creating or updating a Property or Client through the entity routes re-matches
just that record after the commit; a failing re-match never fails the write."""

from __future__ import annotations

from typing import Any

import pytest

from backend.config import get_settings

BUYER = {"request_category": "קנייה", "city": "תל אביב", "budget": 2_000_000, "rooms": "3", "area": "פלורנטין"}
FLAT = {"listing_type": "מכירה", "city": "תל אביב", "price": 1_900_000, "rooms": "3", "area": "פלורנטין"}


def matches(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
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


def test_a_failing_rematch_never_fails_the_write(
    client: Any, agent: dict[str, Any], auto_match: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("matching is broken")

    monkeypatch.setattr("backend.services.matching.auto.generate_matches", explode)
    create(client, agent["headers"], "clients", BUYER)
    flat = create(client, agent["headers"], "properties", FLAT)
    assert client.get(f"/api/properties/{flat}", headers=agent["headers"]).status_code == 200
    assert matches(client, agent["headers"]) == []
