"""The office's own pairings on both databases: PropertyBrokerage × BuyersBrokerage → MatchesBrokerage and
× BuyersRenters → Matches — the deal rule, the records the pages read, the cap per buyer, one record per
pair whoever made it, and auto-matching after writes through either surface."""

from __future__ import annotations

from typing import Any

import pytest

from backend.config import get_settings
from backend.services.outbox import drain_all
from tests.conftest import assert_error
from tests.matching_support import (  # noqa: F401
    B44,
    BUYER,
    LISTING,
    auto_match_fixture,
    b44,
    pairs,
    post,
    rest,
    rows,
    run,
)


def test_a_buyer_is_paired_with_listings_for_sale_and_a_renter_with_rentals(client: Any, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    buyer = rest(client, h, "buyers_brokerage", BUYER)
    renter = rest(client, h, "buyers_brokerage", {**BUYER, "request_category": "השכרה", "budget": 5_000})
    for_sale = rest(client, h, "property_brokerage", LISTING)
    rental = rest(client, h, "property_brokerage", {**LISTING, "listing_type": "השכרה", "price": 5_500})
    unknown = rest(client, h, "property_brokerage", {**LISTING, "listing_type": None})  # no constraint
    sold = rest(client, h, "property_brokerage", {**LISTING, "status": "נמכר"})  # closed

    result = run(client, h)
    assert (result["pairing"], result["created"], result["removed"]) == ("brokerage", 3, 0)
    stored = pairs()
    assert set(stored) == {(buyer, for_sale), (buyer, unknown), (renter, rental)}  # `unknown` is beyond the rent
    assert (buyer, rental) not in stored and (renter, for_sale) not in stored and (buyer, sold) not in stored
    match = stored[(buyer, for_sale)]
    assert (match.match_score, match.status, match.created_by, match.extra) == (85, "הותאם", None, {})
    assert match.reasons == ["price within budget", "area matches", "rooms match"]
    # The answer lists the records as the page reads them (property_id, buyer_id, match_score, status).
    listed = {(m["buyer_id"], m["property_id"]): m for m in result["matches"]}
    assert listed[(buyer, for_sale)]["match_score"] == 85 and listed[(buyer, for_sale)]["status"] == "הותאם"
    assert listed[(renter, rental)]["reasons"][0] == "price within 110% of budget"
    page = client.get(f"{B44}/MatchesBrokerage", params={"sort": "-created_date"}, headers=h)
    assert page.status_code == 200 and {m["id"] for m in page.json()} == {m.id for m in stored.values()}
    assert run(client, h)["unchanged"] == 3  # a second run changes nothing


def test_the_renters_pairing_writes_matches(client: Any, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    lead = {"request_type": "שכירות", "preferred_property_type": "דירה", "preferred_area": "פלורנטין",
            "preferred_rooms": "3", "budget": 6_000, "status": "ליד חדש"}  # fmt: skip
    renter = rest(client, h, "buyers_renters", lead)
    rest(client, h, "buyers_renters", {**lead, "status": "סגר עסקה"})  # closed: never matched
    rental = rest(client, h, "property_brokerage", {**LISTING, "listing_type": "השכרה", "price": 5_800})
    rest(client, h, "property_brokerage", LISTING)  # for sale: not for a renter
    result = run(client, h, pairing="renters")
    assert result["created"] == 1
    [match] = pairs("Matches").values()
    assert (match.buyer_id, match.property_id, match.match_score, match.status) == (renter, rental, 85, "הותאם")
    assert pairs() == {}  # the brokerage pairing's table is not this run's


def test_the_cap_keeps_the_best_and_never_removes_what_an_agent_touched(
    client: Any, agent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "match_max_new_per_seeker", 2)
    h = agent["headers"]
    buyer = rest(client, h, "buyers_brokerage", BUYER)
    best = rest(client, h, "property_brokerage", LISTING)  # 85
    second = rest(client, h, "property_brokerage", {**LISTING, "rooms": "4"})  # 40 + 25 + 10 = 75
    third = rest(client, h, "property_brokerage", {**LISTING, "price": 2_100_000})  # 20 + 25 + 20 = 65
    fourth = rest(client, h, "property_brokerage", {**LISTING, "area": "יפו"})  # 40 + 20 = 60

    result = run(client, h)
    assert (result["created"], result["capped"], result["max_new_per_seeker"]) == (2, 2, 2)
    assert set(pairs()) == {(buyer, best), (buyer, second)}

    sent = pairs()[(buyer, best)].id
    response = client.put(f"{B44}/MatchesBrokerage/{sent}", json={"status": "נשלח"}, headers=h)
    assert response.status_code == 200, response.text
    result = run(client, h)  # the sent one no longer holds a slot: the next best gets it
    assert (result["created"], result["removed"]) == (1, 0)
    assert set(pairs()) == {(buyer, best), (buyer, second), (buyer, third)}

    # The office's browser creates a pair itself (status הותאם): it holds a slot and is never removed.
    made = post(client, h, f"{B44}/MatchesBrokerage/bulk",
                [{"property_id": fourth, "buyer_id": buyer, "match_score": 85, "status": "הותאם"}])  # fmt: skip
    result = run(client, h)
    assert (result["removed"], result["updated"]) == (1, 1)
    stored = pairs()
    assert set(stored) == {(buyer, best), (buyer, second), (buyer, fourth)}  # 65 went: 60 is an agent's pair
    assert stored[(buyer, best)].status == "נשלח"
    browser = stored[(buyer, fourth)]
    assert (browser.id, browser.match_score, browser.created_by) == (made[0]["id"], 60, agent["email"])
    assert browser.reasons == ["price within budget", "rooms match"]  # the server's score, updated in place
    assert sum(m.status == "הותאם" for m in stored.values()) == 2  # never more new ones than the cap


def test_a_pair_stored_by_the_server_is_answered_to_the_browsers_bulk_create(
    client: Any, agent: dict[str, Any]
) -> None:
    h = agent["headers"]
    buyer = rest(client, h, "buyers_brokerage", BUYER)
    flat = rest(client, h, "property_brokerage", LISTING)
    other = rest(client, h, "property_brokerage", {**LISTING, "area": "יפו", "price": 2_500_000})  # no match
    run(client, h)
    [server] = pairs().values()

    pair = {"property_id": flat, "buyer_id": buyer, "match_score": 85, "status": "הותאם"}
    fresh = {"property_id": other, "buyer_id": buyer, "match_score": 85, "status": "הותאם"}
    answer = post(client, h, f"{B44}/MatchesBrokerage/bulk", [pair, fresh, fresh])
    assert answer[0]["id"] == server.id and answer[0]["reasons"] == server.reasons  # the stored record
    assert answer[1]["id"] == answer[2]["id"] != server.id  # a repeat within the batch: one record
    assert len(rows("MatchesBrokerage")) == 2 and len(pairs()) == 2
    # The REST surface keeps its contract: a taken pair is a 409 and the batch writes nothing.
    third = rest(client, h, "property_brokerage", LISTING)
    body = [{"property_id": third, "buyer_id": buyer}, {"property_id": flat, "buyer_id": buyer}]
    assert_error(client.post("/api/matches_brokerage/bulk", json=body, headers=h), 409, "conflict")
    assert len(rows("MatchesBrokerage")) == 2


def test_auto_matching_follows_writes_through_both_surfaces(
    client: Any, staff: dict[str, Any], admin: dict[str, Any], auto_match: None
) -> None:
    h = staff["headers"]  # the app's admin: agents add listings and buyers, only admins also edit and delete them
    buyer = b44(client, h, "BuyersBrokerage", BUYER)  # the office's form (Base44 surface)
    drain_all()
    assert pairs() == {}
    flat = rest(client, h, "property_brokerage", LISTING)  # the REST surface
    assert pairs() == {}  # matched after the commit, by the outbox — not in the request
    drain_all()
    assert set(pairs()) == {(buyer, flat)}

    response = client.put(f"{B44}/BuyersBrokerage/{buyer}", json={"budget": 1_000_000}, headers=h)
    assert response.status_code == 200, response.text
    drain_all()
    assert pairs() == {}  # no longer affordable: the untouched match went
    response = client.put(f"/api/buyers_brokerage/{buyer}", json={"budget": 2_000_000}, headers=h)
    assert response.status_code == 200, response.text
    drain_all()
    assert set(pairs()) == {(buyer, flat)}

    assert client.delete(f"{B44}/PropertyBrokerage/{flat}", headers=h).status_code == 200
    drain_all()
    assert pairs() == {}
    assert client.post(f"/api/property_brokerage/{flat}/restore", headers=admin["headers"]).status_code == 200
    drain_all()
    [match] = pairs().values()
    response = client.put(f"{B44}/MatchesBrokerage/{match.id}", json={"status": "נשלח"}, headers=h)
    assert response.status_code == 200
    assert client.delete(f"/api/property_brokerage/{flat}?purge=true", headers=admin["headers"]).status_code == 204
    drain_all()
    assert rows("MatchesBrokerage") == []  # purged: even the agent's match goes with it


def test_a_bulk_create_is_matched_after_the_commit_within_the_cap(
    client: Any, agent: dict[str, Any], auto_match: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "match_max_new_per_seeker", 5)
    h = agent["headers"]
    buyer = rest(client, h, "buyers_brokerage", BUYER)
    renter = rest(
        client, h, "buyers_renters", {"request_type": "קנייה", "preferred_area": "פלורנטין", "budget": 2_000_000}
    )
    listings = [{**LISTING, "price": 1_000_000 + 10_000 * i} for i in range(40)]
    created = post(client, h, f"{B44}/PropertyBrokerage/bulk", listings)
    assert len(created) == 40 and pairs() == {}
    drain_all()
    stored = pairs()
    assert len(stored) == 5 and {b for b, _ in stored} == {buyer}
    assert len(pairs("Matches")) == 5 and {b for b, _ in pairs("Matches")} == {renter}  # both pairings ran


def test_values_it_cannot_read_are_reasons_not_errors(client: Any, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    rest(client, h, "buyers_brokerage", {**BUYER, "desired_rooms": "שלושה"})
    rest(client, h, "property_brokerage", LISTING)
    [match] = run(client, h)["matches"]
    assert match["match_score"] == 65
    assert match["reasons"] == ["price within budget", "area matches", 'client rooms "שלושה" not understood']


@pytest.mark.parametrize("pairing", ["nope", "", "x" * 65, 5])
def test_an_unknown_pairing_is_a_422(client: Any, agent: dict[str, Any], pairing: Any) -> None:
    body = client.post("/api/automation/generate-matches", json={"pairing": pairing}, headers=agent["headers"])
    assert_error(body, 422, "validation_error")


def test_generate_and_alert_queues_a_pairing_too_large_for_the_request(
    client: Any, agent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend.services.matching import runs

    monkeypatch.setattr(runs, "INLINE_MAX", 1)
    h = agent["headers"]
    buyer = rest(client, h, "buyers_brokerage", BUYER)
    flat = rest(client, h, "property_brokerage", LISTING)
    answer = post(client, h, "/api/apps/app123/functions/GenerateAndAlertMatches", {}, status=200)
    assert answer["queued"] is True and answer["pairings"]["brokerage"] == {"queued": True, "records": 2}
    assert (answer["created"], answer["matches"]) == (0, []) and pairs() == {}
    drain_all()
    assert set(pairs()) == {(buyer, flat)}
