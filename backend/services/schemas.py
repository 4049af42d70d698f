"""Storing entity schemas: from a Base44 export's `entities/` folder, or an admin's API call.

A stored schema types an entity nobody declared (its fields, kept in the document store, are then
validated on write, coerced on import and compared by type in queries) and may carry row rules (`rls`)
for any entity, declared ones included. Saving bumps the registry generation in the same transaction,
so every process reloads the stored schemas on its next request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.entity_schema import EntityDecl, FieldSpec, SchemaError, load_schema_text, parse_schema
from backend.errors import BadRequest, NotFound
from backend.executor import executor
from backend.models import DECLARATIONS
from backend.models.base import utcnow
from backend.models.schema_store import RegistryGeneration, StoredSchema
from backend.services import registry, rules
from backend.services.query.fields import FieldResolver
from backend.services.query.filters import QueryCompiler

SCHEMA_SUFFIXES = (".json", ".jsonc")
MAX_SCHEMA_BYTES = 1024 * 1024
_NO_FIELD = FieldSpec(name="", kind="str")


def _pascal(stem: str) -> str:
    """`team-member` (Base44's CLI names files in kebab case) → `TeamMember`; `Tenant` stays `Tenant`."""
    if "-" not in stem and "_" not in stem:
        return stem[:1].upper() + stem[1:]
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", stem) if part)


def read_schema_file(path: Path) -> EntityDecl:
    """One `<Name>.json`/`.jsonc` schema file, checked; a SchemaError names the file and the problem."""
    if path.stat().st_size > MAX_SCHEMA_BYTES:
        raise SchemaError(f"{path.name}: larger than {MAX_SCHEMA_BYTES // 1024} KiB; not an entity schema")
    try:
        text = path.read_text("utf-8-sig")
    except UnicodeDecodeError:
        raise SchemaError(f"{path.name}: not UTF-8 text") from None
    doc = load_schema_text(text, path.name)
    name = doc.get("name") if isinstance(doc.get("name"), str) else _pascal(path.stem)
    return parse_schema(doc, name=name, source=path.name)


def schema_folder(folder: Path) -> Path | None:
    """Where an export keeps its schema files: `entities/` (or Base44 CLI's `base44/entities/`)."""
    for candidate in (folder / "entities", folder / "base44" / "entities"):
        if candidate.is_dir():
            return candidate
    return None


def read_schema_folder(folder: Path) -> dict[str, tuple[EntityDecl, str]]:
    """Every schema file in `folder`, by entity name. Any bad file stops it all: nothing is half-typed."""
    found: dict[str, tuple[EntityDecl, str]] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in SCHEMA_SUFFIXES:
            continue
        decl = read_schema_file(path)
        try:
            _check_storable(decl)  # its rules and types too, before anything of the run is written
        except SchemaError as exc:
            raise SchemaError(f"{path.name}: {exc}") from None
        if decl.name in found:
            raise SchemaError(f"{path.name}: {decl.name} is also described by {found[decl.name][1]}")
        found[decl.name] = (decl, path.name)
    return found


def _check_storable(decl: EntityDecl) -> None:
    """A schema for a declared entity may add typed fields and rules, never retype a declared field."""
    try:
        base = registry.spec_with(decl.name, None)
    except (NotFound, BadRequest) as exc:
        raise SchemaError(f"{decl.name}: {exc.message}") from None
    for name, spec in decl.fields.items():
        declared = base.fields.get(name)
        if declared is not None and declared.kind != spec.kind:
            raise SchemaError(
                f"{decl.name}.{name}: this server declares it as {declared.kind}, the schema as {spec.kind}"
            )
    entity = registry.spec_with(decl.name, decl)
    try:
        rules.check_block(decl.name, decl.rls, rules.known_fields(entity), _field_compiler(entity))
    except rules.RuleError as exc:
        raise SchemaError(str(exc)) from None


def _field_compiler(spec: registry.EntitySpec) -> rules.CompileField:
    """A rule's field condition compiled as this database's queries compile it (services/rules.py)."""
    dialect = executor().dialect
    return lambda name, value: QueryCompiler(FieldResolver(None, spec, strict=False, dialect=dialect)).compile(
        {name: value}
    )


def save(session: Session, decls: Iterable[tuple[EntityDecl, str]]) -> list[str]:
    """Stores (replaces) each schema and bumps the generation; answers the names stored."""
    names: list[str] = []
    now = utcnow()
    for decl, source in decls:
        _check_storable(decl)
        session.merge(StoredSchema(name=decl.name, schema=decl.raw, source=source[:500], updated_date=now))
        names.append(decl.name)
    if names:
        _bump(session)
    return names


def save_document(session: Session, name: str, doc: Any, source: str) -> EntityDecl:
    """An admin's schema for `name` (the API): checked like a file's, then stored."""
    if not isinstance(doc, dict):
        raise BadRequest("A schema is a JSON object with `properties` (and optionally `required`, `rls`)")
    try:
        decl = parse_schema({**doc, "name": doc.get("name", name)}, name=name, source=f"schema of {name}")
        save(session, [(decl, source)])
    except SchemaError as exc:
        raise BadRequest(str(exc)) from None
    return decl


def remove(session: Session, name: str) -> None:
    found = session.execute(delete(StoredSchema).where(StoredSchema.name == name))
    if not found.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"No stored schema for {name[:80]!r}")
    _bump(session)


def _bump(session: Session) -> None:
    session.execute(
        update(RegistryGeneration)
        .where(RegistryGeneration.id == 1)
        .values(generation=RegistryGeneration.generation + 1)
    )


def load_into_registry(session: Session) -> None:
    """Bring this process's registry up to date (scripts and workers, which have no per-request check)."""
    current = session.scalar(select(RegistryGeneration.generation).where(RegistryGeneration.id == 1)) or 0
    registry.sync(current, lambda: [(row[0], row[1]) for row in session.execute(registry.load_query())])


def describe(name: str, stored: EntityDecl | None = None) -> dict[str, Any]:
    """The entity as a Base44 schema, as this server applies it: declared fields, schema-typed fields, rules,
    and what a stored schema contributed (`stored`, null when none). `stored` stands in for the stored
    schema (one saved in this very transaction)."""
    stored = stored or registry.stored_decls().get(name)
    spec = registry.spec_with(name, stored)
    declared = DECLARATIONS.get(name)
    properties: dict[str, Any] = dict(declared.raw.get("properties", {})) if declared else {}
    if stored is not None:
        for key, prop in stored.raw.get("properties", {}).items():
            properties.setdefault(key, prop)
    required = [n for n in properties if (spec.field(n) or _NO_FIELD).required]
    doc: dict[str, Any] = {"name": name, "type": "object", "properties": properties, "required": required}
    doc["rls"] = spec.rls
    doc["declared"] = declared is not None
    doc["stored"] = stored.raw if stored is not None else None
    return doc


def names() -> list[str]:
    """Every entity the server knows a schema of: the declared ones, then the stored ones."""
    return [*registry.MODELLED, *sorted(n for n in registry.stored_decls() if n not in registry.MODELLED)]
