"""Group-by aggregation and distinct values (SDK 0.8's `aggregate()` and `list({distinct})`), built by the
one query engine: the same field resolver, `q` compiler and folded read rule as a list page, so declared
columns and `extra` fields work alike on PostgreSQL and SQLite, and a user groups only what they may read.

`aggregate` takes the SDK's spec (entities.types.d.ts `EntityAggregateSpec`): `query` (or `q`) filters first,
then `groupBy` (≤ 4 fields) and/or `dateBucket`, the measures `count` (default on), `sum`/`avg`/`min`/`max`
(`<op>_<field>`), `countDistinct` (`count_distinct_<field>`), `having` on the measures, `sort` and `limit`
(≤ 1,000; one more is read to answer `truncated`). Anything else is a 400 that names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, false, func, literal, select

from backend.errors import BadRequest
from backend.services.query.fields import FieldResolver
from backend.services.query.listing import where_clause
from backend.services.query.params import ListParams, decode_cursor, encode_cursor, fingerprint
from backend.services.query.targets import ColumnTarget, FieldTarget, PgJson, SqliteJson, TypedJson, is_number

MAX_GROUP_FIELDS = 4
MAX_MEASURE_FIELDS = 20
MAX_ROWS = 1000
MAX_DISTINCT_PAGE = 1000
DEFAULT_DISTINCT_PAGE = 100
SPEC_KEYS = {"query", "q", "groupBy", "dateBucket", "count", "sum", "avg", "min", "max", "countDistinct", "having",
             "sort", "limit"}  # fmt: skip
MEASURES = ("sum", "avg", "min", "max")
HAVING_OPERATORS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"}
UNITS = ("day", "week", "month", "year")


@dataclass
class Aggregate:
    stmt: Select[Any]
    names: list[str]  # the output name of each selected column, in order
    limit: int

    def result(self, rows: list[Any]) -> dict[str, Any]:
        truncated = len(rows) > self.limit
        out = [dict(zip(self.names, row, strict=True)) for row in rows[: self.limit]]
        return {"rows": out, "truncated": truncated}


def _names(spec_value: Any, what: str, most: int) -> list[str]:
    if spec_value is None:
        return []
    names = [spec_value] if isinstance(spec_value, str) else spec_value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise BadRequest(f"aggregate: {what} takes a field name or a list of field names")
    if len(names) > most:
        raise BadRequest(f"aggregate: {what} takes at most {most} fields (got {len(names)})")
    return names


def _query_of(spec: dict[str, Any]) -> dict[str, Any] | None:
    if "query" in spec and "q" in spec:
        raise BadRequest("aggregate: give the filter as `query` or as `q`, not both")
    query = spec.get("query", spec.get("q"))
    if query is not None and not isinstance(query, dict):
        raise BadRequest('aggregate: query must be a query object such as {"status": "active"}')
    return query or None


def _bucket(resolver: FieldResolver, value: Any) -> tuple[str, ColumnElement[Any]]:
    if not isinstance(value, dict) or set(value) != {"field", "unit"}:
        raise BadRequest('aggregate: dateBucket takes {"field": <date field>, "unit": "day|week|month|year"}')
    name, unit = value["field"], value["unit"]
    if unit not in UNITS:
        raise BadRequest(f"aggregate: dateBucket unit {str(unit)[:20]!r} is not one of day, week, month, year")
    target = resolver(name)
    kind = target.kind if isinstance(target, ColumnTarget) else None
    column = target.column if isinstance(target, ColumnTarget) else None
    if kind == "timestamp":
        if resolver.dialect == "postgresql":
            formats = {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}
            start = func.date_trunc(unit, column) if unit == "week" else column
            return name, func.to_char(start, formats[unit])
        if unit == "week":  # the Monday on or before the day
            return name, func.date(column, "-6 days", "weekday 1")
        return name, func.strftime({"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[unit], column)
    if kind in ("date", "datetime") and unit != "week":
        return name, func.substr(column, 1, {"day": 10, "month": 7, "year": 4}[unit])
    raise BadRequest(
        f"aggregate: dateBucket: {name!r} must be created_date, updated_date (any unit) or a date field of the "
        "schema (day, month, year)"
    )


def aggregate_query(resolver: FieldResolver, spec: Any, *, access: Any = True) -> Aggregate:
    """The statement for an aggregate spec; every name and operator checked before any SQL is built."""
    if not isinstance(spec, dict):
        raise BadRequest('aggregate takes an object such as {"groupBy": "status", "sum": "price"}')
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise BadRequest(f"aggregate: unknown stage {unknown[0][:40]!r} (known: {', '.join(sorted(SPEC_KEYS))})")
    where = where_clause(resolver, ListParams(q=_query_of(spec)), access=access)
    columns: dict[str, ColumnElement[Any]] = {}  # output name -> expression, in output order
    groups: list[ColumnElement[Any]] = []
    for name in _names(spec.get("groupBy"), "groupBy", MAX_GROUP_FIELDS):
        expr = resolver(name).sort_expr()
        columns[name] = expr
        groups.append(expr)
    if spec.get("dateBucket") is not None:
        name, expr = _bucket(resolver, spec["dateBucket"])
        if name in columns:
            raise BadRequest(f"aggregate: {name!r} is both in groupBy and in dateBucket")
        columns[name] = expr
        groups.append(expr)
    measures: dict[str, ColumnElement[Any]] = {}
    count = spec.get("count", True)
    if not isinstance(count, bool):
        raise BadRequest("aggregate: count takes true or false")
    if count:
        measures["count"] = func.count()
    for op in MEASURES:
        for name in _names(spec.get(op), op, MAX_MEASURE_FIELDS):
            value = resolver(name).number_expr()
            measures[f"{op}_{name}"] = getattr(func, op)(value)
    if spec.get("countDistinct") is not None:
        [name] = _names(spec["countDistinct"], "countDistinct", 1)
        measures[f"count_distinct_{name}"] = func.count(distinct(resolver(name).sort_expr()))
    columns.update(measures)
    if not columns:
        raise BadRequest("aggregate: nothing to compute (no groupBy, dateBucket or measure)")
    stmt = select(*(expr.label(f"c{i}") for i, expr in enumerate(columns.values())))
    stmt = stmt.select_from(resolver.spec.table).where(where)
    if groups:
        stmt = stmt.group_by(*groups)
    if spec.get("having") is not None:
        stmt = stmt.having(_having(spec["having"], measures))
    stmt = stmt.order_by(*_order(spec.get("sort"), columns, groups))
    limit = spec.get("limit", MAX_ROWS)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_ROWS:
        raise BadRequest(f"aggregate: limit takes a whole number from 1 to {MAX_ROWS} (groups are capped)")
    return Aggregate(stmt.limit(limit + 1), list(columns), limit)


def _having(having: Any, measures: dict[str, ColumnElement[Any]]) -> ColumnElement[bool]:
    if not isinstance(having, dict) or not having:
        raise BadRequest('aggregate: having takes an object such as {"count": {"$gt": 1}}')
    clauses: list[ColumnElement[bool]] = []
    for name, condition in having.items():
        expr = measures.get(name)
        if expr is None:
            raise BadRequest(
                f"aggregate: having names {str(name)[:60]!r}, which is not a computed value "
                f"({', '.join(measures) or 'none'}); filter group fields in `query`"
            )
        ops = condition if isinstance(condition, dict) else {"$eq": condition}
        for op, value in ops.items():
            if op not in HAVING_OPERATORS:
                raise BadRequest(f"aggregate: having: unknown operator {str(op)[:40]!r} on {name!r}")
            values = value if op in ("$in", "$nin") else [value]
            if not isinstance(values, list) or not all(is_number(v) for v in values):
                wanted = "a list of numbers" if op in ("$in", "$nin") else "a number"
                raise BadRequest(f"aggregate: having: {name} {op} takes {wanted}")
            if op == "$in":
                clauses.append(expr.in_(values) if values else false())
            elif op == "$nin":
                clauses.append(~expr.in_(values) if values else literal(True))
            else:
                compare = {"$eq": "__eq__", "$ne": "__ne__", "$gt": "__gt__", "$gte": "__ge__", "$lt": "__lt__",
                           "$lte": "__le__"}[op]  # fmt: skip
                clauses.append(getattr(expr, compare)(values[0]))
    return and_(*clauses)


def _order(sort: Any, columns: dict[str, ColumnElement[Any]], groups: list[ColumnElement[Any]]) -> list[Any]:
    order: list[Any] = []
    if sort is not None:
        if not isinstance(sort, str) or not sort.strip():
            raise BadRequest("aggregate: sort takes one name, `-` in front for descending (such as '-count')")
        name = sort.strip()
        descending = name.startswith("-")
        name = name.lstrip("+-")
        if name not in columns:
            raise BadRequest(f"aggregate: sort names {name[:60]!r}, which is not a group field or a computed value")
        expr = columns[name]
        order.append(expr.desc().nulls_last() if descending else expr.asc().nulls_first())
    return order + [g.asc().nulls_first() for g in groups]  # ties broken by the groups: a stable order


# --- distinct values -----------------------------------------------------------------------------------


@dataclass
class Distinct:
    stmt: Select[Any]
    offset: int
    limit: int
    print_: str

    def page(self, rows: list[Any]) -> dict[str, Any]:
        more = len(rows) > self.limit
        items = [row[0] for row in rows[: self.limit]]
        cursor = encode_cursor([self.offset + self.limit], self.print_) if more else None
        return {"items": items, "next_cursor": cursor, "has_more": more}


def _values(target: FieldTarget) -> tuple[ColumnElement[Any], Any, ColumnElement[bool]]:
    """(value, a table-valued function to join or None, the condition a value must meet): each element of
    an array field counts as a value of its own, nulls are no value."""
    if isinstance(target, TypedJson):
        target = target.inner
    if isinstance(target, ColumnTarget):
        return target.column, None, target.column.isnot(None)
    if isinstance(target, PgJson):
        listed = case((target.type == "array", target.expr), else_=func.jsonb_build_array(target.expr))
        each = func.jsonb_array_elements(listed).table_valued("value").alias("each")
        value = each.c.value
        return value, each, and_(value.isnot(None), func.jsonb_typeof(value) != "null")
    if isinstance(target, SqliteJson):
        each = func.json_each(target.doc, target.path).table_valued("value", "type").alias("each")
        return each.c.value, each, each.c.type.notin_(("null",))
    raise BadRequest(f"distinct cannot be used on the field {target.name!r}")  # pragma: no cover


def distinct_query(
    resolver: FieldResolver, field: str, params: ListParams, limit: int | None, *, access: Any = True
) -> Distinct:
    """The field's distinct values among the records matching `params.q` the user may read, ascending;
    `limit` per page (None: 100), at most 1,000."""
    if params.sort != ListParams().sort or params.fields:
        raise BadRequest("distinct takes no sort or fields: its values come in ascending order")
    limit = DEFAULT_DISTINCT_PAGE if limit is None else limit
    if not 1 <= limit <= MAX_DISTINCT_PAGE:
        raise BadRequest(f"distinct: limit takes a whole number from 1 to {MAX_DISTINCT_PAGE}")
    where = where_clause(resolver, params, access=access)
    value, each, present = _values(resolver(field))
    print_ = fingerprint(f"{resolver.spec.name}:distinct:{field}", params, False)
    offset = 0
    if params.cursor:
        [offset] = decode_cursor(params.cursor, print_) or [0]
        if not isinstance(offset, int) or offset < 0:
            raise BadRequest("cursor is not valid for this query")
    source: Any = resolver.spec.table if each is None else resolver.spec.table.join(each, literal(True))
    inner = select(value.label("v")).select_from(source).where(where, present).distinct().subquery("d")
    stmt = select(inner.c.v).order_by(inner.c.v.asc()).offset(offset).limit(limit + 1)
    return Distinct(stmt, offset, limit, print_)
