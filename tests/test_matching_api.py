"""POST /api/automation/generate-matches (API.md §6.1) on both databases: stored matches, re-runs, bad input."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import Client, Match, Property
from backend.models.base import new_id
from backend.services.matching import rematch_after_write
from backend.services.matching.store import NewMatch, insert_matches
from tests.conftest import assert_error

URL = "/api/automation/generate-matches"
BUYER = {"request_category": "קנייה", "city": "תל אביב", "budget": 2_000_000, "rooms": "3", "area": "פלורנטין"}
FLAT = {"listing_type": "מכירה", "city": "תל אביב", "price": 1_900_000, "rooms": "3", "area": "פלורנטין"}


def add(model: type[Any], **fields: Any) -> str:
    with get_sessionmaker()() as session:
        record = model(id=new_id(), **fields)
        session.add(record)
        session.commit()
        return str(record.id)


def change(model: type[Any], record_id: str, **fields: Any) -> None:
    with get_sessionmaker()() as session:
        session.execute(update(model).where(model.id == record_id).values(**fields))
        session.commit()


def stored() -> dict[tuple[str, str], Match]:
    with get_sessionmaker()() as session:
        return {(m.client_id, m.property_id): m for m in session.scalars(select(Match))}  # type: ignore[misc]


def run(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_first_run_stores_matches_and_second_run_changes_nothing(client: Any, agent: dict[str, Any]) -> None:
    buyer = add(Client, **BUYER)
    renter = add(Client, request_category="השכרה", city="חיפה", area="כרמל", budget=5_000, rooms="2", parking=True)
    flat = add(Property, **FLAT)
    dearer = add(Property, **{**FLAT, "price": 2_100_000, "area": "יפו"})  # 110 %: 20 + rooms 20 = 40 < 60
    rental = add(Property, listing_type="rent", city=" חיפה", area="כרמל", price=5_500, rooms="2.5", parking=True)
    add(Property, listing_type="מכירה", city="חיפה", price=5_000, rooms="2")  # for sale: never the renter's

    first = run(client, agent["headers"])
    assert {k: first[k] for k in ("created", "updated", "unchanged", "removed", "kept", "dry_run", "min_score")} == {
        "created": 2, "updated": 0, "unchanged": 0, "removed": 0, "kept": 0, "dry_run": False, "min_score": 60,
    }  # fmt: skip
    assert first["evaluated_pairs"] == 3  # buyer×flat, buyer×dearer, renter×rental: never the wrong deal
    assert [(m["client_id"], m["property_id"], m["match_score"]) for m in first["matches"]] == [
        (buyer, flat, 85),
        (renter, rental, 70),
    ]
    best = first["matches"][0]
    assert best["reasons"] == ["price within budget", "area matches", "rooms match"]
    assert best["status"] == "new" and re.fullmatch(r"[0-9a-f]{24}", best["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", best["created_date"])
    assert first["matches"][1]["reasons"] == [
        "price within 110% of budget",
        "area matches",
        "rooms within one",
        "1 of 1 requested amenities: parking",
    ]

    rows = stored()
    assert set(rows) == {(buyer, flat), (renter, rental)}
    row = rows[(buyer, flat)]
    assert (row.id, row.match_score, row.status, row.version, row.extra, row.created_by) == (
        best["id"], 85, "new", 1, {}, None,
    )  # fmt: skip
    assert (buyer, dearer) not in rows

    second = run(client, agent["headers"])
    assert (second["created"], second["updated"], second["unchanged"], second["removed"]) == (0, 0, 2, 0)
    assert second["matches"] == []
    again = stored()
    assert {k: (m.id, m.version, m.updated_date, m.match_score) for k, m in again.items()} == {
        k: (m.id, m.version, m.updated_date, m.match_score) for k, m in rows.items()
    }


def test_a_changed_score_updates_reasons_and_version_but_never_status(client: Any, agent: dict[str, Any]) -> None:
    buyer = add(Client, **BUYER)
    flat = add(Property, **FLAT)
    run(client, agent["headers"])
    before = stored()[(buyer, flat)]
    change(Match, before.id, status="sent")  # an agent sent it to the client

    change(Property, flat, price=2_150_000)  # now above budget, within 110 %: 20 + 25 + 20
    result = run(client, agent["headers"])
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 0)
    assert result["matches"][0]["match_score"] == 65 and result["matches"][0]["status"] == "sent"
    after = stored()[(buyer, flat)]
    assert (after.id, after.match_score, after.status, after.version) == (before.id, 65, "sent", 2)
    assert after.reasons == ["price within 110% of budget", "area matches", "rooms match"]
    assert after.updated_date > before.updated_date and after.created_date == before.created_date


def test_pairs_that_no_longer_qualify_go_only_while_new_and_untouched(client: Any, agent: dict[str, Any]) -> None:
    buyer = add(Client, **BUYER)
    props = {name: add(Property, **FLAT) for name in ("closed", "deleted", "sent", "noted", "manual", "trashed")}
    props["moved"] = add(Property, **FLAT)
    assert run(client, agent["headers"])["created"] == 7
    ids = {name: stored()[(buyer, pid)].id for name, pid in props.items()}
    change(Match, ids["sent"], status="sent")
    change(Match, ids["noted"], extra={"note": "call back"})
    change(Match, ids["manual"], created_by="agent@example.com")
    change(Match, ids["trashed"], deleted_at=dt.datetime(2025, 1, 1))
    change(Property, props["closed"], status="נסגר")
    change(Property, props["deleted"], deleted_at=dt.datetime(2025, 1, 1))
    for name in ("sent", "noted", "manual", "trashed", "moved"):
        change(Property, props[name], city="חיפה")  # none of them qualifies any more

    result = run(client, agent["headers"])
    assert (result["created"], result["updated"], result["unchanged"], result["removed"], result["kept"]) == (
        0, 0, 0, 3, 4,
    )  # fmt: skip
    left = {pid for (_, pid) in stored()}
    assert left == {props["sent"], props["noted"], props["manual"], props["trashed"]}
    assert stored()[(buyer, props["sent"])].status == "sent"

    change(Property, props["trashed"], city="תל אביב")  # qualifies again, but the agent deleted that match
    result = run(client, agent["headers"])
    assert (result["created"], result["kept"]) == (0, 4)
    assert stored()[(buyer, props["trashed"])].deleted_at is not None
    # A soft-deleted record is not an unknown id: it is matched like a closed one (nothing left to remove).
    assert run(client, agent["headers"], property_ids=[props["deleted"]])["evaluated_pairs"] == 0


def test_a_closed_client_loses_its_untouched_matches(client: Any, agent: dict[str, Any]) -> None:
    buyer = add(Client, **BUYER)
    add(Property, **FLAT)
    run(client, agent["headers"])
    change(Client, buyer, status="עסקה נסגרה")
    result = run(client, agent["headers"], client_ids=[buyer])
    assert (result["removed"], result["evaluated_pairs"]) == (1, 0)
    assert stored() == {}


def test_dry_run_reports_and_writes_nothing(client: Any, agent: dict[str, Any]) -> None:
    buyer = add(Client, **BUYER)
    flat = add(Property, **FLAT)
    gone = add(Property, **FLAT)
    dry = run(client, agent["headers"], dry_run=True)
    assert (dry["created"], dry["dry_run"]) == (2, True)
    assert [m["id"] for m in dry["matches"]] == [None, None]
    assert stored() == {}

    run(client, agent["headers"])
    before = {k: (m.id, m.version, m.match_score) for k, m in stored().items()}
    change(Property, flat, price=2_150_000)
    change(Property, gone, status="נסגר")
    dry = run(client, agent["headers"], dry_run=True, min_score=0)
    assert (dry["created"], dry["updated"], dry["removed"]) == (0, 1, 1)
    assert dry["matches"][0]["match_score"] == 65
    assert {k: (m.id, m.version, m.match_score) for k, m in stored().items()} == before
    assert (buyer, gone) in stored()


def test_scoped_runs_touch_only_their_records(client: Any, agent: dict[str, Any]) -> None:
    first = add(Client, **BUYER)
    second = add(Client, **BUYER)
    flat = add(Property, **FLAT)
    other = add(Property, **FLAT)
    assert run(client, agent["headers"], client_ids=[first])["created"] == 2
    assert set(stored()) == {(first, flat), (first, other)}
    assert run(client, agent["headers"], property_ids=[flat])["created"] == 1  # second × flat
    result = run(client, agent["headers"], client_ids=[second], property_ids=[other])
    assert (result["created"], result["evaluated_pairs"]) == (1, 1)
    assert len(stored()) == 4

    change(Property, other, city="חיפה")
    result = run(client, agent["headers"], property_ids=[flat])  # other's matches are not this run's business
    assert (result["removed"], result["unchanged"]) == (0, 2)
    assert run(client, agent["headers"], property_ids=[other])["removed"] == 2
    assert set(stored()) == {(first, flat), (second, flat)}


def test_min_score_filters_what_is_stored(client: Any, agent: dict[str, Any]) -> None:
    add(Client, **BUYER)
    add(Property, **{**FLAT, "area": "יפו"})  # 40 + 20 = 60
    assert run(client, agent["headers"], min_score=61)["created"] == 0
    assert run(client, agent["headers"], min_score=60)["created"] == 1
    assert run(client, agent["headers"], min_score=100)["removed"] == 1
    assert run(client, agent["headers"], min_score=0)["created"] == 1


def test_unknown_ids_answer_404_listing_them(client: Any, agent: dict[str, Any]) -> None:
    buyer = add(Client, **BUYER)
    add(Property, **FLAT)
    body = assert_error(
        client.post(URL, json={"client_ids": [buyer, "nope1"], "property_ids": ["nope2"]}, headers=agent["headers"]),
        404,
        "not_found",
    )
    assert "nope1" in body["message"] and "nope2" in body["message"] and buyer not in body["message"]
    assert stored() == {}


@pytest.mark.parametrize(
    "body",
    [
        {"min_score": -1},
        {"min_score": 101},
        {"min_score": "abc"},
        {"min_score": 60.5},
        {"min_score": True},
        {"min_score": None},
        {"client_ids": "abc"},
        {"client_ids": [1, 2]},
        {"property_ids": [""]},
        {"property_ids": ["x" * 65]},
        {"client_ids": ["a\u0000b"]},  # PostgreSQL refuses NUL in any text: no id can hold it
        {"property_ids": ["../x"]},
        {"property_ids": ["a b"]},
        {"dry_run": "perhaps"},
        [1, 2],
    ],
)
def test_bad_bodies_answer_422(client: Any, agent: dict[str, Any], body: Any) -> None:
    add(Client, **BUYER)
    add(Property, **FLAT)
    assert_error(client.post(URL, json=body, headers=agent["headers"]), 422, "validation_error")
    assert stored() == {}


def test_no_body_means_everything_and_a_token_is_needed(client: Any, agent: dict[str, Any]) -> None:
    add(Client, **BUYER)
    add(Property, **FLAT)
    assert_error(client.post(URL), 401, "unauthorized")
    response = client.post(URL, headers=agent["headers"])
    assert response.status_code == 200 and response.json()["created"] == 1
    assert_error(client.post(URL, content=b"{not json", headers={**agent["headers"], "Content-Type": "application/json"}), 422, "validation_error")  # fmt: skip


def test_garbage_fields_are_skipped_with_a_reason(client: Any, agent: dict[str, Any]) -> None:
    add(Client, **{**BUYER, "rooms": "שלושה", "budget": None})
    add(Property, **{**FLAT, "price": None})
    result = run(client, agent["headers"], min_score=0)
    assert result["matches"][0]["reasons"] == ["budget unknown", "area matches", 'client rooms "שלושה" not understood']
    assert result["matches"][0]["match_score"] == 35


def test_the_hook_rematches_only_when_auto_match_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    buyer = add(Client, **BUYER)
    flat = add(Property, **FLAT)
    rematch_after_write("Property", [flat])  # conftest sets AUTO_MATCH=false
    assert stored() == {}
    monkeypatch.setattr(get_settings(), "auto_match", True)
    rematch_after_write("Property", [flat])
    assert set(stored()) == {(buyer, flat)}
    change(Client, buyer, city="חיפה")
    rematch_after_write("Client", [buyer])
    assert stored() == {}
    rematch_after_write("Client", ["no-such-client"])  # logged, never raised

    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("backend.services.matching.auto.generate_matches", explode)
    with pytest.raises(RuntimeError):  # propagates, so the outbox keeps the work and tries again later
        rematch_after_write("Client", [buyer])


def test_a_pair_stored_meanwhile_by_another_run_is_not_duplicated() -> None:
    """Two runs at once (a hook beside a manual run) may both find a new pair: one row, no error."""
    buyer, flat, other = add(Client, **BUYER), add(Property, **FLAT), add(Property, **FLAT)
    pair = NewMatch(buyer, flat, 85, ("price within budget",))
    with get_sessionmaker()() as session:
        [(first_id, _)] = insert_matches(session, [pair], dt.datetime(2025, 1, 1))
        session.commit()
    with get_sessionmaker()() as session:
        written = insert_matches(session, [pair, NewMatch(buyer, other, 70, ())], dt.datetime(2025, 1, 2))
        session.commit()
    assert [(m.client_id, m.property_id) for _, m in written] == [(buyer, other)]
    rows = stored()
    assert len(rows) == 2 and rows[(buyer, flat)].id == first_id
