"""Pairings are data, checked at start-up: an unknown entity, role or field in MATCH_PAIRINGS stops the app
with a message naming the setting and the field; so do alert and reminder settings that cannot work."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from backend.config import Settings, get_settings
from backend.main import create_app
from backend.services.matching import pairings
from backend.services.matching.pairings import DEFAULT_FILE, PairingError

DEFAULTS: list[dict[str, Any]] = json.loads(DEFAULT_FILE.read_text("utf-8"))


@pytest.fixture
def pairing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "pairings.json"
    monkeypatch.setattr(get_settings(), "match_pairings", str(path))
    pairings.reload()
    yield path
    monkeypatch.undo()
    pairings.reload()


def test_the_defaults_pair_the_office_entities_and_the_seeds() -> None:
    found = {p.name: p for p in pairings.pairings()}
    assert sorted(found) == ["brokerage", "renters", "seed"]
    brokerage = found["brokerage"]
    assert (brokerage.offer.entity, brokerage.seek.entity, brokerage.result.entity) == (
        "PropertyBrokerage", "BuyersBrokerage", "MatchesBrokerage",
    )  # fmt: skip
    assert brokerage.seek.fields["area"] == "desired_area" and brokerage.result.fields["seek_id"] == "buyer_id"
    assert brokerage.result.new_status == "הותאם" and found["seed"].result.new_status == "new"
    assert "סגר עסקה" in found["renters"].seek.closed and "city" not in found["renters"].seek.fields


def _broken(change: Any) -> list[dict[str, Any]]:
    data = copy.deepcopy(DEFAULTS)
    change(data[0])
    return data


BAD = {
    "unknown entity": (
        _broken(lambda p: p["seek"].update(entity="Buyers")),
        "pairing 'brokerage'.seek.entity: unknown entity 'Buyers'",
    ),
    "unknown field": (
        _broken(lambda p: p["seek"]["fields"].update(area="desired_areaa")),
        "pairing 'brokerage'.seek.fields: area names 'desired_areaa', which is not a declared field of BuyersBrokerage",
    ),
    "unknown role": (_broken(lambda p: p["offer"]["fields"].update(floor="floor")), "unknown role 'floor'"),
    "wrong kind": (
        _broken(lambda p: p["offer"]["fields"].update(price="image_urls")),
        "price → PropertyBrokerage.image_urls is list; it must be one of ['float', 'int', 'str']",
    ),
    "amenity not boolean": (
        _broken(lambda p: p["offer"]["fields"]["amenities"].update(parking="city")),
        "parking → PropertyBrokerage.city is str",
    ),
    "missing result role": (_broken(lambda p: p["result"]["fields"].pop("score")), "result.fields: score is required"),
    "wrong reference": (
        _broken(lambda p: p["seek"].update(entity="BuyersRenters", fields={"budget": "budget"})),
        "seek_id → MatchesBrokerage.buyer_id refers to BuyersBrokerage, not BuyersRenters",
    ),
    "no unique pair": (
        _broken(
            lambda p: p["result"].update(
                entity="MarketingLog",
                fields={"offer_id": "phone_number", "seek_id": "batch_id", "score": "attempts", "status": "status"},
            )
        ),
        'MarketingLog must declare "x-unique": [["batch_id", "phone_number"]] in backend/entities/MarketingLog.json',
    ),
    "no new status": (_broken(lambda p: p["result"].pop("new_status")), "result.new_status"),
    "duplicate name": (_broken(lambda p: p.update(name="seed")), "pairing 3.name: 'seed' must be a unique identifier"),
    "not a list": ({"name": "x"}, "top level: must be a non-empty JSON list"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_pairing_file_stops_the_start_naming_the_setting_and_field(pairing_file: Path, case: str) -> None:
    data, expected = BAD[case]
    pairing_file.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with pytest.raises(PairingError) as failure:
        create_app()
    message = str(failure.value)
    assert message.startswith(f"MATCH_PAIRINGS ({pairing_file}): "), message
    assert expected in message, message


def test_a_missing_or_broken_file_is_named(pairing_file: Path) -> None:
    with pytest.raises(PairingError, match=r"MATCH_PAIRINGS \(.*pairings.json\): cannot read the file"):
        create_app()
    pairing_file.write_text("[{", "utf-8")
    pairings.reload()
    with pytest.raises(PairingError, match="not valid JSON"):
        create_app()


def test_another_file_replaces_the_defaults(pairing_file: Path) -> None:
    pairing_file.write_text(json.dumps([DEFAULTS[0]], ensure_ascii=False), "utf-8")
    assert [p.name for p in pairings.pairings()] == ["brokerage"]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"match_alerts": "whatsapp"}, "MATCH_ALERT_WHATSAPP_TEMPLATE is empty"),
        ({"match_alerts": "sms"}, "MATCH_ALERTS: unknown channel 'sms'"),
        ({"office_timezone": "Asia/Tel_Aviv_Nowhere"}, "OFFICE_TIMEZONE: unknown time zone"),
        ({"match_max_new_per_seeker": 0}, "match_max_new_per_seeker"),
        ({"meeting_reminder_hours": -1}, "meeting_reminder_hours"),
    ],
)
def test_settings_that_cannot_work_are_refused(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(**settings)
    assert Settings(match_alerts="WhatsApp, email", match_alert_whatsapp_template="t").alert_channels == (
        "email",
        "whatsapp",
    )
