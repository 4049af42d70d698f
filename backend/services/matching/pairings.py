"""Which entities the matching engine pairs, under which field names: data, in one place.

A pairing names the entity that offers (listings), the one that seeks (buyers, renters) and the one that
stores the result (matches), and maps the engine's roles to each entity's own field names — the brokerage
entities say `desired_area` and `buyer_id` where the seed's say `area` and `client_id`. The defaults are
`pairings.json` beside this module; `MATCH_PAIRINGS` may point at another file of the same shape, which
replaces them. Every pairing is checked against the entity declarations when the app (or the worker)
starts: an unknown entity, role or field stops the start with a message naming the setting and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from backend.config import get_settings
from backend.entity_schema import SchemaError
from backend.models import DECLARATIONS
from backend.services.matching.values import AMENITIES, norm
from backend.services.registry import MODELLED, EntitySpec

DEFAULT_FILE = Path(__file__).resolve().parent / "pairings.json"
# The engine's roles and the field kinds each accepts. The role names are the seed's field names.
OFFER_ROLES = {
    "deal": {"str"}, "property_type": {"str"}, "city": {"str"}, "area": {"str"}, "price": {"int", "float", "str"},
    "rooms": {"str", "int", "float"}, "status": {"str"}, "handler": {"str"},
}  # fmt: skip
SEEK_ROLES = {**{k: v for k, v in OFFER_ROLES.items() if k != "price"}, "budget": {"int", "float", "str"}}
RESULT_ROLES = {"offer_id": {"str", "ref"}, "seek_id": {"str", "ref"}, "score": {"int", "float"},
                "reasons": {"array", "list"}, "status": {"str"}}  # fmt: skip
RESULT_REQUIRED = ("offer_id", "seek_id", "score", "status")


class PairingError(SchemaError):
    """A pairing that cannot be used; the message names the setting, the pairing and the field."""


@dataclass(frozen=True)
class Side:
    """One side of a pairing: its entity, role → field name (absent roles are unknown on every record),
    requested or offered amenities (amenity → field), and the status values that mean closed."""

    entity: str
    fields: dict[str, str]
    amenities: dict[str, str]
    closed: frozenset[str]

    @property
    def spec(self) -> EntitySpec:
        return MODELLED[self.entity]


@dataclass(frozen=True)
class Result:
    entity: str
    fields: dict[str, str]  # offer_id, seek_id, score, status, and reasons when the entity has such a field
    new_status: str  # the status a match has until an agent acts on it (`new`, `הותאם`)

    @property
    def spec(self) -> EntitySpec:
        return MODELLED[self.entity]


@dataclass(frozen=True, eq=False)  # identity-hashed: loaded once, used as a cache key
class Pairing:
    name: str
    offer: Side
    seek: Side
    result: Result
    alerts: bool  # notify whoever should act on the new matches (services/matching/alerts.py)
    description: str = ""
    page: str = ""  # the frontend page listing the matches (linked from alerts), e.g. MatchesBrokerage


def _source() -> str:
    path = get_settings().match_pairings
    return f"MATCH_PAIRINGS ({path})" if path else f"MATCH_PAIRINGS (default {DEFAULT_FILE.name})"


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> PairingError:
        return PairingError(f"{self.source}: {where}: {message}")

    def entity(self, where: str, name: Any) -> EntitySpec:
        if not isinstance(name, str) or name not in MODELLED:
            known = ", ".join(sorted(MODELLED))
            raise self.fail(where, f"unknown entity {name!r} (declared entities: {known})")
        return MODELLED[name]

    def field(self, where: str, spec: EntitySpec, role: str, name: Any, kinds: set[str]) -> str:
        if not isinstance(name, str) or name not in spec.fields:
            raise self.fail(where, f"{role} names {name!r}, which is not a declared field of {spec.name}")
        kind = spec.fields[name].kind
        if kind not in kinds:
            raise self.fail(where, f"{role} → {spec.name}.{name} is {kind}; it must be one of {sorted(kinds)}")
        return name

    def side(self, where: str, raw: Any, roles: dict[str, set[str]]) -> Side:
        if not isinstance(raw, dict):
            raise self.fail(where, "must be an object with `entity` and `fields`")
        spec = self.entity(f"{where}.entity", raw.get("entity"))
        given = raw.get("fields")
        if not isinstance(given, dict):
            raise self.fail(f"{where}.fields", "must be an object mapping roles to field names")
        fields: dict[str, str] = {}
        amenities: dict[str, str] = {}
        for role, name in given.items():
            if role == "amenities":
                if not isinstance(name, dict):
                    raise self.fail(f"{where}.fields.amenities", "must map amenities to boolean fields")
                for amenity, field_name in name.items():
                    if amenity not in AMENITIES:
                        raise self.fail(f"{where}.fields.amenities", f"unknown amenity {amenity!r} ({AMENITIES})")
                    amenities[amenity] = self.field(f"{where}.fields.amenities", spec, amenity, field_name, {"bool"})
            elif role not in roles:
                raise self.fail(f"{where}.fields", f"unknown role {role!r} (roles: {', '.join(sorted(roles))})")
            elif name is not None:
                fields[role] = self.field(f"{where}.fields", spec, role, name, roles[role])
        closed = raw.get("closed", [])
        if not isinstance(closed, list) or not all(isinstance(word, str) for word in closed):
            raise self.fail(f"{where}.closed", "must be a list of status values")
        words = frozenset(filter(None, (norm(word) for word in closed)))
        return Side(entity=spec.name, fields=fields, amenities=amenities, closed=words)

    def result(self, where: str, raw: Any, offer: Side, seek: Side) -> Result:
        if not isinstance(raw, dict):
            raise self.fail(where, "must be an object with `entity`, `fields` and `new_status`")
        spec = self.entity(f"{where}.entity", raw.get("entity"))
        given = raw.get("fields")
        if not isinstance(given, dict):
            raise self.fail(f"{where}.fields", "must be an object mapping roles to field names")
        fields: dict[str, str] = {}
        for role, name in given.items():
            if role not in RESULT_ROLES:
                raise self.fail(f"{where}.fields", f"unknown role {role!r} (roles: {', '.join(RESULT_ROLES)})")
            fields[role] = self.field(f"{where}.fields", spec, role, name, RESULT_ROLES[role])
        for role in RESULT_REQUIRED:
            if role not in fields:
                raise self.fail(f"{where}.fields", f"{role} is required")
        for role, side in (("offer_id", offer), ("seek_id", seek)):
            ref = spec.fields[fields[role]].ref
            if ref is not None and ref != side.entity:
                raise self.fail(
                    f"{where}.fields", f"{role} → {spec.name}.{fields[role]} refers to {ref}, not {side.entity}"
                )
        pair = {fields["offer_id"], fields["seek_id"]}
        if not any(set(group) == pair for group in DECLARATIONS[spec.name].unique):  # one record per pair
            raise self.fail(
                f"{where}.entity",
                f'{spec.name} must declare "x-unique": [["{fields["seek_id"]}", "{fields["offer_id"]}"]] '
                f"in backend/entities/{spec.name}.json (one record per pair)",
            )
        new_status = raw.get("new_status")
        if not isinstance(new_status, str) or not new_status.strip():
            raise self.fail(f"{where}.new_status", "must be the status value of an untouched new match")
        return Result(entity=spec.name, fields=fields, new_status=new_status)


def parse_pairings(data: Any, source: str) -> tuple[Pairing, ...]:
    """Check a list of pairings (as read from JSON) against the declarations; raise PairingError naming the field."""
    check = _Checker(source)
    if not isinstance(data, list) or not data:
        raise check.fail("top level", "must be a non-empty JSON list of pairings")
    found: list[Pairing] = []
    for index, raw in enumerate(data):
        where = f"pairing {index + 1}"
        if not isinstance(raw, dict):
            raise check.fail(where, "must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not name.isidentifier() or name in {p.name for p in found}:
            raise check.fail(f"{where}.name", f"{name!r} must be a unique identifier (e.g. brokerage)")
        where = f"pairing {name!r}"
        unknown = set(raw) - {"name", "description", "page", "offer", "seek", "result", "alerts"}
        if unknown:
            raise check.fail(where, f"unknown key {sorted(unknown)[0]!r}")
        offer = check.side(f"{where}.offer", raw.get("offer"), OFFER_ROLES)
        seek = check.side(f"{where}.seek", raw.get("seek"), SEEK_ROLES)
        result = check.result(f"{where}.result", raw.get("result"), offer, seek)
        if len({offer.entity, seek.entity, result.entity}) != 3:
            raise check.fail(where, "offer, seek and result must be three different entities")
        alerts = raw.get("alerts", False)
        if not isinstance(alerts, bool):
            raise check.fail(f"{where}.alerts", "must be true or false")
        page = raw.get("page", "")
        if not isinstance(page, str) or not all(ch.isalnum() or ch in "/-_?=&" for ch in page):
            raise check.fail(f"{where}.page", "must be the path of a frontend page, e.g. MatchesBrokerage")
        found.append(Pairing(name, offer, seek, result, alerts, str(raw.get("description") or ""), page.lstrip("/")))
    results = [p.result.entity for p in found]
    if len(set(results)) != len(results):
        raise check.fail("top level", "two pairings store their matches in the same entity")
    return tuple(found)


@lru_cache
def _load(path: str) -> tuple[Pairing, ...]:
    file = Path(path) if path else DEFAULT_FILE
    source = _source()
    try:
        data = json.loads(file.read_text("utf-8"))
    except OSError as exc:
        raise PairingError(f"{source}: cannot read the file: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise PairingError(f"{source}: not valid JSON: {exc}") from None
    return parse_pairings(data, source)


def pairings() -> tuple[Pairing, ...]:
    """Every pairing, checked (PairingError when MATCH_PAIRINGS or the defaults do not fit the declarations)."""
    return _load(get_settings().match_pairings)


def reload() -> None:
    """Forget the loaded pairings (tests that change MATCH_PAIRINGS)."""
    _load.cache_clear()


def get_pairing(name: str) -> Pairing:
    for pairing in pairings():
        if pairing.name == name:
            return pairing
    from backend.errors import ValidationFailed, field_error

    names = ", ".join(p.name for p in pairings())
    raise ValidationFailed(
        f"No pairing named {name[:60]!r} (pairings: {names})", detail=[field_error("pairing", "unknown pairing", name)]
    )


def for_entity(entity: str) -> list[Pairing]:
    """The pairings in which `entity` offers or seeks."""
    return [p for p in pairings() if entity in (p.offer.entity, p.seek.entity)]


def for_result(entity: str) -> Pairing | None:
    return next((p for p in pairings() if p.result.entity == entity), None)
