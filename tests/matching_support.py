"""Records and helpers shared by the tests of the brokerage pairings, alerts and reminders.

A test module imports the fixtures it uses as `<name>_fixture` (pytest registers them under `<name>`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import ENTITY_MODELS

B44 = "/api/apps/app123/entities"
FUNCTIONS = "/api/apps/app123/functions"
MATCH_URL = "/api/automation/generate-matches"
# A brokerage buyer and a listing for sale that suit each other: 40 (price) + 25 (area) + 20 (rooms) = 85.
BUYER = {
    "request_category": "קנייה", "desired_property_type": "דירה", "desired_area": "פלורנטין",
    "budget": 2_000_000, "desired_rooms": "3", "city": "", "status": "קונה חדש", "handler": "",
}  # fmt: skip
LISTING = {
    "contact_id": "owner1", "listing_type": "מכירה", "property_type": "דירה", "city": "תל אביב",
    "area": "פלורנטין", "price": 1_900_000, "rooms": "3", "category": "פרטי", "status": "נכס חדש",
}  # fmt: skip


def post(client: Any, headers: dict[str, str], url: str, body: Any, status: int = 201) -> Any:
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def rest(client: Any, headers: dict[str, str], collection: str, body: dict[str, Any]) -> str:
    return str(post(client, headers, f"/api/{collection}", body)["id"])


def b44(client: Any, headers: dict[str, str], entity: str, body: dict[str, Any]) -> str:
    return str(post(client, headers, f"{B44}/{entity}", body)["id"])


def rows(entity: str) -> list[Any]:
    """Every stored row of a declared entity (deleted ones too)."""
    model = ENTITY_MODELS[entity]
    with get_sessionmaker()() as session:
        return list(session.scalars(select(model).order_by(model.created_date, model.id)))


def pairs(entity: str = "MatchesBrokerage") -> dict[tuple[str, str], Any]:
    """(buyer_id, property_id) → the stored match row; fails on a pair stored twice."""
    found: dict[tuple[str, str], Any] = {}
    for row in rows(entity):
        key = (row.buyer_id, row.property_id)
        assert key not in found, f"pair {key} stored twice"
        found[key] = row
    return found


def run(client: Any, headers: dict[str, str], pairing: str = "brokerage", **body: Any) -> dict[str, Any]:
    return post(client, headers, MATCH_URL, {"pairing": pairing, **body}, status=200)  # type: ignore[no-any-return]


@pytest.fixture(name="auto_match")
def auto_match_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "auto_match", True)


@pytest.fixture(name="no_alerts")
def no_alerts_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "match_alerts", "off")
