"""Base44 entity schemas: the one format every entity is declared in.

The office's own entities are declared in `backend/entities/<Name>.json`; a Base44 export's schema files
(`entities/<Name>.json` or `.jsonc`) use the same format and type the entities nobody declared. A schema
is JSON-schema-like: `properties` with `type` (string, integer, number, boolean, array, object),
`format` (`date`, `date-time`), `enum`, `default`, `readOnly`, and a `required` list. Our own
declarations add storage hints (`x-table`, `x-collection`, `x-index`, `x-ref`, `x-unique`) that imported
files never need. Parsing is pure: the model layer builds tables from it, the registry specs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

Kind = Literal["str", "int", "float", "bool", "date", "datetime", "ref", "list", "array", "object"]
KINDS: tuple[Kind, ...] = ("str", "int", "float", "bool", "date", "datetime", "ref", "list", "array", "object")
# Kinds whose values are JSON documents (lists, objects) rather than scalars.
JSON_KINDS = frozenset({"list", "array", "object"})
ENTITY_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")
PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
STORAGE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_PROPERTIES = 400
NO_DEFAULT: Any = object()


class SchemaError(ValueError):
    """A schema that cannot be used; the message names the entity (or file) and the property."""


@dataclass(frozen=True)
class FieldSpec:
    """One declared field: its kind, and what writes must respect."""

    name: str
    kind: Kind
    required: bool = False
    ref: str | None = None  # the entity whose id this field holds
    read_only: bool = False  # set by the server only; ignored in client writes, like the built-ins
    enum: tuple[Any, ...] | None = None  # allowed values (imported Base44 schemas); None: any value
    default: Any = NO_DEFAULT  # applied on create when the field is absent
    index: bool = False
    examples: tuple[Any, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class EntityDecl:
    """A parsed schema: the entity's fields, its row rules (raw), and where it is stored."""

    name: str
    fields: dict[str, FieldSpec]
    rls: dict[str, Any] | None = None
    description: str | None = None
    table: str | None = None  # our own declarations only: the table and the REST collection
    collection: str | None = None
    unique: tuple[tuple[str, ...], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (Base44's `.jsonc`) → plain JSON. Strings are kept intact."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise SchemaError("an unclosed /* comment")
            i = close + 2
        else:
            out.append(ch)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def load_schema_text(text: str, source: str) -> dict[str, Any]:
    """The JSON object of a `.json`/`.jsonc` schema file, or a SchemaError naming `source`."""
    try:
        value = orjson.loads(strip_jsonc(text))
    except (orjson.JSONDecodeError, SchemaError) as exc:
        raise SchemaError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SchemaError(f"{source}: a schema must be a JSON object")
    return value


def _kind(entity: str, name: str, prop: dict[str, Any]) -> Kind:
    declared = prop.get("type")
    if isinstance(declared, list):  # ["string", "null"]: nullable, as every field is here
        options = [t for t in declared if t != "null"]
        declared = options[0] if len(options) == 1 else None
    if declared == "string":
        if prop.get("x-ref"):
            return "ref"
        return {"date": "date", "date-time": "datetime"}.get(prop.get("format") or "", "str")  # type: ignore[return-value]
    simple: dict[Any, Kind] = {"integer": "int", "number": "float", "boolean": "bool", "object": "object"}
    if declared in simple:
        return simple[declared]
    if declared == "array":
        items = prop.get("items")
        item_type = items.get("type") if isinstance(items, dict) else None
        return "list" if item_type == "string" else "array"
    raise SchemaError(
        f"{entity}.{name}: unknown type {str(declared)[:40]!r} (string, integer, number, boolean, array, object)"
    )


def _field(entity: str, name: str, prop: Any, required: bool) -> FieldSpec:
    if not PROPERTY_NAME.match(name):
        raise SchemaError(f"{entity}: {name[:64]!r} is not a valid field name (letters, digits and _)")
    if not isinstance(prop, dict):
        raise SchemaError(f'{entity}.{name}: a property must be an object such as {{"type": "string"}}')
    kind = _kind(entity, name, prop)
    enum = prop.get("enum")
    if enum is not None and (not isinstance(enum, list) or not enum):
        raise SchemaError(f"{entity}.{name}: enum must be a non-empty list")
    ref = prop.get("x-ref")
    if ref is not None and (not isinstance(ref, str) or not ENTITY_NAME.match(ref)):
        raise SchemaError(f"{entity}.{name}: x-ref must name an entity")
    examples = prop.get("examples") or ()
    return FieldSpec(
        name=name,
        kind=kind,
        required=required,
        ref=ref,
        read_only=prop.get("readOnly") is True,
        enum=tuple(enum) if enum is not None else None,
        default=prop.get("default", NO_DEFAULT),
        index=prop.get("x-index") is True or ref is not None,
        examples=tuple(examples) if isinstance(examples, list) else (),
        description=prop.get("description") if isinstance(prop.get("description"), str) else None,
    )


def parse_schema(doc: dict[str, Any], *, name: str | None = None, source: str | None = None) -> EntityDecl:
    """Checks and parses one schema. `name` (from the file name) is used when the schema has none."""
    entity = doc.get("name", name)
    where = source or str(entity)
    if not isinstance(entity, str) or not ENTITY_NAME.match(entity):
        raise SchemaError(f"{where}: {str(entity)[:64]!r} is not a valid entity name (PascalCase letters and digits)")
    if name is not None and entity != name:
        raise SchemaError(f"{where}: the schema names {entity!r}, the file {name!r}")
    properties = doc.get("properties", {})
    if not isinstance(properties, dict):
        raise SchemaError(f"{where}: properties must be an object")
    if len(properties) > MAX_PROPERTIES:
        raise SchemaError(f"{where}: at most {MAX_PROPERTIES} properties")
    required = doc.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise SchemaError(f"{where}: required must be a list of field names")
    unknown = [r for r in required if r not in properties]
    if unknown:
        raise SchemaError(f"{where}: required names {unknown[0]!r}, which is not among its properties")
    fields = {key: _field(entity, key, prop, key in required) for key, prop in properties.items()}
    rls = doc.get("rls")
    if rls is not None and not isinstance(rls, dict):
        raise SchemaError(f"{where}: rls must be an object of per-operation rules")
    unique = tuple(tuple(group) for group in doc.get("x-unique", ()))
    for group in unique:
        if not group or any(col not in fields for col in group):
            raise SchemaError(f"{where}: x-unique names a field that is not declared")
    for key in ("x-table", "x-collection"):
        if key in doc and not (isinstance(doc[key], str) and STORAGE_NAME.match(doc[key])):
            raise SchemaError(f"{where}: {key} must be a lower-case identifier")
    description = doc.get("description")
    return EntityDecl(
        name=entity,
        fields=fields,
        rls=rls,
        description=description if isinstance(description, str) else None,
        table=doc.get("x-table"),
        collection=doc.get("x-collection"),
        unique=unique,
        raw=doc,
    )
