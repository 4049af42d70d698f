"""Field targets: how one field of one entity turns into SQL on each database.

A declared or built-in scalar field is a real column (`ColumnTarget`). Undeclared fields, document
fields, list fields and array elements live in JSON (`PgJson` on PostgreSQL's JSONB, `SqliteJson` on
SQLite's JSON1). Each target offers the same operations, so the filter compiler is written once.
Values always travel as bound parameters; field names are validated before they get here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Numeric,
    Text,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from backend.errors import BadRequest

Cond = ColumnElement[bool]
# compile a sub-query object against a target (used by $elemMatch)
SubCompiler = Callable[["FieldTarget", Any], Cond]
NUMBER = (int, float)


def is_number(value: Any) -> bool:
    return isinstance(value, NUMBER) and not isinstance(value, bool)


INT64 = (-(2**63), 2**63 - 1)


def query_number(text: str) -> int | float | None:
    """A query-string value as a number a database can compare with, or None if it is not one: a whole
    number within 64 bits stays exact, anything else numeric is a float, and NaN/infinity are no numbers
    (`?field=18446744073709551616` was a 500: SQLite's driver cannot bind it)."""
    text = text.strip()
    if text.lstrip("-").isdigit() and len(text) <= 40:
        number = int(text)
        if INT64[0] <= number <= INT64[1]:
            return number
    try:
        value = float(text)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def parse_timestamp(name: str, value: Any) -> dt.datetime:
    """Any ISO-8601 form (date only, `Z`, offsets) to naive UTC, as timestamps are stored."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    raise BadRequest(f"{name}: expected an ISO-8601 date or time, got {str(value)[:60]!r}")


def coerce_value(name: str, kind: str, value: Any) -> Any:
    """A query value as the Python value of a field of `kind` (`"3"` for a number, `"true"` for a yes/no);
    refused with a 400 when it cannot be one."""
    if value is None:
        return None
    if kind == "timestamp":
        return parse_timestamp(name, value)
    if kind in ("int", "float"):
        if is_number(value):
            return value if isinstance(value, float) or INT64[0] <= value <= INT64[1] else float(value)
        number = query_number(value) if isinstance(value, str) else None
        if number is not None:
            return number
        raise BadRequest(f"{name}: expected a number, got {str(value)[:60]!r}")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise BadRequest(f"{name}: expected true or false, got {str(value)[:60]!r}")
    if isinstance(value, str):
        return value
    if is_number(value):
        return str(value)
    raise BadRequest(f"{name}: expected text, got {type(value).__name__}")


class FieldTarget:
    """The operations a field supports. Subclasses implement them for one storage shape."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _unsupported(self, op: str) -> BadRequest:
        return BadRequest(f"{op} cannot be used on the field {self.name!r}")

    def eq(self, value: Any) -> Cond:
        raise NotImplementedError

    def cmp(self, op: str, value: Any) -> Cond:
        raise NotImplementedError

    def exists(self) -> Cond:
        raise NotImplementedError

    def regex(self, pattern: str, flags: str | None) -> Cond:
        raise self._unsupported("$regex")

    def all_(self, values: list[Any]) -> Cond:
        raise self._unsupported("$all")

    def size(self, n: int) -> Cond:
        raise self._unsupported("$size")

    def elem_match(self, condition: Any, compile_sub: SubCompiler) -> Cond:
        raise self._unsupported("$elemMatch")

    def in_(self, values: list[Any]) -> Cond:
        return or_(*(self.eq(v) for v in values)) if values else false()

    def sort_expr(self) -> ColumnElement[Any]:
        raise NotImplementedError

    def number_expr(self) -> ColumnElement[Any]:
        """The field as a number for sum/avg/min/max (aggregate.py); values of any other type count as null."""
        raise BadRequest(f"{self.name!r} is not a number field: it cannot be summed, averaged or compared")


class ColumnTarget(FieldTarget):
    """A typed scalar column; values are coerced to the column's kind or refused with a 400."""

    def __init__(self, name: str, column: Any, kind: str) -> None:
        super().__init__(name)
        self.column = column
        self.kind = kind

    def coerce(self, value: Any) -> Any:
        return coerce_value(self.name, self.kind, value)

    def eq(self, value: Any) -> Cond:
        if isinstance(value, dict | list):
            raise BadRequest(f"{self.name}: expected a single value")
        coerced = self.coerce(value)
        return self.column.is_(None) if coerced is None else self.column == coerced  # type: ignore[no-any-return]

    def in_(self, values: list[Any]) -> Cond:
        coerced = [self.coerce(v) for v in values if not isinstance(v, dict | list)]
        if len(coerced) != len(values):
            raise BadRequest(f"{self.name}: $in takes a list of single values")
        present = [v for v in coerced if v is not None]
        parts = [self.column.in_(present)] if present else []
        if len(present) != len(coerced):
            parts.append(self.column.is_(None))
        return or_(*parts) if parts else false()

    def cmp(self, op: str, value: Any) -> Cond:
        if value is None:
            return false()
        if isinstance(value, dict | list | bool):
            raise BadRequest(f"{self.name}: {op} takes a number, text or date")
        coerced = self.coerce(value)
        return _COMPARE[op](self.column, coerced)

    def exists(self) -> Cond:
        return self.column.isnot(None)  # type: ignore[no-any-return]

    def regex(self, pattern: str, flags: str | None) -> Cond:
        if self.kind not in ("str", "date", "datetime", "ref"):
            raise self._unsupported("$regex")
        return self.column.regexp_match(pattern, flags=flags)  # type: ignore[no-any-return]

    def sort_expr(self) -> ColumnElement[Any]:
        return self.column  # type: ignore[no-any-return]

    def number_expr(self) -> ColumnElement[Any]:
        if self.kind not in ("int", "float"):
            return super().number_expr()
        return self.column  # type: ignore[no-any-return]


_COMPARE: dict[str, Callable[[Any, Any], Cond]] = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _check_cmp_value(name: str, op: str, value: Any) -> None:
    if isinstance(value, dict | list):
        raise BadRequest(f"{name}: {op} takes a number, text or boolean")


class PgJson(FieldTarget):
    """A JSONB value: `base` (a JSONB expression) at `path` (keys), compared by JSON type like Mongo."""

    def __init__(self, name: str, base: Any, path: tuple[str, ...] = ()) -> None:
        super().__init__(name)
        base = type_coerce(base, JSONB)
        self.expr: Any = base if not path else (base[path[0]] if len(path) == 1 else base[path])
        self.type = func.jsonb_typeof(self.expr)

    @staticmethod
    def json(value: Any) -> Any:
        return cast(literal(orjson.dumps(value).decode(), Text), JSONB)

    def _typed(self, value: Any) -> tuple[str, Any]:
        if isinstance(value, bool):
            return "boolean", value
        if is_number(value):
            return "number", value
        if isinstance(value, str):
            return "string", value
        raise BadRequest(f"{self.name}: expected a number, text or boolean")

    def eq(self, value: Any) -> Cond:
        if value is None:
            return or_(self.expr.is_(None), self.type == "null")
        if isinstance(value, dict | list):
            return self.expr == self.json(value)  # type: ignore[no-any-return]
        scalar = self.json(value)
        return or_(self.expr == scalar, and_(self.type == "array", self.expr.contains(self.json([value]))))

    def cmp(self, op: str, value: Any) -> Cond:
        if value is None:
            return false()
        _check_cmp_value(self.name, op, value)
        json_type, _ = self._typed(value)
        return _COMPARE[op](case((self.type == json_type, self.expr)), self.json(value))

    def exists(self) -> Cond:
        return and_(self.expr.isnot(None), self.type != "null")

    def regex(self, pattern: str, flags: str | None) -> Cond:
        as_text = self.expr.op("#>>", return_type=Text)(cast(literal("{}"), ARRAY(Text)))
        return case((self.type == "string", as_text)).regexp_match(pattern, flags=flags)

    def all_(self, values: list[Any]) -> Cond:
        return and_(self.type == "array", self.expr.contains(self.json(values)))

    def size(self, n: int) -> Cond:
        return case((self.type == "array", func.jsonb_array_length(self.expr))) == n

    def elem_match(self, condition: Any, compile_sub: SubCompiler) -> Cond:
        elements = func.jsonb_array_elements(case((self.type == "array", self.expr))).table_valued("value").alias()
        element = PgJson(f"{self.name}[]", elements.c.value)
        return exists(select(literal(1)).select_from(elements).where(compile_sub(element, condition)))

    def sort_expr(self) -> ColumnElement[Any]:
        return func.nullif(self.expr, self.json(None))

    def number_expr(self) -> ColumnElement[Any]:
        as_text = self.expr.op("#>>", return_type=Text)(cast(literal("{}"), ARRAY(Text)))
        return cast(case((self.type == "number", as_text)), Numeric)


class SqliteJson(FieldTarget):
    """A JSON1 value: `doc` (JSON text column) at `path` (a `$.a.b` string or an SQL expression)."""

    def __init__(self, name: str, doc: Any, path: Any) -> None:
        super().__init__(name)
        self.doc = doc
        self.path = path
        self.value = func.json_extract(doc, path)
        self.type = func.json_type(doc, path)

    def _match(self, value_col: Any, type_col: Any, value: Any) -> Cond:
        if isinstance(value, bool):
            return type_col == ("true" if value else "false")  # type: ignore[no-any-return]
        if is_number(value):
            return and_(type_col.in_(("integer", "real")), value_col == value)
        if isinstance(value, str):
            return and_(type_col == "text", value_col == value)
        raise BadRequest(f"{self.name}: expected a number, text or boolean")

    def _each(self) -> Any:
        return func.json_each(self.doc, self.path).table_valued("value", "type", "fullkey").alias()

    def eq(self, value: Any) -> Cond:
        if value is None:
            return func.coalesce(self.type, "null") == "null"
        if isinstance(value, dict | list):
            # Stored JSON text comes from SQLAlchemy's serializer (json.dumps, ASCII escapes): render the
            # value the same way and let SQLite minify both sides identically.
            return self.value == func.json_extract(literal(json.dumps(value)), "$")
        # json_each over a scalar yields the scalar itself, over an array its elements: Mongo's
        # "equal, or an array containing it" in one test.
        each = self._each()
        contained = exists(select(literal(1)).select_from(each).where(self._match(each.c.value, each.c.type, value)))
        return and_(self.type != "object", contained)

    def cmp(self, op: str, value: Any) -> Cond:
        if value is None:
            return false()
        _check_cmp_value(self.name, op, value)
        if isinstance(value, bool):
            types: tuple[str, ...] = ("true", "false")
            value = int(value)
        elif is_number(value):
            types = ("integer", "real")
        elif isinstance(value, str):
            types = ("text",)
        else:
            raise BadRequest(f"{self.name}: expected a number, text or boolean")
        return _COMPARE[op](case((self.type.in_(types), self.value)), value)

    def exists(self) -> Cond:
        return and_(self.type.isnot(None), self.type != "null")

    def regex(self, pattern: str, flags: str | None) -> Cond:
        return case((self.type == "text", self.value)).regexp_match(pattern, flags=flags)

    def all_(self, values: list[Any]) -> Cond:
        each = [self.eq(v) for v in values]
        return and_(self.type == "array", *each)

    def size(self, n: int) -> Cond:
        return and_(self.type == "array", func.json_array_length(self.doc, self.path) == n)

    def elem_match(self, condition: Any, compile_sub: SubCompiler) -> Cond:
        each = self._each()
        element = SqliteJson(f"{self.name}[]", self.doc, each.c.fullkey)
        return and_(
            self.type == "array",
            exists(select(literal(1)).select_from(each).where(compile_sub(element, condition))),
        )

    def sub(self, key: str) -> SqliteJson:
        return SqliteJson(f"{self.name}.{key}", self.doc, self.path + literal(f".{key}"))

    def sort_expr(self) -> ColumnElement[Any]:
        return self.value

    def number_expr(self) -> ColumnElement[Any]:
        return case((self.type.in_(("integer", "real")), self.value))


def json_target(dialect: str, name: str, base: Any, path: tuple[str, ...]) -> FieldTarget:
    if dialect == "postgresql":
        return PgJson(name, base, path)
    return SqliteJson(name, base, "$" + "".join(f".{p}" for p in path))


def json_subfield(element: FieldTarget, key: str) -> FieldTarget:
    """A key inside an array element (for `$elemMatch: {"key": ...}`)."""
    if isinstance(element, PgJson):
        return PgJson(f"{element.name}.{key}", element.expr, (key,))
    if isinstance(element, SqliteJson):
        return element.sub(key)
    raise element._unsupported("$elemMatch with fields")


class TypedJson(FieldTarget):
    """A field a schema types but `extra` stores (a document entity's): query values are converted to the
    field's kind first, so `{"days": {"$gte": "3"}}` and `?is_active=true` compare as number and boolean."""

    def __init__(self, inner: FieldTarget, kind: str) -> None:
        super().__init__(inner.name)
        self.inner = inner
        self.kind = kind

    def _value(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            return value
        return coerce_value(self.name, self.kind, value)

    def eq(self, value: Any) -> Cond:
        return self.inner.eq(self._value(value))

    def cmp(self, op: str, value: Any) -> Cond:
        return self.inner.cmp(op, self._value(value))

    def in_(self, values: list[Any]) -> Cond:
        return self.inner.in_([self._value(v) for v in values])

    def exists(self) -> Cond:
        return self.inner.exists()

    def regex(self, pattern: str, flags: str | None) -> Cond:
        return self.inner.regex(pattern, flags)

    def sort_expr(self) -> ColumnElement[Any]:
        return self.inner.sort_expr()

    def number_expr(self) -> ColumnElement[Any]:
        if self.kind not in ("int", "float"):
            return super().number_expr()
        return self.inner.number_expr()
