"""Match rows in bulk: read what a step needs, write with a few set-based Core statements.

Never one ORM object per row. On PostgreSQL new rows go in as one INSERT ... SELECT FROM unnest(arrays)
per few thousand rows and score changes as one UPDATE ... FROM (VALUES ...) per thousand: measured on
the bench, about twice as fast as SQLAlchemy's multi-row VALUES batches for inserts and a hundred times
faster than psycopg2's row-by-row executemany for updates. Other databases use executemany.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Row,
    String,
    Table,
    Text,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    literal,
    select,
    update,
    values,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.database import JsonType
from backend.models import Client, Match
from backend.models.base import new_id
from backend.services.matching.search import chunks

MATCHES: Table = Match.__table__
RECORD_FIELDS = (
    "id",
    "created_date",
    "updated_date",
    "created_by",
    "created_by_id",
    "is_sample",
    "client_id",
    "property_id",
    "match_score",
    "reasons",
    "status",
)
# What reconciling needs of a stored match; `plain` says no agent added fields of their own.
_EXISTING = [
    *(MATCHES.c[name] for name in ("id", "client_id", "property_id", "match_score", "reasons", "status")),
    MATCHES.c.created_by,
    MATCHES.c.deleted_at,
    cast(MATCHES.c.extra, Text).in_(["{}", "null"]).label("plain"),
]
INSERT_BATCH = 5000


class NewMatch(NamedTuple):
    client_id: str
    property_id: str
    score: int
    reasons: tuple[str, ...]


def match_record(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A Match as the API shows it: undeclared fields flattened in, never over a declared one."""
    record: dict[str, Any] = dict(row.get("extra") or {})
    record.update({name: row.get(name) for name in RECORD_FIELDS})
    return record


def new_record(match: NewMatch, match_id: str | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": match_id, "created_date": now, "updated_date": now, "created_by": None, "created_by_id": None,
        "is_sample": False, "client_id": match.client_id, "property_id": match.property_id,
        "match_score": match.score, "reasons": list(match.reasons), "status": "new",
    }  # fmt: skip


def untouched(row: Row[Any]) -> bool:
    """Still as the generator left it: `new`, not deleted, not made by a person, no fields added."""
    return row.status == "new" and row.deleted_at is None and row.created_by is None and bool(row.plain)


def existing_by_client(session: Session, client_ids: Sequence[str], scope: set[str] | None) -> list[Row[Any]]:
    rows = list(session.execute(select(*_EXISTING).where(MATCHES.c.client_id.in_(client_ids))))
    return rows if scope is None else [row for row in rows if row.property_id in scope]


def existing_by_property(session: Session, property_ids: Sequence[str]) -> dict[str, list[Row[Any]]]:
    grouped: dict[str, list[Row[Any]]] = {}
    for part in chunks(property_ids):
        for row in session.execute(select(*_EXISTING).where(MATCHES.c.property_id.in_(part))):
            if row.client_id is not None:
                grouped.setdefault(row.client_id, []).append(row)
    return grouped


def matched_client_ids(session: Session) -> set[str]:
    stmt = select(MATCHES.c.client_id).where(MATCHES.c.client_id.is_not(None)).distinct()
    return set(session.scalars(stmt))


def records_by_id(session: Session, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    columns = [MATCHES.c[name] for name in (*RECORD_FIELDS, "extra")]
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(ids):
        for row in session.execute(select(*columns).where(MATCHES.c.id.in_(part))):
            found[row.id] = match_record(row._mapping)
    return found


def insert_matches(session: Session, matches: list[NewMatch], now: dt.datetime) -> list[tuple[str, NewMatch]]:
    """Store new pairs; returns (id, pair) for the rows really inserted (a concurrent run may have been first)."""
    # Pairs sorted by (client, property) and ids sorted too: the primary key, the unique index, the client
    # index and (created_date, id) then fill page after page instead of splitting pages all over.
    ordered = sorted(matches)
    ids = sorted(new_id() for _ in ordered)
    postgres = session.get_bind().dialect.name == "postgresql"
    dumped: dict[tuple[str, ...], str] = {}  # a run has few distinct reason lists: serialise each once
    written: list[tuple[str, NewMatch]] = []
    for start in range(0, len(ordered), INSERT_BATCH):
        part, part_ids = ordered[start : start + INSERT_BATCH], ids[start : start + INSERT_BATCH]
        if postgres:
            result = session.execute(_insert_unnest(part, part_ids, now, dumped))
        else:
            rows = [_row(match, match_id, now) for match, match_id in zip(part, part_ids, strict=True)]
            result = session.execute(_insert_many(session), rows)
        pairs = list(zip(part_ids, part, strict=True))
        if result.rowcount != len(part):  # type: ignore[attr-defined]
            # Rare: a concurrent run stored some of these pairs first; list only the rows that are ours.
            ours = {
                i
                for ids_part in chunks(part_ids)
                for i in session.scalars(select(MATCHES.c.id).where(MATCHES.c.id.in_(ids_part)))
            }
            pairs = [(match_id, match) for match_id, match in pairs if match_id in ours]
        written.extend(pairs)
    return written


def _row(match: NewMatch, match_id: str, now: dt.datetime) -> dict[str, Any]:
    return {**new_record(match, match_id, now), "deleted_at": None, "version": 1, "extra": {}}


def _insert_many(session: Session) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert(MATCHES).on_conflict_do_nothing(index_elements=["client_id", "property_id"])
    return MATCHES.insert()


def _insert_unnest(part: list[NewMatch], ids: list[str], now: dt.datetime, dumped: dict[tuple[str, ...], str]) -> Any:
    arrays = {
        "id": (ids, String),
        "client_id": ([m.client_id for m in part], Text),
        "property_id": ([m.property_id for m in part], Text),
        "score": ([m.score for m in part], BigInteger),
        "reasons": ([dumped.get(m.reasons) or _dump(m.reasons, dumped) for m in part], Text),
    }
    rows = (
        func.unnest(
            *(bindparam(f"u_{name}", data, type_=postgresql.ARRAY(kind)) for name, (data, kind) in arrays.items())
        )
        .table_valued(*arrays)
        .render_derived(name="u")
    )
    source = select(
        rows.c.id, rows.c.client_id, rows.c.property_id, rows.c.score, cast(rows.c.reasons, postgresql.JSONB),
        literal("new"), literal(now), literal(now), literal(False), literal(1), cast(literal("{}"), postgresql.JSONB),
    )  # fmt: skip
    target = ["id", "client_id", "property_id", "match_score", "reasons", "status", "created_date", "updated_date"]
    return (
        postgresql.insert(MATCHES)
        .from_select([*target, "is_sample", "version", "extra"], source)
        .on_conflict_do_nothing(index_elements=["client_id", "property_id"])
    )


def _dump(reasons: tuple[str, ...], dumped: dict[tuple[str, ...], str]) -> str:
    text = dumped[reasons] = json.dumps(reasons, ensure_ascii=False)
    return text


def update_matches(session: Session, changes: Iterable[tuple[str, int, list[str]]], now: dt.datetime) -> None:
    """New score and reasons, `version` + 1, `updated_date` now. `status` is never written."""
    changes = list(changes)
    if not changes:
        return
    set_version = {"updated_date": now, "version": MATCHES.c.version + 1}
    if session.get_bind().dialect.name == "postgresql":
        for start in range(0, len(changes), 1000):
            data = values(
                column("id", String), column("score", BigInteger), column("reasons", JsonType), name="v"
            ).data(changes[start : start + 1000])
            session.execute(
                update(MATCHES)
                .where(MATCHES.c.id == data.c.id, MATCHES.c.deleted_at.is_(None))
                .values(match_score=data.c.score, reasons=cast(data.c.reasons, postgresql.JSONB), **set_version)
            )
        return
    stmt = (
        update(MATCHES)
        .where(MATCHES.c.id == bindparam("b_id"), MATCHES.c.deleted_at.is_(None))
        .values(match_score=bindparam("b_score"), reasons=bindparam("b_reasons", type_=JsonType), **set_version)
    )
    session.execute(stmt, [{"b_id": i, "b_score": s, "b_reasons": r} for i, s, r in changes])


def delete_untouched(session: Session, ids: Sequence[str]) -> int:
    removed = 0
    for part in chunks(ids):
        # Re-checked in SQL: an agent who changed the status meanwhile keeps the match.
        result = session.execute(
            delete(MATCHES).where(MATCHES.c.id.in_(part), MATCHES.c.status == "new", MATCHES.c.deleted_at.is_(None))
        )
        removed += max(result.rowcount, 0)  # type: ignore[attr-defined]
    return removed


def delete_referencing(session: Session, model: Any, ids: Sequence[str]) -> int:
    """Remove every Match, agent-touched or in the trash, that points at one of `ids`, once that record is gone.

    Hard delete, like `delete_untouched`: a purge removes its record for good, and a Match kept in the
    trash could only be restored to point at nothing. Re-checked in SQL that the record no longer
    exists, so an id that came back (an import keeps ids verbatim) keeps its matches.
    """
    ref = MATCHES.c.client_id if model is Client else MATCHES.c.property_id
    gone = ~exists().where(model.id == ref)
    removed = 0
    for part in chunks(ids):
        result = session.execute(delete(MATCHES).where(ref.in_(part), gone))
        removed += max(result.rowcount, 0)  # type: ignore[attr-defined]
    return removed
