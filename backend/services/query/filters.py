"""The `q` language (API.md §3.2): Base44's Mongo-style query object compiled to one SQL condition.

Nulls follow Mongo: negations ($ne, $nin, $not, $nor) also match null or missing values, which SQL's
three-valued logic would drop — so every negation wraps its operand in COALESCE(..., FALSE).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, false, func, not_, or_, true

from backend.errors import BadRequest
from backend.services.query.targets import INT64, Cond, FieldTarget, json_subfield

MAX_DEPTH = 8
MAX_NODES = 2000
MAX_LIST = 5000
MAX_REGEX = 300
FIELD_OPERATORS = {
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists",
    "$regex", "$options", "$all", "$size", "$not", "$elemMatch",
}  # fmt: skip
LOGICAL = {"$and", "$or", "$nor"}

Resolver = Callable[[str], FieldTarget]


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
        if depth == 1:  # every caller's query: `q`, deleteMany's and updateMany's bodies, audiences...
            try:
                query = _within_64_bits(query)
            except RecursionError:
                raise BadRequest(f"q is nested deeper than {MAX_DEPTH} levels") from None
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

    def field(self, target: FieldTarget, value: Any, depth: int) -> Cond:
        self._count(depth)
        if isinstance(value, dict) and value and any(k.startswith("$") for k in value):
            if not all(k.startswith("$") for k in value):
                raise BadRequest(f"{target.name}: do not mix operators and plain keys in one object")
            return self._operators(target, value, depth)
        if isinstance(value, list):
            return target.in_(self._list(target, "$in", value))
        return target.eq(value)

    @staticmethod
    def _list(target: FieldTarget, op: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise BadRequest(f"{target.name}: {op} takes a list")
        if len(value) > MAX_LIST:
            raise BadRequest(f"{target.name}: {op} takes at most {MAX_LIST} values")
        return value

    def _operators(self, target: FieldTarget, ops: dict[str, Any], depth: int) -> Cond:
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

    def _operator(self, target: FieldTarget, op: str, value: Any, ops: dict[str, Any], depth: int) -> Cond:
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

    def _elem_match(self, target: FieldTarget, condition: Any, depth: int) -> Cond:
        if not isinstance(condition, dict) or not condition:
            raise BadRequest(f"{target.name}: $elemMatch takes a query object")

        def compile_sub(element: FieldTarget, cond: dict[str, Any]) -> Cond:
            if all(k.startswith("$") for k in cond):
                return self._operators(element, cond, depth + 1)
            parts = []
            for key, value in cond.items():
                if key.startswith("$"):
                    raise BadRequest(f"{target.name}: do not mix operators and fields in $elemMatch")
                parts.append(self.field(json_subfield(element, key), value, depth + 2))
            return and_(*parts)

        return target.elem_match(condition, compile_sub)


# Python's own pattern parser (the same one `re.compile` just accepted the pattern with), to look at its
# structure. Internal to `re`, hence reached by name; `re._parser` exists on every Python this runs on.
_sre: Any = importlib.import_module("re._parser")
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
_GROUPREFS = ("GROUPREF", "GROUPREF_EXISTS")


def _costly(parsed: Any, inside_repeat: bool = False) -> str | None:
    """What makes a pattern catastrophically slow that can be seen cheaply in its structure, or None.

    - a back-reference (`\\1`..`\\9`, `(?P=name)`, `(?(1)...)`): matching one is NP-hard, and PostgreSQL's
      engine falls back to backtracking for it — one request held a connection for minutes;
    - a quantifier of variable length inside another (`(a+)+`, `(.*)*`, `(\\w+\\s?)*`): exponential
      backtracking in Python's `re` (SQLite's REGEXP) and needless work for any engine.
    """
    for op, arg in parsed:
        kind = str(op)
        if kind in _GROUPREFS:
            return "back-references (\\1, (?P=name))"
        children: list[Any] = []
        repeated = inside_repeat
        if kind in _REPEATS:
            low, high, sub = arg
            if inside_repeat and high != low:
                return "a repeated group that itself repeats (such as (a+)+ or (.*)*)"
            repeated = inside_repeat or high > 1
            children = [sub]
        elif kind == "SUBPATTERN":
            children = [arg[-1]]
        elif kind == "BRANCH":
            children = list(arg[1])
        elif kind in ("ASSERT", "ASSERT_NOT"):
            children = [arg[1]]
        elif kind == "ATOMIC_GROUP":
            children = [arg]
        for child in children:
            problem = _costly(child, repeated)
            if problem:
                return problem
    return None


def _within_64_bits(value: Any) -> Any:
    """orjson reads integers up to 2**64 - 1 exactly; a database compares at most 64-bit signed ones (SQLite's
    driver refused more with an OverflowError, a 500). Larger ones are compared as the numbers they are."""
    if isinstance(value, dict):
        return {k: _within_64_bits(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_within_64_bits(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        return float(value)
    return value


def _regex(name: str, pattern: Any, options: Any) -> tuple[str, str | None]:
    if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_REGEX:
        raise BadRequest(f"{name}: $regex takes a pattern of 1 to {MAX_REGEX} characters")
    if options not in (None, "", "i"):
        raise BadRequest(f'{name}: $options supports only "i" (ignore case)')
    try:
        re.compile(pattern)
    except re.error as exc:
        raise BadRequest(f"{name}: invalid regular expression: {exc}") from None
    except (RecursionError, OverflowError):
        raise BadRequest(f"{name}: the regular expression is too complex") from None
    problem = _costly(_sre.parse(pattern))
    if problem:
        raise BadRequest(f"{name}: $regex does not support {problem}: such a pattern can take minutes on long text")
    # "(?i)" leads the pattern on both databases (PostgreSQL AREs and Python's re read it); SQLAlchemy
    # would silently drop a `flags` argument on SQLite.
    return ("(?i)" + pattern if options == "i" else pattern), None
