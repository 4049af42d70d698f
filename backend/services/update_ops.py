"""Mongo update operators for `updateMany` (API.md §7.1), applied to one record in Python.

`apply(record, data)` returns the fields to set and the fields to remove; the entity service then
validates and stores them exactly like a merge update, so the same type rules hold.
"""

from __future__ import annotations

import copy
from typing import Any

from backend.errors import BadRequest
from backend.jsonutil import format_datetime
from backend.models.base import utcnow
from backend.services.query.targets import is_number
from backend.services.registry import BUILTIN_KINDS, FIELD_NAME

OPERATORS = {"$set", "$unset", "$inc", "$mul", "$min", "$max", "$rename", "$currentDate", "$addToSet", "$push", "$pull"}


def check(data: Any) -> dict[str, dict[str, Any]]:
    """Validates the shape once per request: operator → {field: argument}; plain keys mean `$set`."""
    if not isinstance(data, dict) or not data:
        raise BadRequest("data must be a non-empty object of fields or update operators")
    ops: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key.startswith("$"):
            if key not in OPERATORS:
                raise BadRequest(f"Unknown update operator {key[:40]!r}; supported: {', '.join(sorted(OPERATORS))}")
            if not isinstance(value, dict) or not value:
                raise BadRequest(f"{key} takes an object of fields")
            ops.setdefault(key, {}).update(value)
        else:
            ops.setdefault("$set", {})[key] = value
    for op, fields in ops.items():
        for name in fields:
            if not isinstance(name, str) or not FIELD_NAME.match(name) or "." in name or name in BUILTIN_KINDS:
                raise BadRequest(f"{op}: {str(name)[:60]!r} is not a field that can be updated")
        if op in ("$inc", "$mul") and not all(is_number(v) for v in fields.values()):
            raise BadRequest(f"{op} takes numbers")
        if op == "$rename" and not all(isinstance(v, str) and FIELD_NAME.match(v) for v in fields.values()):
            raise BadRequest("$rename takes new field names")
    return ops


def _as_list(record: dict[str, Any], name: str) -> list[Any]:
    current = record.get(name)
    if current is None:
        return []
    if not isinstance(current, list):
        raise BadRequest(f"{name} is not a list")
    return list(current)


def apply(record: dict[str, Any], ops: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], set[str]]:
    changes: dict[str, Any] = {}
    removed: set[str] = set()
    view = copy.deepcopy(record)

    def put(name: str, value: Any) -> None:
        changes[name] = value
        view[name] = value
        removed.discard(name)

    for name, value in ops.get("$set", {}).items():
        put(name, value)
    for name in ops.get("$unset", {}):
        changes.pop(name, None)
        view.pop(name, None)
        removed.add(name)
    for name, amount in ops.get("$inc", {}).items():
        put(name, (view.get(name) or 0) + amount)
    for name, factor in ops.get("$mul", {}).items():
        put(name, (view.get(name) or 0) * factor)
    for name, bound in ops.get("$min", {}).items():
        if view.get(name) is None or bound < view[name]:
            put(name, bound)
    for name, bound in ops.get("$max", {}).items():
        if view.get(name) is None or bound > view[name]:
            put(name, bound)
    for old, new in ops.get("$rename", {}).items():
        if old in view:
            put(new, view.pop(old))
            changes.pop(old, None)
            removed.add(old)
    for name in ops.get("$currentDate", {}):
        put(name, format_datetime(utcnow()))
    for name, value in ops.get("$addToSet", {}).items():
        items = _as_list(view, name)
        additions = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
        put(name, items + [v for v in additions if v not in items])
    for name, value in ops.get("$push", {}).items():
        additions = value["$each"] if isinstance(value, dict) and "$each" in value else [value]
        put(name, _as_list(view, name) + list(additions))
    for name, value in ops.get("$pull", {}).items():
        drop = value["$in"] if isinstance(value, dict) and "$in" in value else [value]
        put(name, [v for v in _as_list(view, name) if v not in drop])
    return changes, removed
