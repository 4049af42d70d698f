"""The fast search against brute force: on a random small office, every way of running generate-matches
(everything, one record, a few records, many records, in small steps) stores exactly the pairs a naive
double loop over the scoring rules finds — same pairs, same scores, same reasons. With a small cap per
seeker, a full run keeps exactly each seeker's best pairs, and record-by-record runs keep a best set too."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from sqlalchemy import delete, select

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import Client, Match, Property
from backend.models.base import new_id
from backend.services.matching import service
from backend.services.matching.scoring import client_facts, evaluate, property_facts
from backend.services.matching.values import AMENITIES

URL = "/api/automation/generate-matches"
WANTS = ["קנייה", "קניה", "buy", " BUY ", "השכרה", "rent", None, "", "משהו"]
LISTED = ["מכירה", "sale", " Sale", "השכרה", "rent", "RENT", None, "", "x"]
CITIES = ["תל אביב", " תל אביב ", "Haifa", "haifa", "HAIFA\t", None, "", "  ", "ירושלים", "Tel Aviv-Yafo (x)"]
TYPES = ["דירה", "דירה ", "משרד", None, ""]
AREAS = ["פלורנטין", "florentin", "Florentin ", None, "יפו"]
ROOMS = ["3", "3.5", "2.5", "4", "6+", "7", "2,5", "שלושה", None, "", "5 חדרים"]
AMOUNTS = [None, 0, -1, 1_000, 1_100, 1_101, 1_500, 5_000, 5_500, 5_501, 6_000, 9_999]
CLIENT_STATUS = [None, "קונה חדש", "פולואפ", "עסקה נסגרה"]
PROPERTY_STATUS = [None, "נכס חדש", "נכס פורסם", "נסגר"]


def _amenities(rng: random.Random) -> dict[str, Any]:
    return {name: rng.choice([True, False, None]) for name in AMENITIES}


def _seed(rng: random.Random, clients: int, properties: int) -> None:
    deleted = dt.datetime(2025, 1, 1)
    with get_sessionmaker()() as session:
        for _ in range(clients):
            session.add(
                Client(
                    id=new_id(), request_category=rng.choice(WANTS), city=rng.choice(CITIES),
                    property_type=rng.choice(TYPES), area=rng.choice(AREAS), rooms=rng.choice(ROOMS),
                    budget=rng.choice(AMOUNTS), status=rng.choice(CLIENT_STATUS),
                    deleted_at=deleted if rng.random() < 0.05 else None, **_amenities(rng),
                )
            )  # fmt: skip
        for _ in range(properties):
            session.add(
                Property(
                    id=new_id(), listing_type=rng.choice(LISTED), city=rng.choice(CITIES),
                    property_type=rng.choice(TYPES), area=rng.choice(AREAS), rooms=rng.choice(ROOMS),
                    price=rng.choice(AMOUNTS), status=rng.choice(PROPERTY_STATUS),
                    deleted_at=deleted if rng.random() < 0.05 else None, **_amenities(rng),
                )
            )  # fmt: skip
        session.commit()


def _as_dict(record: Any) -> dict[str, Any]:
    return {column.key: getattr(record, column.key) for column in record.__table__.columns}


def _naive(min_score: int) -> tuple[dict[tuple[str, str], tuple[int, list[str]]], int]:
    """Every client × every property through `evaluate`: the pairs to store and how many pass the hard rules."""
    with get_sessionmaker()() as session:
        clients = [client_facts(_as_dict(c)) for c in session.scalars(select(Client))]
        properties = [property_facts(_as_dict(p)) for p in session.scalars(select(Property))]
    expected, plausible = {}, 0
    for c in clients:
        for p in properties:
            result = evaluate(c, p)
            if result is not None:
                plausible += 1
                if result.score >= min_score:
                    expected[(c.id, p.id)] = (result.score, list(result.reasons))
    return expected, plausible


def _stored() -> dict[tuple[str, str], tuple[int, list[str]]]:
    with get_sessionmaker()() as session:
        return {(m.client_id, m.property_id): (m.match_score, m.reasons) for m in session.scalars(select(Match))}  # type: ignore[misc]


def _clear() -> None:
    with get_sessionmaker()() as session:
        session.execute(delete(Match))
        session.commit()


def _ids(model: type[Any]) -> list[str]:
    with get_sessionmaker()() as session:
        return sorted(session.scalars(select(model.id)))


@pytest.mark.parametrize(("seed", "min_score"), [(1, 0), (2, 0), (3, 40), (4, 60)])
def test_fast_search_finds_exactly_what_brute_force_finds(
    client: Any, agent: dict[str, Any], monkeypatch: pytest.MonkeyPatch, seed: int, min_score: int
) -> None:
    rng = random.Random(seed)
    _seed(rng, clients=70, properties=110)
    expected, plausible = _naive(min_score)
    assert plausible > 100 and len(expected) > 30  # the random office really has matches to find
    monkeypatch.setattr(service, "CLIENTS_PER_STEP", 7)  # many reconcile steps, not one
    monkeypatch.setattr(get_settings(), "match_max_new_per_seeker", 10_000)  # no cap: every pair

    def post(**body: Any) -> dict[str, Any]:
        response = client.post(URL, json={"min_score": min_score, **body}, headers=agent["headers"])
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    full = post()
    assert full["created"] == len(expected)
    # Scored pairs: all that pass the hard rules at min_score 0; fewer when rooms/area pruning can skip some.
    assert full["evaluated_pairs"] == plausible if min_score == 0 else 0 < full["evaluated_pairs"] <= plausible
    assert _stored() == expected
    assert post()["unchanged"] == len(expected)

    clients, properties = _ids(Client), _ids(Property)
    # Single records and small sets take the SQL pre-filter path; it must never lose a pair.
    for pid in rng.sample(properties, 12):
        _clear()
        post(property_ids=[pid])
        assert _stored() == {k: v for k, v in expected.items() if k[1] == pid}
    for cid in rng.sample(clients, 12):
        _clear()
        post(client_ids=[cid])
        assert _stored() == {k: v for k, v in expected.items() if k[0] == cid}
    few_clients, few_props = set(rng.sample(clients, 5)), set(rng.sample(properties, 5))
    _clear()
    post(client_ids=sorted(few_clients))
    assert _stored() == {k: v for k, v in expected.items() if k[0] in few_clients}
    _clear()
    post(property_ids=sorted(few_props))
    assert _stored() == {k: v for k, v in expected.items() if k[1] in few_props}
    _clear()
    post(client_ids=sorted(few_clients), property_ids=sorted(few_props))
    assert _stored() == {k: v for k, v in expected.items() if k[0] in few_clients and k[1] in few_props}
    # Many records on one side (above the pre-filter limit) load the other side whole.
    many_props = set(properties[:60])
    _clear()
    post(property_ids=sorted(many_props))
    assert _stored() == {k: v for k, v in expected.items() if k[1] in many_props}
    _clear()
    post(client_ids=clients)
    assert _stored() == expected


def _best(
    expected: dict[tuple[str, str], tuple[int, list[str]]], cap: int
) -> dict[tuple[str, str], tuple[int, list[str]]]:
    """Each seeker's `cap` best pairs, ties broken by the offer's id (what a run from nothing keeps)."""
    by_seeker: dict[str, list[tuple[str, str]]] = {}
    for pair in expected:
        by_seeker.setdefault(pair[0], []).append(pair)
    kept = {}
    for pairs in by_seeker.values():
        for pair in sorted(pairs, key=lambda p: (-expected[p][0], p[1]))[:cap]:
            kept[pair] = expected[pair]
    return kept


@pytest.mark.parametrize("seed", [5, 6])
def test_the_cap_keeps_each_seekers_best_pairs_whatever_the_order_of_runs(
    client: Any, agent: dict[str, Any], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    cap = 3
    rng = random.Random(seed)
    _seed(rng, clients=40, properties=120)
    expected, _ = _naive(0)
    monkeypatch.setattr(service, "CLIENTS_PER_STEP", 7)
    monkeypatch.setattr(get_settings(), "match_max_new_per_seeker", cap)
    best = _best(expected, cap)
    assert len(best) < len(expected)  # the cap really leaves pairs out

    def post(**body: Any) -> dict[str, Any]:
        response = client.post(URL, json={"min_score": 0, **body}, headers=agent["headers"])
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    full = post()
    assert _stored() == best
    assert (full["created"], full["capped"]) == (len(best), len(expected) - len(best))
    # Record by record (as auto-matching runs), in a random order: each seeker ends with a best set —
    # as many as the cap allows, none worse than a pair left out (ties may pick other pairs).
    _clear()
    properties = _ids(Property)
    rng.shuffle(properties)
    for pid in properties:
        post(property_ids=[pid])
    stored = _stored()
    for seeker in {c for c, _ in expected}:
        mine = {p: v[0] for (c, p), v in stored.items() if c == seeker}
        left_out = [v[0] for (c, p), v in expected.items() if c == seeker and p not in mine]
        assert len(mine) == min(cap, len(mine) + len(left_out))
        assert not left_out or min(mine.values()) >= max(left_out)
        assert sorted(mine.values()) == sorted(v[0] for k, v in best.items() if k[0] == seeker)
    assert all(expected[pair] == value for pair, value in stored.items())
    again = post()  # a full run after them changes nothing: on a tie the stored pair stays
    assert (again["created"], again["removed"], again["unchanged"]) == (0, 0, len(stored))
