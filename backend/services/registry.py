"""The registry of entities: which exist, their REST paths and their declared fields.

Everything generic (validation, the query engine, routes on both surfaces, the importer) reads field
kinds from here, and they come from the entities' declarations (backend/entities/*.json), so a field is
declared exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, true

from backend.entity_schema import ENTITY_NAME, EntityDecl, FieldSpec
from backend.errors import NotFound
from backend.models import DECLARATIONS, ENTITY_MODELS, Document

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


@dataclass(frozen=True, eq=False)  # identity-hashed: specs are singletons, usable as cache keys
class EntitySpec:
    name: str
    collection: str
    model: Any
    fields: dict[str, FieldSpec] = field(default_factory=dict)  # declared fields with a column each
    document: bool = False
    decl: EntityDecl | None = None

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[no-any-return]

    def scope(self) -> ColumnElement[bool]:
        """The condition that selects this entity's rows (the document store holds many entities)."""
        if self.document:
            return Document.entity_name == self.name
        return true()


MODELLED: dict[str, EntitySpec] = {
    name: EntitySpec(
        name=name, collection=decl.collection or name, model=ENTITY_MODELS[name], fields=decl.fields, decl=decl
    )
    for name, decl in DECLARATIONS.items()
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
