"""Input rules for entity records (API.md §1): lenient exactly where Base44 is, strict elsewhere.

- Built-in fields sent back by forms are ignored, never rejected; storage columns too.
- `""` means null for every declared field whose kind is not `str`.
- Undeclared keys are kept (in `extra`) if they are well-formed names.
- A value of the wrong type is a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from backend.entity_schema import NO_DEFAULT
from backend.errors import ValidationFailed, field_error
from backend.jsonutil import dumps
from backend.services.registry import BUILTIN_KINDS, FIELD_NAME, INTERNAL, EntitySpec

MAX_KEYS = 500
MAX_TEXT = 50_000  # characters in one text value
MAX_EXTRA_BYTES = 256 * 1024  # all undeclared fields of one record, as JSON
INT_RANGE = (-(2**63), 2**63 - 1)
# Lists and objects inside one value: deeper is refused on every write path. What is stored must stay
# readable by every read path (orjson, which renders pages, stops at 254 levels; a record and its page
# add two) — and no CRM data is nested like this.
MAX_DEPTH = 32
IGNORED = set(BUILTIN_KINDS) | INTERNAL


# Declared dates are stored as the text sent and compared as text, so only one spelling may get in: a
# spreadsheet's 45658 or 05/03/2025 (which day?) would sort and filter wrongly for ever after.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?")
_DATE_FORMS = {
    "date": "expected a date as YYYY-MM-DD, a real calendar day (e.g. 2025-03-05)",
    "datetime": "expected a date and time as YYYY-MM-DDTHH:MM, optionally with :SS, a fraction and Z or an offset "
    "such as +02:00 (e.g. 2025-03-05T14:30), or a date as YYYY-MM-DD",
}


def _calendar(kind: str, value: str) -> bool:
    """`value` is the kind's one accepted ISO-8601 form and names a real day (and time)."""
    if not (_DATE if kind == "date" else _DATETIME).fullmatch(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:  # 2025-02-30, 25:00, +24:00
        return False
    return True


def _check(kind: str, value: Any) -> tuple[Any, str | None]:
    """The stored value, or an error message."""
    if value == "" and kind != "str":
        return None, None
    if value is None:
        return None, None
    if kind in ("date", "datetime"):
        if not isinstance(value, str):
            return None, "expected text"
        return (value, None) if _calendar(kind, value) else (None, _DATE_FORMS[kind])
    if kind in ("str", "ref"):
        if not isinstance(value, str):
            return None, "expected text"
        if len(value) > MAX_TEXT:
            return None, f"at most {MAX_TEXT} characters"
        if "\x00" in value:
            return None, "may not contain the NUL character (U+0000)"
        return value, None
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            return None, "expected a whole number"
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            return None, "number out of range"
        return value, None
    if kind == "float":
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return None, "expected a number"
        return float(value), None
    if kind == "bool":
        return (value, None) if isinstance(value, bool) else (None, "expected true or false")
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "expected a list of text values"
        if sum(len(v) for v in value) > MAX_TEXT * 4:
            return None, "list too long"
        if any("\x00" in v for v in value):
            return None, "may not contain the NUL character (U+0000)"
        return value, None
    if kind in ("array", "object"):
        expected = list if kind == "array" else dict
        if not isinstance(value, expected):
            return None, "expected a list" if kind == "array" else "expected an object"
        encoded = dumps(value)
        if len(encoded) > MAX_EXTRA_BYTES:
            return None, f"larger than {MAX_EXTRA_BYTES} bytes"
        if b"\\u0000" in encoded:
            return None, "may not contain the NUL character (U+0000)"
        return value, None
    return None, f"unknown kind {kind}"


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/objects nest more than `limit` levels (a scalar is 0, `[1]` is 1). Iterative: a hostile
    value cannot exhaust the stack here."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _too_big(value: Any) -> bool:
    """A number no client can read back: past 64 bits as an integer, a float PostgreSQL's JSONB would
    return as a 300-digit integer (1e300 is stored as an exact numeric), or NaN/infinity (stored as the
    bare word `NaN`, which SQLite's JSON functions then refuse in every query of the collection)."""
    if isinstance(value, float):
        return not math.isfinite(value) or abs(value) >= 2**63
    if isinstance(value, dict):
        return any(_too_big(v) for v in value.values())
    if isinstance(value, list):
        return any(_too_big(v) for v in value)
    return False


def encode_extra(values: dict[str, Any]) -> bytes:
    """Undeclared values as JSON; a number past 64 bits (JSON allows it, storage and clients do not) is a 422."""
    problem = ValidationFailed(
        "A number is too large (at most 64-bit integers, or a decimal below 9.2e18)",
        detail=[field_error("*", "number too large (at most 64-bit)", None)],
    )
    if _too_big(values):
        raise problem
    try:
        return dumps(values)
    except TypeError:
        raise problem from None


def _with_defaults(spec: EntitySpec, data: dict[str, Any]) -> dict[str, Any]:
    """A create's input plus the schema's `default` of every field it leaves out (Base44 applies them too)."""
    defaults = {
        name: declared.default
        for name, declared in (*spec.fields.items(), *spec.extra_fields.items())
        if declared.default is not NO_DEFAULT and name not in data
    }
    return {**data, **defaults} if defaults else data


def validate_record(
    spec: EntitySpec, data: Any, *, partial: bool, loc: str = "body", server: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Splits an input object into (declared column values, extra values), or raises a 422. `server` (the
    trusted import) may set the fields a declaration marks `readOnly`; clients never can."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            "A record must be a JSON object",
            detail=[{"type": "dict_type", "loc": [loc], "msg": "Input should be an object", "input": None}],
        )
    if len(data) > MAX_KEYS:
        raise ValidationFailed(
            f"A record may have at most {MAX_KEYS} fields", detail=[field_error("*", "too many fields")]
        )
    columns: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    if not partial:
        data = _with_defaults(spec, data)
    for key, value in data.items():
        if key in IGNORED:
            continue
        declared = spec.field(key)
        if declared is not None:
            if declared.read_only and not server:
                continue  # the server's own field: ignored like a built-in (Base44 forms send records back)
            stored, problem = _check(declared.kind, value)
            if problem is None and declared.enum is not None and stored is not None and stored not in declared.enum:
                problem = "not one of the allowed values: " + ", ".join(str(v) for v in declared.enum[:20])
            if problem:
                errors.append(field_error(key, problem, value, kind=f"{declared.kind}_type"))
            else:
                (columns if key in spec.fields else extra)[key] = stored
        elif not FIELD_NAME.match(key) or "." in key:
            errors.append(field_error(str(key)[:64], "not a valid field name (letters, digits and _)", None))
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            errors.append(field_error(key, f"at most {MAX_TEXT} characters", None))
        elif too_deep(value):
            errors.append(field_error(key, f"lists and objects nested more than {MAX_DEPTH} levels deep", None))
        else:
            extra[key] = value
    for name, declared in (*spec.fields.items(), *spec.extra_fields.items()):
        if not declared.required or declared.read_only:
            continue
        accepted = columns if name in spec.fields else extra
        value = accepted.get(name)
        if not partial and value in (None, ""):
            errors.append(field_error(name, "required", value, kind="missing"))
        elif partial and name in accepted and value in (None, ""):
            errors.append(field_error(name, "required: may not be empty", value, kind="missing"))
    if extra:
        encoded = encode_extra(extra)
        if len(encoded) > MAX_EXTRA_BYTES:
            errors.append(field_error("*", f"undeclared fields exceed {MAX_EXTRA_BYTES} bytes", None))
        if b"\\u0000" in encoded:  # PostgreSQL cannot store U+0000: refuse it on every database alike
            errors.append(field_error("*", "text may not contain the NUL character (U+0000)", None))
    if errors:
        names = ", ".join(str(e["loc"][-1]) for e in errors[:5])
        raise ValidationFailed(f"Invalid {spec.name}: check {names}", detail=errors)
    return columns, extra
