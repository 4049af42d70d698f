"""The matching rules of DESIGN.md §Matching: pure functions, no I/O.

A record is read once into a small frozen "facts" object (normalised text, parsed numbers, notes about
values that could not be understood); the hard rules and the score then work on facts only, so the pair
loop never re-parses a string.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from backend.services.matching.values import (
    AMENITIES,
    CLOSED_STATUSES,
    Rooms,
    deal_of,
    norm,
    parse_amount,
    parse_rooms,
)

PRICE_WITHIN_BUDGET, PRICE_WITHIN_MARGIN, PRICE_UNKNOWN = 40, 20, 10
AREA_POINTS, ROOMS_EQUAL, ROOMS_NEAR, AMENITY_POINTS = 25, 20, 10, 15


class Profile:
    """The rooms and amenities of a property: one shared instance per distinct combination (a few hundred
    in a real office), hashed by identity, so the pair loop looks their points up in a per-client table."""

    __slots__ = ("amenities", "rooms")

    def __init__(self, rooms: Rooms | None, amenities: frozenset[str]) -> None:
        self.rooms, self.amenities = rooms, amenities


_PROFILES: dict[tuple[Rooms | None, frozenset[str]], Profile] = {}


def _profile(rooms: Rooms | None, amenities: frozenset[str]) -> Profile:
    # Two threads may both create one for the same key: harmless, each instance is correct.
    found = _PROFILES.get((rooms, amenities))
    return found if found is not None else _PROFILES.setdefault((rooms, amenities), Profile(rooms, amenities))


@dataclass(frozen=True, slots=True)
class ClientFacts:
    id: str
    closed: bool
    deal: str | None
    property_type: str | None
    city: str | None
    area: str | None
    budget: int | None
    rooms: Rooms | None
    amenities: frozenset[str]  # the amenities the client asked for
    notes: tuple[str, ...] = ()  # values that could not be understood


@dataclass(frozen=True, slots=True)
class PropertyFacts:
    id: str
    closed: bool
    deal: str | None
    property_type: str | None
    city: str | None
    area: str | None
    price: int | None
    rooms: Rooms | None
    amenities: frozenset[str]  # the amenities the property has
    notes: tuple[str, ...] = ()
    profile: Profile | None = None  # rooms and amenities, as one cheap lookup key for the pair loop


@dataclass(frozen=True, slots=True)
class Scored:
    score: int
    reasons: tuple[str, ...]


def _amenities(row: Mapping[Any, Any]) -> frozenset[str]:
    return frozenset(name for name in AMENITIES if row.get(name) is True or row.get(name) == 1)


def _closed(row: Mapping[Any, Any], closed: frozenset[str]) -> bool:
    return row.get("deleted_at") is not None or norm(row.get("status")) in closed


def client_facts(row: Mapping[Any, Any], closed: frozenset[str] = CLOSED_STATUSES) -> ClientFacts:
    """Read a seeker (a dict or a Core row mapping with the seed Client's field names — the engine's roles;
    other entities' columns are labelled so); `closed`: the status values that mean closed."""
    budget, budget_note = parse_amount(row.get("budget"), "client budget")
    rooms, rooms_note = parse_rooms(row.get("rooms"), "client rooms")
    return ClientFacts(
        id=str(row["id"]),
        closed=_closed(row, closed),
        deal=deal_of(row.get("request_category")),
        property_type=norm(row.get("property_type")),
        city=norm(row.get("city")),
        area=norm(row.get("area")),
        budget=budget,
        rooms=rooms,
        amenities=_amenities(row),
        notes=tuple(note for note in (budget_note, rooms_note) if note),
    )


def property_facts(row: Mapping[Any, Any], closed: frozenset[str] = CLOSED_STATUSES) -> PropertyFacts:
    """Read an offer (a dict or a Core row mapping with the seed Property's field names, as client_facts)."""
    price, price_note = parse_amount(row.get("price"), "property price")
    rooms, rooms_note = parse_rooms(row.get("rooms"), "property rooms")
    amenities = _amenities(row)
    return PropertyFacts(
        id=str(row["id"]),
        closed=_closed(row, closed),
        deal=deal_of(row.get("listing_type")),
        property_type=norm(row.get("property_type")),
        city=norm(row.get("city")),
        area=norm(row.get("area")),
        price=price,
        rooms=rooms,
        amenities=amenities,
        notes=tuple(note for note in (price_note, rooms_note) if note),
        profile=_profile(rooms, amenities),
    )


def price_limit(budget: int) -> int:
    """The highest whole price within 110 % of `budget` (integer arithmetic: no float rounding at the edge)."""
    return budget * 11 // 10


def hard_rule_failure(client: ClientFacts, prop: PropertyFacts) -> str | None:
    """Why this pair can never match, or None when every hard rule holds."""
    if client.closed:
        return "client closed or deleted"
    if prop.closed:
        return "property closed or deleted"
    if client.deal and prop.deal and client.deal != prop.deal:
        return "deal type differs"
    if client.property_type and client.property_type != prop.property_type:
        return "property type differs"
    if client.city and client.city != prop.city:
        return "city differs"
    if client.budget is not None and prop.price is not None and prop.price > price_limit(client.budget):
        return "price above 110% of budget"
    return None


def rooms_gap(wanted: Rooms, offered: Rooms) -> float:
    """How many rooms apart; `6+` is met by 6 or more on the other side."""
    if (wanted.open and offered.value >= wanted.value) or (offered.open and wanted.value >= offered.value):
        return 0.0
    return abs(wanted.value - offered.value)


def price_points(budget: int | None, price: int | None) -> tuple[int, str]:
    if budget is None or price is None:
        return PRICE_UNKNOWN, "budget unknown" if budget is None else "price unknown"
    if price <= budget:
        return PRICE_WITHIN_BUDGET, "price within budget"
    if price <= price_limit(budget):
        return PRICE_WITHIN_MARGIN, "price within 110% of budget"
    return 0, ""


@lru_cache(maxsize=4096)
def rooms_points(wanted: Rooms | None, offered: Rooms | None) -> tuple[int, str]:
    if wanted is None or offered is None:
        return 0, ""
    gap = rooms_gap(wanted, offered)
    if gap == 0:
        return ROOMS_EQUAL, "rooms match"
    return (ROOMS_NEAR, "rooms within one") if gap <= 1 else (0, "")


@lru_cache(maxsize=4096)  # 32 × 32 possible sets at most
def amenity_points(asked: frozenset[str], has: frozenset[str]) -> tuple[int, str]:
    """Each requested amenity the property has earns its share of 15, rounded half up once for the set."""
    have = asked & has
    if not have:
        return 0, ""
    names = ", ".join(name.replace("_", " ") for name in AMENITIES if name in have)
    points = (2 * AMENITY_POINTS * len(have) + len(asked)) // (2 * len(asked))
    return points, f"{len(have)} of {len(asked)} requested amenities: {names}"


def score_pair(client: ClientFacts, prop: PropertyFacts) -> Scored:
    """The score (0–100) of a pair that passed the hard rules, and why."""
    points, reason = price_points(client.budget, prop.price)
    reasons = [reason] if reason else []
    if client.area is not None and client.area == prop.area:
        points += AREA_POINTS
        reasons.append("area matches")
    for extra, reason in (
        rooms_points(client.rooms, prop.rooms),
        amenity_points(client.amenities, prop.amenities),
    ):
        if reason:
            points += extra
            reasons.append(reason)
    return Scored(points, (*reasons, *client.notes, *prop.notes))


def qualifying(
    client: ClientFacts, candidates: Iterable[PropertyFacts], min_score: int
) -> Iterator[tuple[PropertyFacts, Scored]]:
    """The hot loop of a full run: of candidates that passed the hard rules, those scoring at least
    `min_score`, each with exactly what `score_pair` says. A client's pairs differ only in a few things
    (price tier, area hit, rooms and amenities), so points and reasons come from small per-client tables
    instead of being worked out for each of millions of pairs."""
    budget, area = client.budget, client.area
    points_of: dict[Profile | None, int] = {}  # rooms and amenities → their points for this client
    explained: dict[tuple[int, bool, Profile | None], Scored] = {}
    for prop in candidates:
        price = prop.price
        if budget is None:
            tier, points = 0, PRICE_UNKNOWN
        elif price is None:
            tier, points = 1, PRICE_UNKNOWN
        elif price <= budget:
            tier, points = 2, PRICE_WITHIN_BUDGET
        else:  # within 110 %: the hard rules let nothing dearer through
            tier, points = 3, PRICE_WITHIN_MARGIN
        area_hit = area is not None and prop.area == area
        if area_hit:
            points += AREA_POINTS
        extra = points_of.get(prop.profile)
        if extra is None:
            extra = rooms_points(client.rooms, prop.rooms)[0] + amenity_points(client.amenities, prop.amenities)[0]
            points_of[prop.profile] = extra
        points += extra
        if points < min_score:
            continue
        if prop.notes:  # garbage in the record: its own reasons
            yield prop, score_pair(client, prop)
            continue
        key = (tier, area_hit, prop.profile)
        scored = explained.get(key)
        if scored is None:
            scored = explained[key] = score_pair(client, prop)
        yield prop, scored


def evaluate(client: ClientFacts, prop: PropertyFacts) -> Scored | None:
    """The whole rule set for one pair: None when a hard rule fails, else the score and reasons."""
    if hard_rule_failure(client, prop) is not None:
        return None
    return score_pair(client, prop)
