"""The list query: filters, sort with nulls and an id tie-break, skip/limit, keyset cursor, count.

One function builds the statement for both surfaces; rows come back as plain tuples (never ORM
objects) and are serialised once with orjson — the hot path of the whole product.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, literal_column, or_, select, true, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from backend.errors import BadRequest
from backend.jsonutil import dumps
from backend.services.query.fields import FieldResolver, pg_record_json, project, record_columns, record_keys, to_record
from backend.services.query.filters import QueryCompiler
from backend.services.query.params import ListParams, decode_cursor, encode_cursor, fingerprint
from backend.services.query.targets import ColumnTarget, FieldTarget, PgJson, query_number
from backend.services.registry import EntitySpec

NON_NULL = {"id", "created_date", "updated_date", "is_sample"}
Db = Session | Connection


@dataclass
class Page:
    body: bytes  # the JSON array, ready to send
    total: int | None
    next_cursor: str | None


@dataclass
class SortKey:
    target: FieldTarget
    descending: bool
    nullable: bool

    @property
    def expr(self) -> Any:
        return self.target.sort_expr()

    def order_by(self, expr: Any = None) -> Any:
        """The ORDER BY clause for this key, on its own expression or on `expr` (a subquery column)."""
        expr = self.expr if expr is None else expr
        clause = expr.desc() if self.descending else expr.asc()
        if not self.nullable:
            return clause
        # Nulls are the smallest value: first ascending, last descending (Mongo's and Base44's order).
        return clause.nulls_last() if self.descending else clause.nulls_first()

    def coerce(self, value: Any) -> Any:
        """A cursor value (JSON) as the Python value of this key's column."""
        return self.target.coerce(value) if isinstance(self.target, ColumnTarget) else value

    def bind(self, value: Any) -> Any:
        """A cursor value as a bound parameter comparable with `expr` (a placeholder stays as it is).

        Always a parameter: compared with a bare True/False, SQLAlchemy would refuse `<`/`>`.
        """
        if isinstance(value, BindParameter):
            return value
        if isinstance(self.target, PgJson):
            return PgJson.json(value)
        return literal(self.coerce(value), self.expr.type)


def where_clause(
    resolver: FieldResolver, params: ListParams, *, deleted: bool = False, access: Any = True
) -> ColumnElement[bool]:
    """The records a list reads: this entity's, live (or trashed), that the user may read (`access`, a folded
    row rule: True, False or a `q` query — services/rules.py), and that match the request's filters."""
    spec = resolver.spec
    model = spec.model
    clauses: list[ColumnElement[bool]] = [
        spec.scope(),
        model.deleted_at.isnot(None) if deleted else model.deleted_at.is_(None),
    ]
    if access is not True:
        clauses.append(false() if access is False else QueryCompiler(resolver).compile(access))
    if params.q:
        clauses.append(QueryCompiler(resolver).compile(params.q))
    for name, raw_values in params.equals.items():
        clauses.append(_equals(resolver(name), raw_values))
    return and_(*clauses)


def _equals(target: FieldTarget, raw_values: list[str]) -> ColumnElement[bool]:
    """`?field=value`: the string converted to the field's type; undeclared fields try text, number, bool."""
    if isinstance(target, ColumnTarget):
        return target.in_(list(raw_values))
    candidates: list[Any] = []
    for raw in raw_values:
        candidates.append(raw)
        number = query_number(raw)
        if number is not None:
            candidates.append(number)
        if raw in ("true", "false"):
            candidates.append(raw == "true")
    return target.in_(candidates)


def _sort_keys(resolver: FieldResolver, params: ListParams) -> list[SortKey]:
    keys = [SortKey(resolver(name), desc, name not in NON_NULL) for name, desc in params.sort]
    if not any(name == "id" for name, _ in params.sort):
        keys.append(SortKey(resolver("id"), keys[0].descending, False))
    return keys


def _after(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after the cursor row in the sort order, nulls included (keyset pagination)."""
    if len(values) != len(keys):
        raise ValueError("cursor shape")
    if all(not k.nullable for k in keys) and len({k.descending for k in keys}) == 1:
        # One direction, no nulls: a row comparison the database answers from the (created_date, id) index.
        left = tuple_(*(k.expr for k in keys))
        right = tuple_(*(k.bind(v) for k, v in zip(keys, values, strict=True)))
        return left < right if keys[0].descending else left > right
    ors: list[ColumnElement[bool]] = []
    equal_so_far: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        expr = key.expr
        if value is None:
            beyond: ColumnElement[bool] = false() if key.descending else expr.isnot(None)
            same = expr.is_(None)
        else:
            bound = key.bind(value)
            if key.descending:
                beyond = or_(expr < bound, expr.is_(None)) if key.nullable else expr < bound
            else:
                beyond = expr > bound
            same = expr == bound
        ors.append(and_(true(), *equal_so_far, beyond))
        equal_so_far.append(same)
    return or_(*ors)


def _index_order(keys: list[SortKey]) -> bool:
    """Whether the sort is the order of the (created_date, id) index every entity table has."""
    names = [k.target.name if isinstance(k.target, ColumnTarget) else None for k in keys]
    return names == ["created_date", "id"] and keys[0].descending == keys[1].descending


def _cursor_value(value: Any) -> Any:
    return value.isoformat(timespec="microseconds") if isinstance(value, dt.datetime) else value


def _paging(
    stmt: Select[Any], keys: list[SortKey], params: ListParams, after: list[Any] | None, inline: bool
) -> Select[Any]:
    """Where the page starts — after the cursor's row (keyset), or `skip` rows in — and its length.

    `inline` writes the numbers into the SQL: as parameters of a prepared statement, PostgreSQL's generic
    plan could not see the limit and might sort the whole table.
    """

    def number(value: int) -> Any:
        return literal_column(str(int(value))) if inline else value

    if after is not None:
        try:
            stmt = stmt.where(_after(keys, after))
        except (ValueError, TypeError):
            raise BadRequest("cursor does not fit this query") from None
    elif params.skip:
        stmt = stmt.offset(number(params.skip))
    return stmt.limit(number(params.limit + 1))


@dataclass
class PageQuery:
    """A list page's statement, and what turning its rows into a `Page` needs."""

    stmt: Select[Any]
    where: ColumnElement[bool]  # the page's filter, for a count of all it matches
    keys: list[SortKey]
    width: int  # the record's columns (or its one JSON column); sort values not among them follow
    key_positions: list[int]  # where each sort key's value is in a row, for the next cursor
    print_: str  # the query's fingerprint, signed into cursors
    limit: int
    fields: list[str] | None
    spec: EntitySpec
    json_in_db: bool  # one column of JSON text per record, else the record's columns

    def page(self, rows: Sequence[Any], total: int | None = None) -> Page:
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        width = self.width
        if self.json_in_db:
            body = b"[" + ",".join(row[0] for row in rows).encode() + b"]"
        else:
            names = record_keys(self.spec)  # one shorter than `width`: zip stops before extra and any sort column
            fields = self.fields
            body = dumps([project(to_record(names, row, row[width - 1]), fields) for row in rows])
        next_cursor = None
        if more and rows:
            last = rows[-1]
            next_cursor = encode_cursor([_cursor_value(last[i]) for i in self.key_positions], self.print_)
        return Page(body=body, total=total, next_cursor=next_cursor)


def page_query(
    resolver: FieldResolver,
    params: ListParams,
    *,
    deleted: bool = False,
    after: list[Any] | None = None,
    inline_paging: bool = False,
    python_json: bool = False,
    access: Any = True,
) -> PageQuery:
    """The page's statement. `after` (the cursor row's sort values, or bind parameters standing for them)
    defaults to the decoded `params.cursor`. On PostgreSQL the records' JSON is built by the database
    unless `python_json` asks for the columns (the asyncpg path, where that is cheaper overall)."""
    spec = resolver.spec
    where = where_clause(resolver, params, deleted=deleted, access=access)
    keys = _sort_keys(resolver, params)
    for name in params.fields or ():
        resolver(name)  # validates each requested field
    postgres = resolver.dialect == "postgresql"
    json_in_db = postgres and not python_json
    print_ = fingerprint(spec.name, params, deleted)
    if after is None and params.cursor:
        after = decode_cursor(params.cursor, print_)
    columns: list[Any] = (
        [pg_record_json(spec, params.fields).label("j")]
        if json_in_db
        else record_columns(spec, pg_text_timestamps=postgres)
    )
    # A sort key that is a record column is read back from it; any other key gets a column of its own.
    names = [] if json_in_db else record_keys(spec)
    width = len(columns)
    positions: list[int] = []
    for i, key in enumerate(keys):
        if isinstance(key.target, ColumnTarget) and key.target.name in names:
            positions.append(names.index(key.target.name))
        else:
            positions.append(len(columns))
            columns.append(key.expr.label(f"_s{i}"))
    order = [k.order_by() for k in keys]
    stmt: Select[Any]
    if postgres and not (_index_order(keys) and not params.skip):
        # Deferred join: find the page's ids by the sort keys alone, then fetch and render just those rows
        # (otherwise PostgreSQL builds every row it sorts or skips). Only the (created_date, id) index
        # order without an offset reads the page straight off the index, where the join is pure cost.
        find = select(spec.model.id.label("_id")).where(where).order_by(*order)
        page = _paging(find, keys, params, after, inline_paging).subquery("page")
        stmt = select(*columns).select_from(spec.table.join(page, spec.model.id == page.c._id)).order_by(*order)
    else:
        stmt = _paging(select(*columns).where(where).order_by(*order), keys, params, after, inline_paging)
    return PageQuery(stmt, where, keys, width, positions, print_, params.limit, params.fields, spec, json_in_db)


def select_ids(db: Db, spec: EntitySpec, q: dict[str, Any] | None, *, access: Any = True) -> list[str]:
    """Ids of the live records matching `q` that `access` (a folded row rule) lets the user reach — for bulk
    operations and WhatsApp audiences."""
    resolver = FieldResolver(db, spec, strict=False)
    where = where_clause(resolver, ListParams(q=q), access=access)
    return list(db.scalars(select(spec.model.id).where(where).order_by(spec.model.created_date, spec.model.id)))


def count_query(query: PageQuery) -> Any:
    """How many records the page's query matches, ignoring limit and skip."""
    return select(func.count()).select_from(query.spec.table).where(query.where)
