"""The `q` language (API.md §3.2): Base44's Mongo-style query object compiled to one SQL condition.

Nulls follow Mongo: negations ($ne, $nin, $not, $nor) also match null or missing values, which SQL's
three-valued logic would drop — so every negation wraps its operand in COALESCE(..., FALSE).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, false, func, not_, or_, true

from backend.errors import BadRequest
from backend.services.query.targets import Cond, Target, json_subfield

MAX_DEPTH = 8
MAX_NODES = 2000
MAX_LIST = 5000
MAX_REGEX = 300
FIELD_OPERATORS = {
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists",
    "$regex", "$options", "$all", "$size", "$not", "$elemMatch",
}  # fmt: skip
LOGICAL = {"$and", "$or", "$nor"}

Resolver = Callable[[str], Target]


def negate(cond: Cond) -> Cond:
    """NOT with Mongo's null semantics: a comparison with null (unknown) counts as false, so its negation holds."""
    return not_(func.coalesce(cond, false()))


class QueryCompiler:
    def __init__(self, resolve: Resolver) -> None:
        self.resolve = resolve
        self.nodes = 0

    def _count(self, depth: int) -> None:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise BadRequest(f"q is nested deeper than {MAX_DEPTH} levels")
        if self.nodes > MAX_NODES:
            raise BadRequest(f"q is too large (more than {MAX_NODES} conditions)")

    def compile(self, query: Any, depth: int = 1) -> Cond:
        self._count(depth)
        if not isinstance(query, dict):
            raise BadRequest('q must be a JSON object such as {"status": "active"}')
        clauses: list[Cond] = []
        for key, value in query.items():
            if key in LOGICAL:
                clauses.append(self._logical(key, value, depth))
            elif key.startswith("$"):
                raise BadRequest(f"Unknown operator {key[:40]!r} at the top of a query object")
            else:
                clauses.append(self.field(self.resolve(key), value, depth + 1))
        return and_(true(), *clauses) if clauses else true()

    def _logical(self, op: str, value: Any, depth: int) -> Cond:
        if not isinstance(value, list) or not value:
            raise BadRequest(f"{op} takes a non-empty list of query objects")
        parts = [self.compile(item, depth + 1) for item in value]
        if op == "$and":
            return and_(*parts)
        if op == "$or":
            return or_(*parts)
        return and_(*(negate(p) for p in parts))

    def field(self, target: Target, value: Any, depth: int) -> Cond:
        self._count(depth)
        if isinstance(value, dict) and value and any(k.startswith("$") for k in value):
            if not all(k.startswith("$") for k in value):
                raise BadRequest(f"{target.name}: do not mix operators and plain keys in one object")
            return self._operators(target, value, depth)
        if isinstance(value, list):
            return target.in_(self._list(target, "$in", value))
        return target.eq(value)

    @staticmethod
    def _list(target: Target, op: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise BadRequest(f"{target.name}: {op} takes a list")
        if len(value) > MAX_LIST:
            raise BadRequest(f"{target.name}: {op} takes at most {MAX_LIST} values")
        return value

    def _operators(self, target: Target, ops: dict[str, Any], depth: int) -> Cond:
        clauses: list[Cond] = []
        for op, value in ops.items():
            if op not in FIELD_OPERATORS:
                raise BadRequest(f"Unknown operator {op[:40]!r} on the field {target.name!r}")
            if op == "$options":
                if "$regex" not in ops:
                    raise BadRequest(f"{target.name}: $options goes with $regex")
                continue
            clauses.append(self._operator(target, op, value, ops, depth))
        return and_(*clauses)

    def _operator(self, target: Target, op: str, value: Any, ops: dict[str, Any], depth: int) -> Cond:
        if op == "$eq":
            return target.eq(value)
        if op == "$ne":
            return negate(target.eq(value))
        if op in ("$gt", "$gte", "$lt", "$lte"):
            return target.cmp(op, value)
        if op == "$in":
            return target.in_(self._list(target, op, value))
        if op == "$nin":
            return negate(target.in_(self._list(target, op, value)))
        if op == "$exists":
            if not isinstance(value, bool):
                raise BadRequest(f"{target.name}: $exists takes true or false")
            return target.exists() if value else negate(target.exists())
        if op == "$regex":
            return target.regex(*_regex(target.name, value, ops.get("$options")))
        if op == "$all":
            return target.all_(self._list(target, op, value))
        if op == "$size":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise BadRequest(f"{target.name}: $size takes a whole number")
            return target.size(value)
        if op == "$not":
            if not isinstance(value, dict) or not value:
                raise BadRequest(f'{target.name}: $not takes an operator object such as {{"$gt": 5}}')
            return negate(self.field(target, value, depth + 1))
        return self._elem_match(target, value, depth)

    def _elem_match(self, target: Target, condition: Any, depth: int) -> Cond:
        if not isinstance(condition, dict) or not condition:
            raise BadRequest(f"{target.name}: $elemMatch takes a query object")

        def compile_sub(element: Target, cond: dict[str, Any]) -> Cond:
            if all(k.startswith("$") for k in cond):
                return self._operators(element, cond, depth + 1)
            parts = []
            for key, value in cond.items():
                if key.startswith("$"):
                    raise BadRequest(f"{target.name}: do not mix operators and fields in $elemMatch")
                parts.append(self.field(json_subfield(element, key), value, depth + 2))
            return and_(*parts)

        return target.elem_match(condition, compile_sub)


def _regex(name: str, pattern: Any, options: Any) -> tuple[str, str | None]:
    if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_REGEX:
        raise BadRequest(f"{name}: $regex takes a pattern of 1 to {MAX_REGEX} characters")
    if options not in (None, "", "i"):
        raise BadRequest(f'{name}: $options supports only "i" (ignore case)')
    try:
        re.compile(pattern)
    except re.error as exc:
        raise BadRequest(f"{name}: invalid regular expression: {exc}") from None
    # "(?i)" leads the pattern on both databases (PostgreSQL AREs and Python's re read it); SQLAlchemy
    # would silently drop a `flags` argument on SQLite.
    return ("(?i)" + pattern if options == "i" else pattern), None
