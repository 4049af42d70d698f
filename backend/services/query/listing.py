"""The list query: filters, sort with nulls and an id tie-break, skip/limit, keyset cursor, count.

One function builds the statement for both surfaces; rows come back as plain tuples (never ORM
objects) and are serialised once with orjson — the hot path of the whole product.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from backend.errors import BadRequest
from backend.jsonutil import dumps, loads
from backend.services.query.fields import FieldResolver, pg_record_json, project, record_columns, record_keys, to_record
from backend.services.query.filters import QueryCompiler
from backend.services.query.params import ListParams, decode_cursor, encode_cursor, fingerprint
from backend.services.query.targets import ColumnTarget, PgJson, Target
from backend.services.registry import EntitySpec

NON_NULL = {"id", "created_date", "updated_date", "is_sample"}
Db = Session | Connection


@dataclass
class Page:
    body: bytes  # the JSON array, ready to send
    total: int | None
    next_cursor: str | None

    def records(self) -> list[dict[str, Any]]:
        return loads(self.body)  # type: ignore[no-any-return]


@dataclass
class SortKey:
    target: Target
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

    def bind(self, value: Any) -> Any:
        """A cursor value back into something comparable with `expr`."""
        if isinstance(self.target, ColumnTarget):
            return self.target.coerce(value)
        if isinstance(self.target, PgJson):
            return PgJson.json(value)
        return value


def where_clause(resolver: FieldResolver, params: ListParams, *, deleted: bool = False) -> ColumnElement[bool]:
    spec = resolver.spec
    model = spec.model
    clauses: list[ColumnElement[bool]] = [
        spec.scope(),
        model.deleted_at.isnot(None) if deleted else model.deleted_at.is_(None),
    ]
    if params.q:
        clauses.append(QueryCompiler(resolver).compile(params.q))
    for name, raw_values in params.equals.items():
        clauses.append(_equals(resolver(name), raw_values))
    return and_(*clauses)


def _equals(target: Target, raw_values: list[str]) -> ColumnElement[bool]:
    """`?field=value`: the string converted to the field's type; undeclared fields try text, number, bool."""
    if isinstance(target, ColumnTarget):
        return target.in_(list(raw_values))
    candidates: list[Any] = []
    for raw in raw_values:
        candidates.append(raw)
        with contextlib.suppress(ValueError):
            candidates.append(int(raw) if raw.lstrip("-").isdigit() else float(raw))
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


def _cursor_value(value: Any) -> Any:
    return value.isoformat(timespec="microseconds") if isinstance(value, dt.datetime) else value


def _position(stmt: Select[Any], keys: list[SortKey], params: ListParams, print_: str) -> Select[Any]:
    """Where the page starts: after the cursor's row (keyset), or `skip` rows in."""
    if params.cursor:
        try:
            return stmt.where(_after(keys, decode_cursor(params.cursor, print_)))
        except (ValueError, TypeError):
            raise BadRequest("cursor does not fit this query") from None
    return stmt.offset(params.skip) if params.skip else stmt


def list_page(db: Db, spec: EntitySpec, params: ListParams, *, strict: bool, deleted: bool = False) -> Page:
    resolver = FieldResolver(db, spec, strict=strict)
    where = where_clause(resolver, params, deleted=deleted)
    keys = _sort_keys(resolver, params)
    for name in params.fields or ():
        resolver(name)  # validates each requested field
    postgres = resolver.dialect == "postgresql"
    sort_cols = [k.expr.label(f"_s{i}") for i, k in enumerate(keys)]
    print_ = fingerprint(spec.name, params, deleted)
    if postgres:
        # Deferred join: find the page by its sort keys alone, then let PostgreSQL render the JSON of
        # just those rows (rendering before Sort/OFFSET would build it for every skipped row too).
        find = select(spec.model.id.label("_id"), *sort_cols).where(where).order_by(*(k.order_by() for k in keys))
        page = _position(find, keys, params, print_).limit(params.limit + 1).subquery("page")
        page_keys = [page.c[f"_s{i}"] for i in range(len(keys))]
        columns: list[Any] = [pg_record_json(spec, params.fields).label("j")]
        stmt: Select[Any] = (
            select(*columns, *page_keys)
            .select_from(spec.table.join(page, spec.model.id == page.c._id))
            .order_by(*(k.order_by(expr) for k, expr in zip(keys, page_keys, strict=True)))
        )
    else:
        columns = record_columns(spec)
        stmt = select(*columns, *sort_cols).where(where).order_by(*(k.order_by() for k in keys))
        stmt = _position(stmt, keys, params, print_).limit(params.limit + 1)
    rows = db.execute(stmt).all() if params.limit else []
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    width = len(columns)
    if postgres:
        body = b"[" + ",".join(row[0] for row in rows).encode() + b"]"
    else:
        names = record_keys(spec)
        body = dumps([project(to_record(names, row[: width - 1], row[width - 1]), params.fields) for row in rows])
    next_cursor = None
    if more and rows:
        next_cursor = encode_cursor([_cursor_value(v) for v in rows[-1][width:]], print_)
    total = None
    if params.count:
        total = db.scalar(select(func.count()).select_from(spec.table).where(where))
    return Page(body=body, total=total, next_cursor=next_cursor)


def select_ids(db: Db, spec: EntitySpec, q: dict[str, Any] | None, *, strict: bool = False) -> list[str]:
    """Ids of the live records matching `q` (for bulk operations and WhatsApp audiences)."""
    resolver = FieldResolver(db, spec, strict=strict)
    where = where_clause(resolver, ListParams(q=q))
    return list(db.scalars(select(spec.model.id).where(where).order_by(spec.model.created_date, spec.model.id)))


def count(db: Db, spec: EntitySpec, params: ListParams, *, strict: bool) -> int:
    resolver = FieldResolver(db, spec, strict=strict)
    where = where_clause(resolver, params)
    return int(db.scalar(select(func.count()).select_from(spec.table).where(where)) or 0)
