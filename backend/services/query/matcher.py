"""The `q` language evaluated in Python against one record: the twin of the SQL compiler (filters.py).

Realtime delivery must decide, for each subscriber, whether a changed record passes that user's read rule
(services/rules.py folds the rule into a `q` query). Asking the database once per event and subscriber
would cost more than the write itself, so the folded query is evaluated here against the record the event
carries. Field names resolve through the same FieldResolver as the SQL path (a declared scalar column, a
schema-typed extra field, or plain JSON), and each target kind follows the SQL semantics of targets.py:
- a column: the query value is coerced to the column's kind (`"3"` for a number), NULL never compares;
- JSON: a comparison only matches a value of the same JSON type, equality with a scalar also matches a
  list containing it, `$regex` only matches text;
- negations ($ne, $nin, $not, $nor) also match null or missing values (Mongo's rule, SQL's COALESCE).
tests/test_rule_matcher.py runs the same queries through both and checks they select the same records.
"""

from __future__ import annotations

import re
from typing import Any

from backend.errors import BadRequest
from backend.services.query.filters import FIELD_OPERATORS, LOGICAL, MAX_DEPTH, _regex
from backend.services.query.targets import ColumnTarget, Target, TypedJson, coerce_value, is_number, parse_timestamp

Resolver = Any  # FieldResolver: name -> Target
_MISSING = object()


def matches(query: Any, record: dict[str, Any], resolve: Resolver, depth: int = 1) -> bool:
    """Whether `record` (as the API shows it) is selected by the `q` query object `query`."""
    if depth > MAX_DEPTH:
        raise BadRequest(f"q is nested deeper than {MAX_DEPTH} levels")
    if not isinstance(query, dict):
        raise BadRequest('q must be a JSON object such as {"status": "active"}')
    for key, value in query.items():
        if key in LOGICAL:
            if not isinstance(value, list) or not value:
                raise BadRequest(f"{key} takes a non-empty list of query objects")
            results = [matches(item, record, resolve, depth + 1) for item in value]
            ok = all(results) if key == "$and" else any(results) if key == "$or" else not any(results)
        elif key.startswith("$"):
            raise BadRequest(f"Unknown operator {key[:40]!r} at the top of a query object")
        else:
            target = resolve(key)
            ok = _Field(target, _lookup(record, key)).test(value)
        if not ok:
            return False
    return True


def _lookup(record: Any, name: str) -> Any:
    value: Any = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _json_type(value: Any) -> str:
    if value is _MISSING or value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, but a boolean is never a number (Python says True == 1)."""
    ta, tb = _json_type(a), _json_type(b)
    if ta != tb:
        return False
    if ta == "array":
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if ta == "object":
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "$gt":
        return bool(a > b)
    if op == "$gte":
        return bool(a >= b)
    if op == "$lt":
        return bool(a < b)
    return bool(a <= b)


class _Field:
    """One field of one record, tested the way its SQL target (targets.py) tests it."""

    def __init__(self, target: Target, value: Any) -> None:
        self.target = target
        self.name = target.name
        self.kind: str | None = None  # a column's or a typed field's kind; None for plain JSON
        self.column = isinstance(target, ColumnTarget)
        if isinstance(target, ColumnTarget | TypedJson):
            self.kind = target.kind
        self.value = value
        if self.column:  # a column is NULL or a value; timestamps are compared as times
            self.value = None if value is _MISSING else value
            if self.kind == "timestamp" and isinstance(self.value, str):
                self.value = parse_timestamp(self.name, self.value)

    def _coerce(self, value: Any) -> Any:
        if self.kind is None or isinstance(value, dict | list):
            return value
        return coerce_value(self.name, self.kind, value)

    def test(self, value: Any) -> bool:
        if isinstance(value, dict) and value and any(k.startswith("$") for k in value):
            if not all(k.startswith("$") for k in value):
                raise BadRequest(f"{self.name}: do not mix operators and plain keys in one object")
            return all(self._op(op, arg, value) for op, arg in value.items() if op != "$options")
        if isinstance(value, list):
            return self.in_(value)
        return self.eq(value)

    def _op(self, op: str, arg: Any, ops: dict[str, Any]) -> bool:
        if op not in FIELD_OPERATORS:
            raise BadRequest(f"Unknown operator {op[:40]!r} on the field {self.name!r}")
        if op == "$eq":
            return self.eq(arg)
        if op == "$ne":
            return not self.eq(arg)
        if op in ("$gt", "$gte", "$lt", "$lte"):
            return self.cmp(op, arg)
        if op in ("$in", "$nin"):
            if not isinstance(arg, list):
                raise BadRequest(f"{self.name}: {op} takes a list")
            return self.in_(arg) if op == "$in" else not self.in_(arg)
        if op == "$exists":
            if not isinstance(arg, bool):
                raise BadRequest(f"{self.name}: $exists takes true or false")
            return self.exists() == arg
        if op == "$regex":
            pattern, _ = _regex(self.name, arg, ops.get("$options"))
            return self.regex(pattern)
        if op == "$all":
            return self.all_(arg)
        if op == "$size":
            return self.size(arg)
        if op == "$not":
            if not isinstance(arg, dict) or not arg:
                raise BadRequest(f'{self.name}: $not takes an operator object such as {{"$gt": 5}}')
            return not self.test(arg)
        return self.elem_match(arg)

    # --- the operations, column and JSON side by side ------------------------------------------------

    def eq(self, value: Any) -> bool:
        if self.column:
            if isinstance(value, dict | list):
                raise BadRequest(f"{self.name}: expected a single value")
            coerced = self._coerce(value)
            return self.value is None if coerced is None else self.value is not None and self.value == coerced
        value = self._coerce(value)
        stored = self.value
        if value is None:
            return _json_type(stored) == "null"
        if isinstance(value, dict | list):
            return _json_equal(stored, value)
        if _json_equal(stored, value):
            return True
        return isinstance(stored, list) and any(_json_equal(item, value) for item in stored)

    def in_(self, values: list[Any]) -> bool:
        if self.column and any(isinstance(v, dict | list) for v in values):
            raise BadRequest(f"{self.name}: $in takes a list of single values")
        return any(self.eq(v) for v in values)

    def cmp(self, op: str, value: Any) -> bool:
        if value is None:
            return False
        if isinstance(value, dict | list):
            raise BadRequest(f"{self.name}: {op} takes a number, text or date")
        if self.column:
            if isinstance(value, bool):
                raise BadRequest(f"{self.name}: {op} takes a number, text or date")
            coerced = self._coerce(value)
            return self.value is not None and _compare(op, self.value, coerced)
        value = self._coerce(value)
        stored = self.value
        wanted = _json_type(value)
        if wanted not in ("boolean", "number", "string") or _json_type(stored) != wanted:
            return False
        return _compare(op, stored, value)

    def exists(self) -> bool:
        return _json_type(self.value) != "null"

    def regex(self, pattern: str) -> bool:
        flags = 0
        if pattern.startswith("(?i)"):
            flags, pattern = re.IGNORECASE, pattern[4:]
        if self.column:
            if self.kind not in ("str", "date", "datetime", "ref"):
                raise BadRequest(f"$regex cannot be used on the field {self.name!r}")
            return isinstance(self.value, str) and re.search(pattern, self.value, flags) is not None
        return isinstance(self.value, str) and re.search(pattern, self.value, flags) is not None

    def _json_only(self, op: str) -> None:
        if self.column or isinstance(self.target, TypedJson):
            raise BadRequest(f"{op} cannot be used on the field {self.name!r}")

    def all_(self, values: Any) -> bool:
        self._json_only("$all")
        if not isinstance(values, list):
            raise BadRequest(f"{self.name}: $all takes a list")
        stored = self.value
        return isinstance(stored, list) and all(any(_json_equal(i, v) for i in stored) for v in values)

    def size(self, n: Any) -> bool:
        self._json_only("$size")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise BadRequest(f"{self.name}: $size takes a whole number")
        return isinstance(self.value, list) and len(self.value) == n

    def elem_match(self, condition: Any) -> bool:
        self._json_only("$elemMatch")
        if not isinstance(condition, dict) or not condition:
            raise BadRequest(f"{self.name}: $elemMatch takes a query object")
        if not isinstance(self.value, list):
            return False
        element = Target(f"{self.name}[]")
        for item in self.value:
            if all(k.startswith("$") for k in condition):
                if _Field(element, item).test(condition):
                    return True
                continue
            if any(k.startswith("$") for k in condition):
                raise BadRequest(f"{self.name}: do not mix operators and fields in $elemMatch")
            if all(_Field(Target(f"{self.name}.{k}"), _lookup(item, k)).test(v) for k, v in condition.items()):
                return True
        return False
