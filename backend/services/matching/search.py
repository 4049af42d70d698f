"""Candidate search: which client/property pairs are worth scoring, without looking at clients × properties.

Properties are bucketed by (deal, city, property type, rooms) and sorted by price inside a bucket, so a
client visits only the buckets its hard rules allow and, by bisection, only the prices up to 110 % of its
budget; a room count too far from the client's is visited only for same-area properties, or not at all,
when nothing else could lift such a pair to the minimum score. Records are read with Core selects of the
few columns the rules use. When one side of a run is a handful of records (a single new property, say),
the other side is pre-filtered in SQL with conditions that may let through a little too much but never
too little: the Python rules decide in the end.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import Session

from backend.services.matching.bound import Bound, SideColumns
from backend.services.matching.scoring import (
    AMENITY_POINTS,
    AREA_POINTS,
    PRICE_UNKNOWN,
    PRICE_WITHIN_BUDGET,
    ClientFacts,
    PropertyFacts,
    Scored,
    client_facts,
    price_limit,
    property_facts,
    qualifying,
    rooms_points,
)
from backend.services.matching.values import AMOUNT_MAX, DEAL_WORDS, Rooms

CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


class _Shelf:
    """Properties sorted by price, and the unpriced ones: bisection finds everything up to 110 % of a budget."""

    __slots__ = ("priced", "prices", "unpriced")

    def __init__(self, items: list[PropertyFacts]) -> None:
        self.priced = sorted((p for p in items if p.price is not None), key=lambda p: p.price or 0)
        self.prices = [p.price or 0 for p in self.priced]
        self.unpriced = [p for p in items if p.price is None]

    def affordable(self, budget: int | None) -> list[Sequence[PropertyFacts]]:
        if budget is None:
            return [self.priced, self.unpriced]
        return [self.priced[: bisect_right(self.prices, price_limit(budget))], self.unpriced]


class _Rooms:
    """The properties of one bucket with one room count: all of them, and by neighbourhood."""

    __slots__ = ("all", "by_area")

    def __init__(self, items: list[PropertyFacts]) -> None:
        self.all = _Shelf(items)
        areas: dict[str, list[PropertyFacts]] = {}
        for prop in items:
            if prop.area is not None:
                areas.setdefault(prop.area, []).append(prop)
        self.by_area = {area: _Shelf(props) for area, props in areas.items()}


_Bucket = dict[Rooms | None, _Rooms]


class PropertyIndex:
    """Open properties by deal → city → property type → rooms → price (and area). `None` keys hold the
    unknowns. The hard rules pick the buckets and the price range; rooms and area only prune groups that
    cannot reach the run's minimum score whatever else they have."""

    def __init__(self, properties: Iterable[PropertyFacts]) -> None:
        tree: dict[str | None, dict[str | None, dict[str | None, dict[Rooms | None, list[PropertyFacts]]]]] = {}
        for prop in properties:
            if not prop.closed:
                kinds = tree.setdefault(prop.deal, {}).setdefault(prop.city, {})
                kinds.setdefault(prop.property_type, {}).setdefault(prop.rooms, []).append(prop)
        self._tree = {
            deal: {
                city: {
                    kind: {rooms: _Rooms(items) for rooms, items in by_rooms.items()}
                    for kind, by_rooms in kinds.items()
                }
                for city, kinds in cities.items()
            }
            for deal, cities in tree.items()
        }

    def _buckets(self, client: ClientFacts) -> Iterator[_Bucket]:
        # The hard rules: a property of unknown deal suits every client; one of unknown city or type
        # only suits clients who named none (they sit under the `None` keys).
        deals = (client.deal, None) if client.deal else tuple(self._tree)
        for deal in deals:
            cities = self._tree.get(deal)
            if not cities:
                continue
            city_keys = (client.city,) if client.city else tuple(cities)
            for city in city_keys:
                kinds = cities.get(city)
                if not kinds:
                    continue
                if client.property_type:
                    bucket = kinds.get(client.property_type)
                    if bucket is not None:
                        yield bucket
                else:
                    yield from kinds.values()

    def candidates(self, client: ClientFacts, min_score: int = 0) -> list[Sequence[PropertyFacts]]:
        """The open properties that pass the client's hard rules and could still reach `min_score`."""
        if client.closed:
            return []
        # The most a property can earn besides rooms and area (a conservative bound: pruning must never
        # drop a pair that would qualify).
        best_rest = (PRICE_WITHIN_BUDGET if client.budget is not None else PRICE_UNKNOWN) + (
            AMENITY_POINTS if client.amenities else 0
        )
        found: list[Sequence[PropertyFacts]] = []
        for bucket in self._buckets(client):
            for rooms, group in bucket.items():
                reach = best_rest + rooms_points(client.rooms, rooms)[0]
                if reach >= min_score:
                    found.extend(group.all.affordable(client.budget))
                elif client.area is not None and reach + AREA_POINTS >= min_score:
                    shelf = group.by_area.get(client.area)  # only a same-area property can get there
                    if shelf is not None:
                        found.extend(shelf.affordable(client.budget))
        return found


class PairCounter:
    """Pairs that passed the hard rules, could reach the minimum score, and were scored (`evaluated_pairs`)."""

    def __init__(self) -> None:
        self.evaluated = 0


def scored_pairs(
    clients: Iterable[ClientFacts], index: PropertyIndex, min_score: int, counter: PairCounter
) -> Iterator[tuple[ClientFacts, PropertyFacts, Scored]]:
    """Pairs that pass the hard rules and reach `min_score`, with their score and reasons."""
    for client in clients:
        slices = index.candidates(client, min_score)
        counter.evaluated += sum(map(len, slices))
        for prop, scored in qualifying(client, chain.from_iterable(slices), min_score):
            yield client, prop, scored


# ---- loading ---------------------------------------------------------------------------------------


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load(session: Session, side: SideColumns, where: ColumnElement[bool] | None) -> list[Any]:
    stmt = select(*side.select).where(side.model.deleted_at.is_(None), where if where is not None else true())
    return list(session.execute(stmt))


def load_clients(session: Session, bound: Bound, where: ColumnElement[bool] | None = None) -> list[ClientFacts]:
    """Open seekers (soft-deleted excluded in SQL, closed ones in Python where the words are known)."""
    closed = bound.seek.side.closed
    facts = (client_facts(row._mapping, closed) for row in _load(session, bound.seek, where))
    return [fact for fact in facts if not fact.closed]


def load_properties(session: Session, bound: Bound, where: ColumnElement[bool] | None = None) -> list[PropertyFacts]:
    closed = bound.offer.side.closed
    facts = (property_facts(row._mapping, closed) for row in _load(session, bound.offer, where))
    return [fact for fact in facts if not fact.closed]


def load_by_ids(session: Session, bound: Bound, seekers: bool, ids: Sequence[str]) -> list[Any]:
    side = bound.seek if seekers else bound.offer
    loader = load_clients if seekers else load_properties
    found: list[Any] = []
    for part in chunks(ids):
        found.extend(loader(session, bound, side.model.id.in_(part)))
    return found


def _contains_ci(column: Any, text: str) -> ColumnElement[bool]:
    # `(?i)` works in PostgreSQL's regexes and in the Python REGEXP function backend.database gives SQLite.
    return column.regexp_match("(?i)" + re.escape(text))  # type: ignore[no-any-return]


def _blank(column: Any) -> ColumnElement[bool]:
    return or_(column.is_(None), not_(column.regexp_match(r"\S")))


def _deal_allows(column: Any, deal: str | None) -> ColumnElement[bool]:
    if deal is None or column is None:
        return true()
    other_words = sorted(word for word, market in DEAL_WORDS.items() if market != deal)
    return or_(column.is_(None), func.lower(func.trim(column)).not_in(other_words))


def _not_integer(column: Any, sqlite: bool) -> list[ColumnElement[bool]]:
    # SQLite keeps whatever was stored; text or real amounts are "unknown" to the rules, so let them through.
    return [func.typeof(column) != "integer"] if sqlite else []


def properties_for(client: ClientFacts, sqlite: bool, bound: Bound) -> ColumnElement[bool]:
    """SQL pre-filter: a superset of the offers `client` can match."""
    offer = bound.offer
    conditions = [_deal_allows(offer.column("deal"), client.deal)]
    price = offer.column("price")
    if client.budget is not None and price is not None:
        limit = price_limit(client.budget)
        conditions.append(
            or_(price.is_(None), price <= limit, price <= 0, price > AMOUNT_MAX, *_not_integer(price, sqlite))
        )
    for role, wanted in (("city", client.city), ("property_type", client.property_type)):
        column = offer.column(role)
        if wanted:
            # An offer without the field can never satisfy a seeker who named one (the rules agree).
            conditions.append(_contains_ci(column, wanted) if column is not None else false())
    return and_(*conditions)


def clients_for(prop: PropertyFacts, sqlite: bool, bound: Bound) -> ColumnElement[bool]:
    """SQL pre-filter: a superset of the seekers who can want `prop`."""
    seek = bound.seek
    conditions = [_deal_allows(seek.column("deal"), prop.deal)]
    budget = seek.column("budget")
    if prop.price is not None and budget is not None:
        least = -(-prop.price * 10 // 11)  # the smallest budget whose 110 % reaches the price
        conditions.append(or_(budget.is_(None), budget <= 0, budget >= least, *_not_integer(budget, sqlite)))
    for role, value in (("city", prop.city), ("property_type", prop.property_type)):
        column = seek.column(role)
        if column is None:
            continue  # the seekers never name one: no constraint
        conditions.append(or_(_blank(column), _contains_ci(column, value)) if value else _blank(column))
    return and_(*conditions)
