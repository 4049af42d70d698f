"""The registry of entities: which exist, their REST paths, their fields and their row rules.

Everything generic (validation, the query engine, routes on both surfaces, the importer) reads field
kinds from here. They come from two places, both Base44 entity schemas:
- the office's own declarations (backend/entities/*.json): a table each, a column per field;
- schemas that came with imported data (table `entity_schemas`): they type the fields of entities
  nobody declared (stored in the document store's `extra`), type extra fields of declared ones, and
  may carry row rules.
The stored part changes at run time; `sync()` reloads it whenever the generation counter the request's
session check reads has moved, so every process sees a change on its next request.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, select, true

from backend.entity_schema import ENTITY_NAME, EntityDecl, FieldSpec, SchemaError, parse_schema
from backend.errors import BadRequest, NotFound
from backend.models import DECLARATIONS, ENTITY_MODELS, Document, StoredSchema

log = logging.getLogger(__name__)

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
# Names the Base44 surface must never hand to the document store.
RESERVED = {"User", "Users", "Me", "File", "Files"}


@dataclass(frozen=True, eq=False)  # identity-hashed: specs are singletons, usable as cache keys
class EntitySpec:
    name: str
    collection: str
    model: Any
    fields: dict[str, FieldSpec] = field(default_factory=dict)  # declared fields with a column each
    document: bool = False
    # Fields typed by a schema but kept in `extra` (all of a document entity's; a declared entity's extras)
    extra_fields: dict[str, FieldSpec] = field(default_factory=dict)
    rls: dict[str, Any] | None = None
    description: str | None = None
    unique: tuple[tuple[str, ...], ...] = ()  # declared unique field groups (x-unique)

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[no-any-return]

    def field(self, name: str) -> FieldSpec | None:
        """The declared or schema-typed field `name`, wherever it is stored."""
        return self.fields.get(name) or self.extra_fields.get(name)

    def scope(self) -> ColumnElement[bool]:
        """The condition that selects this entity's rows (the document store holds many entities)."""
        if self.document:
            return Document.entity_name == self.name
        return true()


MODELLED: dict[str, EntitySpec] = {
    name: EntitySpec(
        name=name,
        collection=decl.collection or name,
        model=ENTITY_MODELS[name],
        fields=decl.fields,
        rls=decl.rls,
        description=decl.description,
        unique=decl.unique,
    )
    for name, decl in DECLARATIONS.items()
}


def dependency_order(entities: list[str]) -> list[str]:
    """Referenced entities first (by the declarations' `x-ref`), then the ones that point at them; names the
    server does not declare come last, alphabetically. Loading in this order finds no dangling reference."""
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path or name not in entities:
            return
        for declared in MODELLED[name].fields.values():
            if declared.ref is not None and declared.ref != name:
                visit(declared.ref, (*path, name))
        done.append(name)

    for name in sorted(n for n in entities if n in MODELLED):
        visit(name, ())
    return done + sorted(n for n in entities if n not in MODELLED)


@dataclass(frozen=True)
class _Stored:
    generation: int
    decls: dict[str, EntityDecl]


_stored = _Stored(generation=-1, decls={})
_lock = threading.Lock()


def spec_with(name: str, stored: EntityDecl | None) -> EntitySpec:
    """The spec of `name` as it is with the stored schema `stored` (None: none stored)."""
    base = MODELLED.get(name)
    if base is None:
        if not ENTITY_NAME.match(name):
            raise BadRequest(f"{name[:80]!r} is not a valid entity name (PascalCase letters and digits, e.g. Contact)")
        if name in RESERVED:
            raise NotFound(f"No entity named {name[:80]!r}")
        base = EntitySpec(name=name, collection=name, model=Document, document=True)
    if stored is None:
        return base
    typed = {key: spec for key, spec in stored.fields.items() if key not in base.fields and key not in BUILTIN_KINDS}
    return replace(base, extra_fields=typed, rls=stored.rls if stored.rls is not None else base.rls)


@lru_cache(maxsize=1024)
def _spec(name: str, generation: int) -> EntitySpec:
    return spec_with(name, _stored.decls.get(name))


def get_spec(name: str) -> EntitySpec:
    """A declared entity by PascalCase name, else the document store scoped to that name."""
    return _spec(name, _stored.generation)


def stored_decls() -> dict[str, EntityDecl]:
    return dict(_stored.decls)


def generation() -> int:
    return _stored.generation


def parse_stored(rows: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, EntityDecl]:
    """Stored schemas were checked when saved; one that no longer parses is logged and left out."""
    decls: dict[str, EntityDecl] = {}
    for name, doc in rows:
        try:
            decls[name] = parse_schema(doc, name=name, source=f"stored schema {name}")
        except SchemaError as exc:
            log.error("ignoring a stored entity schema: %s", exc)
    return decls


def sync(current: int, load: Callable[[], Iterable[tuple[str, dict[str, Any]]]]) -> None:
    """Reload the stored schemas if the database's generation is not the one this process holds."""
    global _stored
    if current == _stored.generation:
        return
    with _lock:
        if current != _stored.generation:
            _stored = _Stored(generation=current, decls=parse_stored(load()))


def load_query() -> Any:
    return select(StoredSchema.name, StoredSchema.schema)
