"""The hot reads as SQL compiled once per shape, for asyncpg on PostgreSQL (backend/executor.py).

Building a list statement costs ~0.2 ms of Python and compiling it ~0.3 ms — more than the query
itself. The common pages (default or chosen sort, `fields`, `limit`, `skip`, `cursor`, on declared and
built-in fields, with the user's read rule) differ only in a few values, so each shape is built by the
same `page_query` as every other list, compiled once, and then executed with just its values: the
cursor's sort values travel as bind parameters, `limit`/`skip` are written into the SQL (see `_paging`).
A read rule is part of the shape as the `q` query it folds into for the user (services/rules.py): the
office's role rules fold into "all" or "nothing", so every user of a role shares one shape. Anything
else — `q`, equality filters, `count`, undeclared fields, a sort on a document-store entity's own (JSON)
fields — returns None and is built per request (services/reading.py). The document store's pages sorted
by the built-in columns are shapes too (its entity name is a value compiled in, like a rule's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.sql.compiler import SQLCompiler

from backend.entity_schema import JSON_KINDS
from backend.errors import BadRequest, NotFound
from backend.executor import DIALECT
from backend.services.entities import check_id, record_from_row
from backend.services.query.fields import FieldResolver, record_columns
from backend.services.query.listing import Page, PageQuery, page_query, where_clause
from backend.services.query.params import ListParams, decode_cursor, fingerprint
from backend.services.registry import BUILTIN_KINDS, EntitySpec
from backend.services.rules import Folded

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class PreparedQuery(Generic[T]):
    """SQL with `$n` placeholders, its arguments, and how to read the rows it returns."""

    sql: str
    args: list[Any]
    read: Callable[[list[Any]], T]

    def then(self, turn: Callable[[T], U]) -> PreparedQuery[U]:
        """The same query, its result turned by `turn` (a Page into a response, say)."""
        read = self.read
        return PreparedQuery(self.sql, self.args, lambda rows: turn(read(rows)))


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    values: dict[str, Any]  # the values compiled in (a rule's); the cursor's arrive per request

    @staticmethod
    def of(stmt: Any) -> _Compiled:
        compiled = stmt.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
        assert isinstance(compiled, SQLCompiler)
        values = {name: value for name, value in compiled.construct_params(_check=False).items() if value is not None}
        return _Compiled(compiled.string, tuple(compiled.positiontup or ()), values)

    def args(self, bound: dict[str, Any]) -> list[Any]:
        return [bound[name] if name in bound else self.values.get(name) for name in self.names]


def _key(access: Folded) -> str:
    """A folded rule as part of a cache key (True/False, or its `q` query as canonical JSON)."""
    return orjson.dumps(access, option=orjson.OPT_SORT_KEYS).decode()


def _sortable_column(spec: EntitySpec, name: str) -> bool:
    """A sort key whose cursor value binds as a plain column's (the document store's fields live in JSON)."""
    declared = spec.fields.get(name)
    return name in BUILTIN_KINDS or (not spec.document and declared is not None and declared.kind not in JSON_KINDS)


def page(spec: EntitySpec, params: ListParams, access: Folded) -> PreparedQuery[Page] | None:
    """A list page of a declared entity, or None when the request needs building from scratch."""
    if params.q or params.equals or params.count or not params.limit:
        return None
    if not all(_sortable_column(spec, name) for name, _ in params.sort):
        return None
    if not all(name in spec.fields or name in BUILTIN_KINDS for name in params.fields or ()):
        return None  # an undeclared name: strict REST must look for it among the records first
    values: list[Any] | None = None
    if params.cursor:
        values = decode_cursor(params.cursor, fingerprint(spec.name, params, False))
    nulls = None if values is None else tuple(value is None for value in values)
    fields = tuple(params.fields) if params.fields else None
    shape = _page_shape(spec, tuple(params.sort), fields, params.limit, params.skip, nulls, _key(access))
    compiled, query = shape
    bound: dict[str, Any] = {}
    for i, value in enumerate(values or ()):
        if value is not None:
            try:
                bound[f"c{i}"] = query.keys[i].coerce(value)
            except (BadRequest, ValueError, TypeError):
                raise BadRequest("cursor does not fit this query") from None
    return PreparedQuery(compiled.sql, compiled.args(bound), query.page)


@lru_cache(maxsize=512)
def _page_shape(
    spec: EntitySpec,
    sort: tuple[tuple[str, bool], ...],
    fields: tuple[str, ...] | None,
    limit: int,
    skip: int,
    nulls: tuple[bool, ...] | None,
    access: str,
) -> tuple[_Compiled, PageQuery]:
    params = ListParams(sort=list(sort), limit=limit, skip=skip, fields=list(fields) if fields else None)
    resolver = FieldResolver(None, spec, strict=False, dialect="postgresql")
    after: list[Any] | None = None
    if nulls is not None:  # one placeholder per non-null sort value of the cursor row (id included)
        after = [None if null else bindparam(f"c{i}") for i, null in enumerate(nulls)]
    query = page_query(resolver, params, after=after, inline_paging=True, python_json=True, access=orjson.loads(access))
    return _Compiled.of(query.stmt), query


def record(spec: EntitySpec, record_id: str, access: Folded) -> PreparedQuery[tuple[dict[str, Any], int]]:
    """One live record the user may read, as (record, version); NotFound otherwise (existence not told)."""

    def read(rows: list[Any]) -> tuple[dict[str, Any], int]:
        if not rows:
            raise NotFound(f"No {spec.name} with id {record_id!r}")
        return record_from_row(spec, rows[0])

    compiled = _record_shape(spec, _key(access))
    return PreparedQuery(compiled.sql, compiled.args({"id": check_id(record_id)}), read)


@lru_cache(maxsize=512)
def _record_shape(spec: EntitySpec, access: str) -> _Compiled:
    model = spec.model
    resolver = FieldResolver(None, spec, strict=False, dialect="postgresql")
    where = where_clause(resolver, ListParams(), access=orjson.loads(access))
    stmt = select(*record_columns(spec, pg_text_timestamps=True), model.version).where(
        model.id == bindparam("id"), where
    )
    return _Compiled.of(stmt)


__all__ = ["Page", "PreparedQuery", "page", "record"]
