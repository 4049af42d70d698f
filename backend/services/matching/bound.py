"""A pairing bound to its tables: the columns each role reads, labelled with the engine's role names.

The rules (scoring.py) read records by the seed's field names (`request_category`, `budget`, `listing_type`,
`price`, `area`, ...). Each pairing's own columns are selected under those labels, and a role the entity
does not have is selected as NULL, so the rules and the candidate search never know which entity they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, cast, null
from sqlalchemy import Text as TextType

from backend.services.matching.pairings import Pairing, Side
from backend.services.matching.values import AMENITIES

# Role → the label the rules read it under (scoring.client_facts / property_facts).
_SEEK_LABELS = {"deal": "request_category", "property_type": "property_type", "city": "city", "area": "area",
                "budget": "budget", "rooms": "rooms", "status": "status"}  # fmt: skip
_OFFER_LABELS = {"deal": "listing_type", "property_type": "property_type", "city": "city", "area": "area",
                 "price": "price", "rooms": "rooms", "status": "status"}  # fmt: skip


@dataclass(frozen=True, eq=False)
class SideColumns:
    """One side of a bound pairing."""

    side: Side
    model: Any
    select: list[Any]  # id, deleted_at and every role, labelled for the rules
    columns: dict[str, Any]  # role → the entity's column (roles it has only)

    def column(self, role: str) -> Any | None:
        return self.columns.get(role)


@dataclass(frozen=True, eq=False)
class ResultColumns:
    """The result entity: its table, and its columns under the labels the reconciler reads."""

    table: Table
    new_status: str
    seek: Any  # the column holding the seeker's id
    offer: Any
    score: Any
    status: Any
    reasons: Any | None  # None: the entity has no reasons field (reasons are then not stored)
    names: dict[str, str]  # role → column name

    def existing(self) -> list[Any]:
        """What reconciling needs of a stored match; `plain` says no agent added fields of their own."""
        t = self.table
        reasons = self.reasons if self.reasons is not None else null()
        return [
            t.c.id,
            self.seek.label("client_id"),
            self.offer.label("property_id"),
            self.score.label("match_score"),
            reasons.label("reasons"),
            self.status.label("status"),
            t.c.created_by,
            t.c.deleted_at,
            cast(t.c.extra, TextType).in_(["{}", "null"]).label("plain"),
        ]


@dataclass(frozen=True, eq=False)
class Bound:
    pairing: Pairing
    seek: SideColumns
    offer: SideColumns
    result: ResultColumns


def _side(side: Side, labels: dict[str, str]) -> SideColumns:
    model = side.spec.model
    columns = {role: getattr(model, name) for role, name in side.fields.items() if role in labels}
    picked: list[ColumnElement[Any]] = [model.id.label("id"), model.deleted_at.label("deleted_at")]
    for role, label in labels.items():
        column = columns.get(role)
        picked.append(column.label(label) if column is not None else null().label(label))
    for amenity in AMENITIES:
        name = side.amenities.get(amenity)
        picked.append(getattr(model, name).label(amenity) if name else null().label(amenity))
    return SideColumns(side=side, model=model, select=picked, columns=columns)


@lru_cache(maxsize=64)
def bind(pairing: Pairing) -> Bound:
    result = pairing.result
    table: Table = result.spec.table
    names = result.fields
    return Bound(
        pairing=pairing,
        seek=_side(pairing.seek, _SEEK_LABELS),
        offer=_side(pairing.offer, _OFFER_LABELS),
        result=ResultColumns(
            table=table,
            new_status=result.new_status,
            seek=table.c[names["seek_id"]],
            offer=table.c[names["offer_id"]],
            score=table.c[names["score"]],
            status=table.c[names["status"]],
            reasons=table.c[names["reasons"]] if "reasons" in names else None,
            names=dict(names),
        ),
    )
