"""OpenAPI shapes of entity records, generated from the registry (the models declare each field once)."""

from __future__ import annotations

from typing import Any

from backend.entity_schema import FieldSpec
from backend.services.registry import EntitySpec

_KIND_SCHEMA: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "ref": {"type": "string", "description": "id of another record"},
    "date": {"type": "string", "description": "YYYY-MM-DD (a calendar day), kept as sent"},
    "datetime": {
        "type": "string",
        "description": "YYYY-MM-DDTHH:MM[:SS[.ffffff]], optionally Z or +HH:MM, or YYYY-MM-DD; kept as sent",
    },
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "list": {"type": "array", "items": {"type": "string"}},
    "array": {"type": "array"},
    "object": {"type": "object"},
}
_BUILTINS: dict[str, dict[str, Any]] = {
    "id": {"type": "string"},
    "created_date": {"type": "string", "description": "UTC, YYYY-MM-DDTHH:MM:SS.ffffff"},
    "updated_date": {"type": "string", "description": "UTC, YYYY-MM-DDTHH:MM:SS.ffffff"},
    "created_by": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "created_by_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "is_sample": {"type": "boolean"},
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _documented(schema: dict[str, Any], spec: FieldSpec) -> dict[str, Any]:
    """The field's declaration text and known values (the Hebrew the forms send) in the OpenAPI schema."""
    if spec.description:
        schema = {**schema, "description": spec.description}
    if spec.examples:
        schema = {**schema, "examples": list(spec.examples)}
    return schema


def record_schema(spec: EntitySpec) -> dict[str, Any]:
    """A record as returned: declared fields (nullable), built-ins, and any undeclared fields."""
    properties = {name: _documented(_nullable(_KIND_SCHEMA[f.kind]), f) for name, f in spec.fields.items()}
    properties.update(_BUILTINS)
    return {
        "title": spec.name,
        "description": spec.description or spec.name,
        "type": "object",
        "properties": properties,
        "required": ["id"],
        "additionalProperties": True,
    }


def input_schema(spec: EntitySpec, *, partial: bool) -> dict[str, Any]:
    """A record as sent: `""` is accepted as null for non-text fields; built-ins are ignored if sent."""
    properties: dict[str, Any] = {}
    for name, f in spec.fields.items():
        options = [_KIND_SCHEMA[f.kind], {"type": "null"}]
        if f.kind != "str":
            options.append({"type": "string", "enum": [""]})
        properties[name] = _documented({"anyOf": options}, f)
    required = [] if partial else [n for n, f in spec.fields.items() if f.required]
    schema: dict[str, Any] = {
        "title": f"{spec.name}{'Update' if partial else 'Create'}",
        "type": "object",
        "properties": properties,
        "additionalProperties": True,
    }
    if required:
        schema["required"] = required
    return schema
