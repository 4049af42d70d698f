"""The one read pipeline: a list page, one record, a count — every entity, both surfaces, every database.

The query engine builds the statement, with the user's row rule for `read` folded into its WHERE
(services/rules.py: rows the user may not read are simply not there, in pages, cursors and counts alike);
the executor chosen at start-up runs it (backend/executor.py: asyncpg on PostgreSQL, the sync engine in a
thread on SQLite). On PostgreSQL the hot shapes come precompiled (services/query/prepared.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.errors import NotFound
from backend.executor import Executor, executor
from backend.services.entities import check_id, etag, record_from_row
from backend.services.query import ListParams, Page, count_query, page_query, prepared, where_clause
from backend.services.query.aggregate import aggregate_query, distinct_query
from backend.services.query.fields import FieldResolver, record_columns, referenced
from backend.services.registry import EntitySpec
from backend.services.rules import Folded, Viewer, fold, rule_for


def read_access(spec: EntitySpec, viewer: Viewer) -> Folded:
    """What this user may read of the entity: everything, nothing, or the records a `q` query selects."""
    return fold(rule_for(spec.rls, "read"), viewer)


async def _resolver(run: Executor, spec: EntitySpec, params: ListParams, strict: bool) -> FieldResolver:
    """A resolver for this request; strict REST looks up the undeclared names it uses among the records first
    (one query), so an unknown name is a 400 and a name some record carries is a field."""
    resolver = FieldResolver(None, spec, strict=strict, dialect=run.dialect)
    unknown = resolver.unknown(referenced(params))
    if not unknown:
        return resolver
    [row] = await run.rows(resolver.presence_query(unknown))
    present = {name for name, found in zip(unknown, row, strict=True) if found}
    return FieldResolver(None, spec, strict=strict, dialect=run.dialect, present=present)


async def list_page(
    spec: EntitySpec, params: ListParams, viewer: Viewer, *, strict: bool, deleted: bool = False
) -> Page:
    """A page of records (REST is strict about field names; Base44, like Base44, is not)."""
    run = executor()
    access = read_access(spec, viewer)
    if run.dialect == "postgresql" and not deleted:
        hot = prepared.page(spec, params, access)
        if hot is not None:
            return hot.read(await run.rows_sql(hot.sql, hot.args))
    resolver = await _resolver(run, spec, params, strict)
    query = page_query(resolver, params, deleted=deleted, access=access, python_json=True)
    rows = await run.rows(query.stmt) if params.limit else []
    total = None
    if params.count:
        [[total]] = await run.rows(count_query(query))
    return query.page(rows, total)


async def count(spec: EntitySpec, params: ListParams, viewer: Viewer) -> int:
    """How many records the user may read match the query (Base44's `count(q)`)."""
    run = executor()
    resolver = FieldResolver(None, spec, strict=False, dialect=run.dialect)
    query = page_query(resolver, params, access=read_access(spec, viewer), python_json=True)
    [[total]] = await run.rows(count_query(query))
    return int(total or 0)


async def get_record(spec: EntitySpec, record_id: str, viewer: Viewer) -> tuple[dict[str, Any], str]:
    """One live record with its ETag; a record the user may not read is as absent as a missing one (404)."""
    run = executor()
    access = read_access(spec, viewer)
    if run.dialect == "postgresql":
        hot = prepared.record(spec, record_id, access)
        found, version = hot.read(await run.rows_sql(hot.sql, hot.args))
        return found, etag(version)
    resolver = FieldResolver(None, spec, strict=False, dialect=run.dialect)
    model = spec.model
    stmt = select(*record_columns(spec), model.version).where(
        model.id == check_id(record_id), where_clause(resolver, ListParams(), access=access)
    )
    rows = await run.rows(stmt)
    if not rows:
        raise NotFound(f"No {spec.name} with id {record_id!r}")
    found, version = record_from_row(spec, rows[0])
    return found, etag(version)


async def aggregate(spec: EntitySpec, body: Any, viewer: Viewer) -> dict[str, Any]:
    """`aggregate(spec)` over the records the user may read → `{rows, truncated}` (services/query/aggregate.py)."""
    run = executor()
    resolver = FieldResolver(None, spec, strict=False, dialect=run.dialect)
    query = aggregate_query(resolver, body, access=read_access(spec, viewer))
    return query.result(await run.rows(query.stmt))


async def distinct(
    spec: EntitySpec, field: str, params: ListParams, limit: int | None, viewer: Viewer
) -> dict[str, Any]:
    """One page of a field's distinct values among the records the user may read → `{items, next_cursor,
    has_more}`, ascending; an array field contributes each element."""
    run = executor()
    resolver = FieldResolver(None, spec, strict=False, dialect=run.dialect)
    query = distinct_query(resolver, field, params, limit, access=read_access(spec, viewer))
    return query.page(await run.rows(query.stmt))
