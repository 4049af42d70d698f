"""One value at a time: how a Base44 export's text becomes a typed value, and how a value becomes CSV text again.

Base44's dashboard CSV carries everything as text (BASE44.md, "Getting data out"): booleans as
`true`/`TRUE`, numbers as digits, arrays and objects as JSON text, and a spreadsheet `'` in front of a
value that starts with `+`, `=`, `-` or `@` (phones like `'+972...`). The rules here read that back; the
exporter writes the same form, so an export imports again unchanged.

CSV cannot tell an empty string from a missing value: an empty cell is null for every kind, text
included. (The JSON API and our JSON export keep `""` and null apart.)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from backend.jsonutil import format_datetime
from backend.services.validation import MAX_DEPTH  # the API's own limit: import and API agree

# A value that a spreadsheet would run as a formula. The exporter puts one `'` in front of it, and in front of
# a value that already starts with `'` + one of those, so that the importer's "drop one `'`" is exact.
_NEEDS_ESCAPE = re.compile(r"^'*[=+\-@]")
_ESCAPED = re.compile(r"^'+[=+\-@]")
_INT = re.compile(r"^[+-]?\d{1,19}(\.0*)?$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?$")
INT_RANGE = (-(2**63), 2**63 - 1)
_SURROGATE = re.compile("[\ud800-\udfff]")


class CellError(ValueError):
    """A value that cannot be read as its field's kind; the message says what was expected."""


def unescape(text: str) -> str:
    """Drops the spreadsheet `'` that protects `'+972...`, `'=...`, `'-...`, `'@...`."""
    return text[1:] if _ESCAPED.match(text) else text


def escape(text: str) -> str:
    """Adds the `'` a spreadsheet needs to show `=cmd|...` as text instead of running it."""
    return "'" + text if _NEEDS_ESCAPE.match(text) else text


def _reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def json_loads(text: str | bytes) -> Any:
    """Standard JSON, exactly: big integers stay exact, NaN and Infinity are refused (no database stores them)."""
    return json.loads(text, parse_constant=_reject_json_constant)


def text_to_kind(kind: str, text: str) -> Any:
    """A text value for a declared field of `kind` → the stored value; "" → null. Raises CellError."""
    if text == "":
        return None
    if kind in ("str", "date", "datetime", "ref"):
        return text
    value = text.strip()
    if kind == "bool":
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise CellError("expected true or false")
    if kind == "int":
        if not _INT.match(value):
            raise CellError("expected a whole number")
        number = int(value.split(".")[0])
        if not INT_RANGE[0] <= number <= INT_RANGE[1]:
            raise CellError("number out of range")
        return number
    if kind == "float":
        if not _FLOAT.match(value):
            raise CellError("expected a number")
        result = float(value)
        if not math.isfinite(result):
            raise CellError("number out of range")
        return result
    if kind in ("list", "array", "object"):
        shape, example = (dict, '{"a": 1}') if kind == "object" else (list, '["a", "b"]')
        what = f"expected a JSON {'object' if kind == 'object' else 'list'} such as {example}"
        try:
            parsed = json_loads(value)
        except (ValueError, RecursionError):
            raise CellError(what) from None
        if not isinstance(parsed, shape):
            raise CellError(what)
        return parsed
    raise CellError(f"unknown kind {kind}")


def text_to_undeclared(text: str) -> Any:
    """A CSV cell of a column no model declares: JSON arrays/objects are parsed, anything else stays text."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{") and stripped[-1:] in ("]", "}"):
        try:
            parsed = json_loads(stripped)
        except (ValueError, RecursionError):
            return text
        if isinstance(parsed, list | dict):
            return parsed
    return text


def parse_timestamp(value: Any) -> dt.datetime:
    """A built-in date (`2025-12-28T06:45:11.486000`, with `Z` or an offset too) → naive UTC. Raises CellError."""
    if isinstance(value, str) and 10 <= len(value.strip()) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            return parsed
    raise CellError("expected a date and time like 2025-12-28T06:45:11.486000")


def to_cell(value: Any) -> str:
    """A stored value as Base44's CSV shows it: `true`/`false`, JSON text for lists and objects, `'` before formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def check_storable(value: Any, depth: int = 0) -> None:
    """PostgreSQL text and JSONB cannot hold U+0000, and deeply nested JSON is nobody's CRM data: refused early."""
    if depth > MAX_DEPTH:
        raise CellError(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        if "\x00" in value:
            raise CellError("contains a NUL character (U+0000), which the database cannot store")
        if _SURROGATE.search(value):  # from a JSON `\ud800` escape: not a character, no database stores it
            raise CellError("contains a lone UTF-16 surrogate (not a character), which the database cannot store")
    elif isinstance(value, list):
        for item in value:
            check_storable(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, depth + 1)
            check_storable(item, depth + 1)


def preview(value: Any, limit: int = 60) -> str:
    """A short, safe rendering of a value for a rejection reason (never the 10 MB cell itself)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("\n", " ").replace("\r", " ")
    return repr(text if len(text) <= limit else text[:limit] + "…")
