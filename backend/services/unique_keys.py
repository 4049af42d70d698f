"""Bulk creates that meet a unique key (x-unique) already taken: answer the stored record, write the rest.

Only the Base44 surface asks for this (entities.bulk_create(keep_stored=True)): Base44 never enforced
unique keys, and the office's browser bulk-creates match pairs that the server's own matching may have
stored a moment earlier. Failing the whole batch would show the office an error for a pair that exists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from backend.database import dialect_insert
from backend.services.query.fields import record_columns, record_keys, to_record
from backend.services.registry import EntitySpec

CHUNK = 300  # keys per IN list (two parameters each)
Key = tuple[tuple[str, ...], tuple[Any, ...]]  # (the unique group, the row's values for it)


def _keys(spec: EntitySpec, row: dict[str, Any]) -> list[Key]:
    keys = []
    for group in spec.unique:
        values = tuple(row.get(name) for name in group)
        if None not in values:  # NULLs never collide in a unique constraint
            keys.append((group, values))
    return keys


def _stored(session: Session, spec: EntitySpec, wanted: Sequence[Key]) -> dict[Key, dict[str, Any]]:
    """The stored records (live or in the trash: both hold the key) for each wanted key."""
    names = record_keys(spec)
    found: dict[Key, dict[str, Any]] = {}
    for group in spec.unique:
        values = sorted({v for g, v in wanted if g == group})
        columns = [getattr(spec.model, name) for name in group]
        for start in range(0, len(values), CHUNK):
            stmt = select(*record_columns(spec)).where(tuple_(*columns).in_(values[start : start + CHUNK]))
            for row in session.execute(stmt):
                record = to_record(names, row[: len(names)], row[len(names)])
                found[(group, tuple(record[name] for name in group))] = record
    return found


def insert_keeping_stored(
    session: Session,
    spec: EntitySpec,
    rows: list[dict[str, Any]],
    as_record: Callable[[EntitySpec, dict[str, Any]], dict[str, Any]],
    after_commit: Callable[[Session, str, list[str]], None],
) -> list[dict[str, Any]]:
    """Insert `rows` (prepared insert values) except those whose key is taken; records in input order."""
    first: dict[Key, int] = {}
    same_as: dict[int, int] = {}  # a repeat within the batch → the earlier item it repeats
    fresh: list[int] = []
    for index, row in enumerate(rows):
        earlier = next((first[k] for k in _keys(spec, row) if k in first), None)
        if earlier is not None:
            same_as[index] = earlier
            continue
        first.update({k: index for k in _keys(spec, row)})
        fresh.append(index)
    answers: dict[int, dict[str, Any]] = {}
    stored = _stored(session, spec, list(first))
    writing = []
    for index in fresh:
        hit = next((stored[k] for k in _keys(spec, rows[index]) if k in stored), None)
        if hit is not None:
            answers[index] = hit
        else:
            writing.append(index)
    if writing:
        session.execute(dialect_insert(session)(spec.table).on_conflict_do_nothing(), [rows[i] for i in writing])
        ids = [rows[i]["id"] for i in writing]
        written = set(session.scalars(select(spec.model.id).where(spec.model.id.in_(ids))))
        raced = [i for i in writing if rows[i]["id"] not in written]  # another writer took the key meanwhile
        if raced:
            late = _stored(session, spec, [k for i in raced for k in _keys(spec, rows[i])])
            for index in raced:
                answers[index] = next(late[k] for k in _keys(spec, rows[index]) if k in late)
        for index in writing:
            if rows[index]["id"] in written:
                answers[index] = as_record(spec, rows[index])
        if written:
            after_commit(session, spec.name, [rows[i]["id"] for i in writing if rows[i]["id"] in written])
    for index, earlier in same_as.items():
        answers[index] = answers[earlier]
    return [answers[index] for index in range(len(rows))]
