"""The registry of entities: which models exist, their REST paths and their declared fields.

Everything generic (validation, the query engine, routes on both surfaces) reads field kinds from
here, and they come from the models' columns, so a field is declared exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, true

from backend.errors import NotFound
from backend.models import (
    Client,
    Contact,
    Document,
    MarketingLead,
    MarketingLog,
    Match,
    Meeting,
    Project,
    Property,
    ServiceCall,
    Supplier,
    Task,
)
from backend.models.fields import Kind

# Built-in fields every record has (API.md §1) and their kinds; read-only for clients.
BUILTIN_KINDS: dict[str, str] = {
    "id": "str",
    "created_date": "timestamp",
    "updated_date": "timestamp",
    "created_by": "str",
    "created_by_id": "str",
    "is_sample": "bool",
}
# Storage columns that are never fields: an input key with one of these names is ignored.
INTERNAL = {"deleted_at", "version", "extra", "entity_name"}
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,3}$")
ENTITY_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    required: bool
    ref: str | None


@dataclass(frozen=True, eq=False)  # identity-hashed: specs are singletons, usable as cache keys
class EntitySpec:
    name: str
    collection: str
    model: Any
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    document: bool = False

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[no-any-return]

    def scope(self) -> ColumnElement[bool]:
        """The condition that selects this entity's rows (the document store holds many entities)."""
        if self.document:
            return Document.entity_name == self.name
        return true()


def _spec(model: Any, name: str, collection: str) -> EntitySpec:
    fields = {
        column.key: FieldSpec(
            column.key, column.info["kind"], column.info.get("required", False), column.info.get("ref")
        )
        for column in model.__table__.columns
        if "kind" in column.info
    }
    return EntitySpec(name=name, collection=collection, model=model, fields=fields)


MODELLED: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        _spec(Contact, "Contact", "contacts"),
        _spec(Property, "Property", "properties"),
        _spec(Client, "Client", "clients"),
        _spec(Meeting, "Meeting", "meetings"),
        _spec(Task, "Task", "tasks"),
        _spec(ServiceCall, "ServiceCall", "service_calls"),
        _spec(Supplier, "Supplier", "suppliers"),
        _spec(Project, "Project", "projects"),
        _spec(MarketingLead, "MarketingLead", "marketing_leads"),
        _spec(MarketingLog, "MarketingLog", "marketing_logs"),
        _spec(Match, "Match", "matches"),
    )
}

# Names the Base44 surface must never hand to the document store.
RESERVED = {"User", "Users", "Me", "File", "Files"}


@lru_cache(maxsize=512)
def _document_spec(name: str) -> EntitySpec:
    return EntitySpec(name=name, collection=name, model=Document, document=True)


def get_spec(name: str) -> EntitySpec:
    """A modelled entity by PascalCase name, else the document store scoped to that name."""
    spec = MODELLED.get(name)
    if spec is not None:
        return spec
    if not ENTITY_NAME.match(name) or name in RESERVED:
        raise NotFound(f"No entity named {name[:80]!r}")
    return _document_spec(name)


def field_kind(spec: EntitySpec, name: str) -> str | None:
    """`str`/`int`/... for declared fields, `timestamp`/... for built-ins, None for undeclared (extra) ones."""
    if name in BUILTIN_KINDS:
        return BUILTIN_KINDS[name]
    declared = spec.fields.get(name)
    return declared.kind if declared else None
