"""One row → one record ready to store, or the reason it is rejected.

The built-in fields are parsed here (the import is the one path that keeps them verbatim); every other
field goes through `validate_record`, the API's own rules, so import and API never disagree on types.

`deleted_date` (our export's mark on a trashed record, export.py) is read as the record's state, never
kept as a field: a row with one is stored in the trash, a row without one (or with it empty) is live.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.errors import ValidationFailed
from backend.services.entities import RECORD_ID
from backend.services.importer.cells import (
    CellError,
    check_storable,
    parse_timestamp,
    preview,
    text_to_kind,
    text_to_undeclared,
    unescape,
)
from backend.services.importer.sources import Row
from backend.services.registry import BUILTIN_KINDS, INTERNAL, EntitySpec
from backend.services.validation import validate_record

TYPED_FROM_TEXT = {"int", "float", "bool", "list", "array", "object"}
BUILTIN_LIMITS = {"created_by": 320, "created_by_id": 64}
DELETED = "deleted_date"


class RowError(Exception):
    """This row is rejected; the message is the reason shown in the report."""


@dataclass
class PreparedRow:
    where: str
    id: str | None  # None: a new record that gets a fresh id (Base44's importEntities of rows without one)
    columns: dict[str, Any]  # every declared field, None where absent
    extra: dict[str, Any]
    # The built-ins the source carries (a column that is absent keeps the stored value, or gets its default).
    builtins: dict[str, Any]
    deleted_at: dt.datetime | None = None  # in the trash since then; None: a live record (restored if trashed)


def _text_error(name: str, problem: str, value: Any) -> str:
    return f"{name}: {problem} (got {preview(value)})" if value not in (None, "") else f"{name}: {problem}"


def _builtin_text(values: dict[str, Any], name: str, errors: list[str]) -> str | None:
    value = values[name]
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.append(_text_error(name, "expected text", value))
        return None
    if len(value) > BUILTIN_LIMITS[name]:
        errors.append(f"{name}: at most {BUILTIN_LIMITS[name]} characters")
        return None
    return value


def _builtin_time(values: dict[str, Any], name: str, errors: list[str]) -> dt.datetime | None:
    value = values[name]
    if value is None or value == "":
        return None
    try:
        return parse_timestamp(value)
    except CellError as exc:
        errors.append(_text_error(name, str(exc), value))
        return None


def _builtin_bool(value: Any, errors: list[str]) -> bool:
    if isinstance(value, str):
        try:
            value = text_to_kind("bool", value)
        except CellError:
            errors.append(_text_error("is_sample", "expected true or false", value))
            return False
    if value is None:
        return False
    if not isinstance(value, bool):
        errors.append(_text_error("is_sample", "expected true or false", value))
        return False
    return value


def _record_id(values: dict[str, Any], *, new_ids: bool) -> str | None:
    value = values.get("id")
    if value is None or value == "":
        if new_ids:
            return None
        raise RowError("no id: every exported record has one, and the import matches records by it")
    if not isinstance(value, str) or not RECORD_ID.match(value):
        raise RowError(f"id {preview(value)} is not a valid id (1 to 64 letters, digits, _ or -)")
    return value


def _validation_reason(exc: ValidationFailed) -> str:
    if not isinstance(exc.detail, list):
        return exc.message
    parts = []
    for err in exc.detail[:8]:
        name = str(err.get("loc", ["?"])[-1])
        parts.append(_text_error(name, str(err.get("msg")), err.get("input")))
    return "; ".join(parts)


def prepare(
    spec: EntitySpec,
    row: Row,
    *,
    trusted: bool = True,
    new_ids: bool = False,
    rewrite: Callable[[Any], Any] | None = None,
) -> PreparedRow:
    """Raises RowError with the reason. `trusted=False` ignores every built-in (a new record each row)."""
    if row.problem:
        raise RowError(row.problem)
    values = {k: unescape(v) if isinstance(v, str) else v for k, v in row.values.items()} if row.csv else row.values
    errors: list[str] = []
    record_id = _record_id(values, new_ids=new_ids) if trusted else None
    data: dict[str, Any] = {}
    for key, raw in values.items():
        if key in BUILTIN_KINDS or key == DELETED:
            continue
        declared = spec.field(key)
        value = raw
        try:
            if row.csv and declared is None:
                if raw == "":
                    continue  # an empty cell of an undeclared column is no value, not a null one
                value = text_to_undeclared(raw)
            elif declared is not None and isinstance(raw, str) and (row.csv or declared.kind in TYPED_FROM_TEXT):
                value = text_to_kind(declared.kind, raw)
            check_storable(value)
        except CellError as exc:
            errors.append(_text_error(key, str(exc), raw))
            continue
        data[key] = rewrite(value) if rewrite is not None else value
    builtins: dict[str, Any] = {}
    for name in ("created_date", "updated_date"):
        if name in values:
            builtins[name] = _builtin_time(values, name, errors)
    for name in ("created_by", "created_by_id"):
        if name in values:
            builtins[name] = _builtin_text(values, name, errors)
    if "is_sample" in values:
        builtins["is_sample"] = _builtin_bool(values["is_sample"], errors)
    deleted_at = _builtin_time(values, DELETED, errors) if DELETED in values else None
    try:
        columns, extra = validate_record(spec, data, partial=False, server=trusted)
    except ValidationFailed as exc:
        errors.append(_validation_reason(exc))
    except (TypeError, ValueError, OverflowError):  # orjson refuses integers past 64 bits in the size check
        errors.append("a value cannot be stored (a number too large?)")
    if errors:
        raise RowError("; ".join(errors))
    # A Base44 field that happens to share a storage column's name (`version`, `extra`...) is kept, not dropped.
    extra.update({k: v for k, v in data.items() if k in INTERNAL and v is not None})
    return PreparedRow(
        where=row.where,
        id=record_id,
        columns={name: columns.get(name) for name in spec.fields},
        extra=extra,
        builtins=builtins if trusted else {},
        deleted_at=deleted_at,
    )
