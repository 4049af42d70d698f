"""The office's entities as tables, built from their declarations in `backend/entities/<Name>.json`.

Each declaration is a Base44 entity schema (backend/entity_schema.py) with storage hints; here every
declared field becomes a nullable column of its kind, recorded in `Column.info["kind"]`, on top of the
built-in columns every entity shares (BuiltinFields). Alembic sees these tables like any model's, so
`alembic check` proves the migrations and the declarations agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, Text, UniqueConstraint
from sqlalchemy.orm import mapped_column

from backend.database import Base, JsonType
from backend.entity_schema import EntityDecl, Kind, SchemaError, load_schema_text, parse_schema
from backend.models.base import BuiltinFields

DECLARATIONS_DIR = Path(__file__).resolve().parent.parent / "entities"
# Text for every textual kind (no length surprises on import; dates are kept as sent); BigInteger because
# prices above 2^31 exist in commercial real estate.
COLUMN_TYPES: dict[Kind, Any] = {
    "str": Text, "date": Text, "datetime": Text, "ref": Text,
    "int": BigInteger, "float": Float, "bool": Boolean,
    "list": JsonType, "array": JsonType, "object": JsonType,
}  # fmt: skip
# Names a declared field may not take: the built-in record fields and the storage columns.
RESERVED_FIELDS = frozenset(
    {"id", "created_date", "updated_date", "created_by", "created_by_id", "is_sample"}
    | {"deleted_at", "version", "extra", "entity_name"}
)


def load_declarations(folder: Path = DECLARATIONS_DIR) -> dict[str, EntityDecl]:
    """Every declaration in `folder`, checked: storage names given and unique, refs pointing at entities."""
    decls: dict[str, EntityDecl] = {}
    for path in sorted(folder.glob("*.json")):
        decl = parse_schema(load_schema_text(path.read_text("utf-8"), path.name), name=path.stem, source=path.name)
        if not decl.table or not decl.collection:
            raise SchemaError(f"{path.name}: a built-in declaration needs x-table and x-collection")
        clash = RESERVED_FIELDS & decl.fields.keys()
        if clash:
            raise SchemaError(f"{path.name}: {sorted(clash)[0]!r} is a built-in field and cannot be declared")
        decls[decl.name] = decl
    for attr in ("table", "collection"):
        seen: dict[str, str] = {}
        for decl in decls.values():
            value = getattr(decl, attr)
            if value in seen:
                raise SchemaError(f"{decl.name} and {seen[value]} share the {attr} {value!r}")
            seen[value] = decl.name
    for decl in decls.values():
        for spec in decl.fields.values():
            if spec.ref is not None and spec.ref not in decls:
                raise SchemaError(f"{decl.name}.{spec.name}: x-ref names {spec.ref!r}, which is not declared")
    return decls


def build_model(decl: EntityDecl) -> Any:
    """A declarative class for one declaration: the built-in columns plus one column per field."""
    attrs: dict[str, Any] = {"__tablename__": decl.table, "__doc__": decl.description}
    for spec in decl.fields.values():
        attrs[spec.name] = mapped_column(
            COLUMN_TYPES[spec.kind], nullable=True, index=spec.index, info={"kind": spec.kind}
        )
    if decl.unique:
        attrs["extra_table_args"] = tuple(UniqueConstraint(*group) for group in decl.unique)
    return type(decl.name, (BuiltinFields, Base), attrs)


DECLARATIONS: dict[str, EntityDecl] = load_declarations()
ENTITY_MODELS: dict[str, Any] = {name: build_model(decl) for name, decl in DECLARATIONS.items()}
