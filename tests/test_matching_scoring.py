"""The matching rules (DESIGN.md §Matching), one boundary at a time, on the pure scoring module."""

from __future__ import annotations

import random
from typing import Any

import pytest

from backend.services.matching.scoring import (
    client_facts,
    evaluate,
    hard_rule_failure,
    property_facts,
    qualifying,
    score_pair,
)
from backend.services.matching.values import Rooms, parse_amount, parse_rooms


def client(**fields: Any) -> Any:
    return client_facts({"id": "c1", **fields})


def prop(**fields: Any) -> Any:
    return property_facts({"id": "p1", **fields})


def score(c: dict[str, Any], p: dict[str, Any]) -> tuple[int, tuple[str, ...]] | None:
    result = evaluate(client(**c), prop(**p))
    return None if result is None else (result.score, result.reasons)


# ---- hard rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wants", "listed", "ok"),
    [
        ("קנייה", "מכירה", True),
        ("קניה", "מכירה", True),
        ("buy", "sale", True),
        ("קנייה", "sale", True),
        ("Buy ", " מכירה", True),
        ("השכרה", "השכרה", True),
        ("rent", "השכרה", True),
        ("RENT", "rent", True),
        ("קנייה", "השכרה", False),
        ("buy", "rent", False),
        ("השכרה", "מכירה", False),
        ("rent", "sale", False),
        (None, "מכירה", True),
        ("", "השכרה", True),
        ("קנייה", None, True),
        ("קנייה", "", True),
        ("something else", "השכרה", True),  # an unknown word constrains nothing
    ],
)
def test_deal_types_in_both_languages(wants: str | None, listed: str | None, ok: bool) -> None:
    failure = hard_rule_failure(client(request_category=wants), prop(listing_type=listed))
    assert (failure is None) is ok
    if not ok:
        assert failure == "deal type differs"


@pytest.mark.parametrize(
    ("wanted", "offered", "ok"),
    [
        ("Tel Aviv", "tel aviv", True),
        ("  תל אביב ", "תל אביב", True),
        ("תל אביב", "חיפה", False),
        ("תל אביב", None, False),  # the client named a city; a property without one cannot agree
        (None, "חיפה", True),
        ("", "חיפה", True),
        ("   ", "חיפה", True),
    ],
)
def test_city_trimmed_and_case_insensitive(wanted: str | None, offered: str | None, ok: bool) -> None:
    assert (hard_rule_failure(client(city=wanted), prop(city=offered)) is None) is ok


@pytest.mark.parametrize(
    ("wanted", "offered", "ok"),
    [("דירה", "דירה", True), ("דירה", "משרד", False), ("דירה", None, False), (None, "משרד", True)],
)
def test_property_type_when_named(wanted: str | None, offered: str | None, ok: bool) -> None:
    assert (hard_rule_failure(client(property_type=wanted), prop(property_type=offered)) is None) is ok


@pytest.mark.parametrize(
    ("budget", "price", "expected"),
    [
        (1_000_000, 900_000, (40, "price within budget")),
        (1_000_000, 1_000_000, (40, "price within budget")),
        (1_000_000, 1_000_001, (20, "price within 110% of budget")),
        (1_000_000, 1_100_000, (20, "price within 110% of budget")),  # exactly 110 %
        (1_000_000, 1_100_001, None),  # 110 % + 1
        (5_005, 5_505, (20, "price within 110% of budget")),  # 110 % is 5505.5: integer maths, no float edge
        (5_005, 5_506, None),
        (None, 9_000_000, (10, "budget unknown")),
        (1_000_000, None, (10, "price unknown")),
        (0, 500, (10, "budget unknown")),  # zero means "not filled in"
        (1_000_000, -5, (10, "price unknown")),
    ],
)
def test_price_against_budget(budget: int | None, price: int | None, expected: tuple[int, str] | None) -> None:
    result = score({"budget": budget}, {"price": price})
    if expected is None:
        assert result is None
        assert hard_rule_failure(client(budget=budget), prop(price=price)) == "price above 110% of budget"
    else:
        assert result == (expected[0], (expected[1],))


@pytest.mark.parametrize("status", ["נסגר", "עסקה נסגרה", " נסגר ", "closed"])
def test_closed_records_never_match(status: str) -> None:
    assert score({"status": status}, {}) is None
    assert score({}, {"status": status}) is None
    assert score({"status": "קונה חדש"}, {"status": "נכס חדש"}) == (10, ("budget unknown",))


def test_soft_deleted_records_never_match() -> None:
    assert hard_rule_failure(client(deleted_at="2025-01-01"), prop()) == "client closed or deleted"
    assert hard_rule_failure(client(), prop(deleted_at="2025-01-01")) == "property closed or deleted"


# ---- score ---------------------------------------------------------------------------------------


def test_area_matches_trimmed_and_case_insensitive() -> None:
    assert score({"area": " Florentin"}, {"area": "florentin "}) == (35, ("budget unknown", "area matches"))
    assert score({"area": "פלורנטין"}, {"area": "נווה צדק"}) == (10, ("budget unknown",))
    assert score({"area": None}, {"area": None}) == (10, ("budget unknown",))  # two unknowns are no match


@pytest.mark.parametrize(
    ("wanted", "offered", "points", "reason"),
    [
        ("3", "3", 20, "rooms match"),
        ("3", "3.0", 20, "rooms match"),
        ("2.5", "2,5", 20, "rooms match"),
        ("2.5", "3", 10, "rooms within one"),
        ("3", "2.5", 10, "rooms within one"),
        ("3", "4", 10, "rooms within one"),
        ("2", "3.5", 0, None),
        ("6+", "7", 20, "rooms match"),  # 6 or more: 7 is fine
        ("7", "6+", 20, "rooms match"),
        ("6+", "6", 20, "rooms match"),
        ("6+", "5", 10, "rooms within one"),
        ("6+", "4", 0, None),
        ("4 חדרים", "4", 20, "rooms match"),
        ("2½", "2.5", 20, "rooms match"),
        (None, "3", 0, None),
        ("", "3", 0, None),
    ],
)
def test_rooms(wanted: str | None, offered: str, points: int, reason: str | None) -> None:
    result = score_pair(client(rooms=wanted), prop(rooms=offered))
    assert result.score == 10 + points
    assert result.reasons == ("budget unknown", *((reason,) if reason else ()))


@pytest.mark.parametrize(
    ("asked", "has", "points"),
    [
        ({"parking"}, {"parking"}, 15),
        ({"parking"}, set(), 0),
        ({"parking", "elevator"}, {"elevator"}, 8),  # 7.5 rounds half up
        ({"parking", "elevator", "balcony"}, {"parking", "balcony"}, 10),
        ({"parking", "elevator", "balcony", "storage"}, {"storage"}, 4),  # 3.75
        ({"parking", "air_conditioning", "storage", "balcony", "elevator"}, {"storage", "balcony"}, 6),
        (set(), {"parking", "elevator"}, 0),  # nothing asked, nothing earned
    ],
)
def test_amenities_share_fifteen_points(asked: set[str], has: set[str], points: int) -> None:
    names = ("parking", "air_conditioning", "storage", "balcony", "elevator")
    c = client(budget=None, **{n: n in asked for n in names})
    p = prop(**{n: n in has for n in names})
    result = score_pair(c, p)
    assert result.score == 10 + points
    shared = [r for r in result.reasons if "requested amenities" in r]
    if asked & has:
        assert shared == [
            f"{len(asked & has)} of {len(asked)} requested amenities: "
            + ", ".join(n.replace("_", " ") for n in names if n in asked & has)
        ]
    else:
        assert shared == []


def test_a_perfect_pair_scores_100_with_every_reason() -> None:
    c = {
        "request_category": "קנייה",
        "city": "תל אביב",
        "area": "פלורנטין",
        "budget": 2_000_000,
        "rooms": "3",
        "parking": True,
        "elevator": True,
        "property_type": "דירה",
    }
    p = {
        "listing_type": "מכירה",
        "city": "תל אביב",
        "area": "פלורנטין",
        "price": 1_900_000,
        "rooms": "3",
        "parking": True,
        "elevator": True,
        "balcony": False,
        "property_type": "דירה",
    }
    assert score(c, p) == (
        100,
        ("price within budget", "area matches", "rooms match", "2 of 2 requested amenities: parking, elevator"),
    )


def test_amenity_none_or_false_is_not_had() -> None:
    assert score_pair(client(parking=True), prop(parking=None)).score == 10
    assert score_pair(client(parking=False), prop(parking=True)).score == 10


# ---- garbage in numeric-looking fields -------------------------------------------------------------


@pytest.mark.parametrize("garbage", ["שלושה", "three", "3-4", "0", "-2", "99", "nan", "inf", "3..5", "+"])
def test_garbage_rooms_are_unknown_with_a_reason(garbage: str) -> None:
    rooms, note = parse_rooms(garbage, "client rooms")
    assert rooms is None
    assert note == f'client rooms "{garbage}" not understood'
    result = evaluate(client(rooms=garbage), prop(rooms="3"))
    assert result is not None  # the pair is not dropped, only the rooms criterion is skipped
    assert result.score == 10
    assert f'client rooms "{garbage}" not understood' in result.reasons


def test_garbage_on_the_property_side_is_reported_too() -> None:
    result = evaluate(client(rooms="3"), prop(rooms="שלושה", price="abc"))
    assert result == score_pair(client(rooms="3"), prop(rooms="שלושה", price="abc"))
    assert result.score == 10
    assert result.reasons == (
        "budget unknown",
        'property price "abc" not understood',
        'property rooms "שלושה" not understood',
    )


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (1_500_000, (1_500_000, None)),
        ("1,500,000", (1_500_000, None)),
        (1_500_000.0, (1_500_000, None)),
        (None, (None, None)),
        ("", (None, None)),
        (0, (None, None)),
        (True, (None, 'budget "True" not understood')),
        ("מיליון", (None, 'budget "מיליון" not understood')),
        (float("nan"), (None, 'budget "nan" not understood')),
        (10**13, (None, f'budget "{10**13}" not understood')),
    ],
)
def test_parse_amount(raw: Any, parsed: tuple[int | None, str | None]) -> None:
    assert parse_amount(raw, "budget") == parsed


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("3", Rooms(3.0)),
        ("6+", Rooms(6.0, True)),
        ("6 +", Rooms(6.0, True)),
        (4, Rooms(4.0)),
        (2.5, Rooms(2.5)),
        (" 3.5 rooms", Rooms(3.5)),
        ("5 חד'", Rooms(5.0)),
    ],
)
def test_parse_rooms(raw: Any, parsed: Rooms) -> None:
    assert parse_rooms(raw, "rooms") == (parsed, None)


def test_non_text_in_text_fields_is_unknown_not_an_error() -> None:
    c = client(city=123, request_category=["buy"], area={"x": 1}, rooms=True)
    assert c.city is None and c.deal is None and c.area is None and c.rooms is None
    assert evaluate(c, prop(city="חיפה")) is not None


def test_the_fast_loop_scores_exactly_like_score_pair() -> None:
    """`qualifying` (per-client tables, used by every run) must agree with `score_pair` on every pair."""
    rng = random.Random(7)
    names = ("parking", "air_conditioning", "storage", "balcony", "elevator")
    rooms = ["1", "2.5", "3", "3.5", "4", "6+", "7", "x", None]
    amounts = [None, 0, 900, 1_000, 1_050, 1_100, 1_101]
    areas = ["a", "A ", "b", None]
    checked = 0
    for _ in range(400):
        c = client(budget=rng.choice(amounts), rooms=rng.choice(rooms), area=rng.choice(areas),
                   **{n: rng.random() < 0.4 for n in names})  # fmt: skip
        props = [
            prop(id=str(i), price=rng.choice(amounts), rooms=rng.choice(rooms), area=rng.choice(areas),
                 **{n: rng.random() < 0.8 for n in names})
            for i in range(60)  # enough for many pairs of one client to share a table entry
        ]  # fmt: skip
        passing = [p for p in props if hard_rule_failure(c, p) is None]
        got = {p.id: scored for p, scored in qualifying(c, passing, 0)}
        assert got == {p.id: score_pair(c, p) for p in passing}  # same score, same reasons
        threshold = rng.randint(0, 100)
        assert {p.id for p, _ in qualifying(c, passing, threshold)} == {
            p.id for p in passing if score_pair(c, p).score >= threshold
        }
        checked += len(passing)
    assert checked > 10_000
