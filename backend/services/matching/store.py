"""Match rows in bulk: read what a step needs, write with a few set-based Core statements.

Never one ORM object per row. On PostgreSQL new rows go in as one INSERT ... SELECT FROM unnest(arrays)
per few thousand rows and score changes as one UPDATE ... FROM (VALUES ...) per thousand: measured on
the bench, about twice as fast as SQLAlchemy's multi-row VALUES batches for inserts and a hundred times
faster than psycopg2's row-by-row executemany for updates. Other databases use executemany. Every
statement works on the pairing's own result entity (`Match`, `MatchesBrokerage`, ...) through its
ResultColumns; `NewMatch.client_id`/`property_id` are the seeker's and the offer's ids whatever the
entity calls them.
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
from backend.models.base import new_id
from backend.services.matching.bound import Bound, ResultColumns, bind
from backend.services.matching.pairings import get_pairing
from backend.services.matching.search import chunks
from backend.services.query.fields import record_columns, record_keys, to_record
from backend.services.realtime.changes import changed

BUILTINS = ("id", "created_date", "updated_date", "created_by", "created_by_id", "is_sample")
INSERT_BATCH = 5000


class NewMatch(NamedTuple):
    client_id: str  # the seeker
    property_id: str  # the offer
    score: int
    reasons: tuple[str, ...]


def seed() -> Bound:
    return bind(get_pairing("seed"))


def match_record(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A seed Match as the API shows it (a row of the `matches` table): undeclared fields flattened in."""
    spec = seed().pairing.result.spec
    return to_record(record_keys(spec), [row.get(key) for key in record_keys(spec)], row.get("extra"))


def new_record(bound: Bound, match: NewMatch, match_id: str | None, now: dt.datetime) -> dict[str, Any]:
    """The record a new match gets: every declared field of the result entity, the pair and its score set."""
    res = bound.result
    record: dict[str, Any] = {
        "id": match_id, "created_date": now, "updated_date": now, "created_by": None, "created_by_id": None,
        "is_sample": False,
    }  # fmt: skip
    record.update({name: None for name in bound.pairing.result.spec.fields})
    names = res.names
    record[names["seek_id"]] = match.client_id
    record[names["offer_id"]] = match.property_id
    record[names["score"]] = match.score
    record[names["status"]] = res.new_status
    if "reasons" in names:
        record[names["reasons"]] = list(match.reasons)
    return record


def untouched(row: Row[Any], new_status: str) -> bool:
    """Still as the generator left it: the untouched-new status, not deleted, not made by a person, no fields added."""
    return row.status == new_status and row.deleted_at is None and row.created_by is None and bool(row.plain)


def existing_by_client(
    session: Session, bound: Bound, client_ids: Sequence[str], scope: set[str] | None
) -> list[Row[Any]]:
    """Stored matches of these seekers (all of them, or only those with an offer in `scope`)."""
    res = bound.result
    rows: list[Row[Any]] = []
    for part in chunks(client_ids):
        rows.extend(session.execute(select(*res.existing()).where(res.seek.in_(part))))
    return rows if scope is None else [row for row in rows if row.property_id in scope]


def existing_by_property(session: Session, bound: Bound, property_ids: Sequence[str]) -> dict[str, list[Row[Any]]]:
    res = bound.result
    grouped: dict[str, list[Row[Any]]] = {}
    for part in chunks(property_ids):
        for row in session.execute(select(*res.existing()).where(res.offer.in_(part))):
            if row.client_id is not None:
                grouped.setdefault(row.client_id, []).append(row)
    return grouped


def matched_client_ids(session: Session, bound: Bound) -> set[str]:
    res = bound.result
    return set(session.scalars(select(res.seek).where(res.seek.is_not(None)).distinct()))


def records_by_id(session: Session, bound: Bound, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    spec = bound.pairing.result.spec
    keys = record_keys(spec)
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(ids):
        rows = session.execute(select(*record_columns(spec)).where(spec.model.id.in_(part)))
        for row in rows:
            record = to_record(keys, row[: len(keys)], row[len(keys)])
            found[record["id"]] = record
    return found


def insert_matches(
    session: Session, matches: list[NewMatch], now: dt.datetime, bound: Bound | None = None
) -> list[tuple[str, NewMatch]]:
    """Store new pairs; returns (id, pair) for the rows really inserted (a concurrent run, or a person, may
    have stored the pair first: one record per pair, the unique key decides)."""
    bound = bound or seed()
    res = bound.result
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
            result = session.execute(_insert_unnest(res, part, part_ids, now, dumped))
        else:
            rows = [_row(bound, match, match_id, now) for match, match_id in zip(part, part_ids, strict=True)]
            result = session.execute(_insert_many(session, res), rows)
        pairs = list(zip(part_ids, part, strict=True))
        if result.rowcount != len(part):  # type: ignore[attr-defined]
            # Rare: a concurrent run stored some of these pairs first; list only the rows that are ours.
            ours = {
                i
                for ids_part in chunks(part_ids)
                for i in session.scalars(select(res.table.c.id).where(res.table.c.id.in_(ids_part)))
            }
            pairs = [(match_id, match) for match_id, match in pairs if match_id in ours]
        written.extend(pairs)
    changed(session, bound.pairing.result.spec.name, [match_id for match_id, _ in written], "create")
    return written


def _row(bound: Bound, match: NewMatch, match_id: str, now: dt.datetime) -> dict[str, Any]:
    return {**new_record(bound, match, match_id, now), "deleted_at": None, "version": 1, "extra": {}}


def _insert_many(session: Session, res: ResultColumns) -> Any:
    keys = [res.seek.name, res.offer.name]
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert(res.table).on_conflict_do_nothing(index_elements=keys)
    return res.table.insert()


def _insert_unnest(
    res: ResultColumns, part: list[NewMatch], ids: list[str], now: dt.datetime, dumped: dict[tuple[str, ...], str]
) -> Any:
    arrays = {
        "id": (ids, String),
        "seek": ([m.client_id for m in part], Text),
        "offer": ([m.property_id for m in part], Text),
        "score": ([m.score for m in part], BigInteger),
    }
    if res.reasons is not None:
        arrays["reasons"] = ([dumped.get(m.reasons) or _dump(m.reasons, dumped) for m in part], Text)
    rows = (
        func.unnest(
            *(bindparam(f"u_{name}", data, type_=postgresql.ARRAY(kind)) for name, (data, kind) in arrays.items())
        )
        .table_valued(*arrays)
        .render_derived(name="u")
    )
    source: list[Any] = [rows.c.id, rows.c.seek, rows.c.offer, rows.c.score]
    target = ["id", res.seek.name, res.offer.name, res.score.name]
    if res.reasons is not None:
        source.append(cast(rows.c.reasons, postgresql.JSONB))
        target.append(res.reasons.name)
    source += [
        literal(res.new_status), literal(now), literal(now), literal(False), literal(1),
        cast(literal("{}"), postgresql.JSONB),
    ]  # fmt: skip
    target += [res.status.name, "created_date", "updated_date", "is_sample", "version", "extra"]
    return (
        postgresql.insert(res.table)
        .from_select(target, select(*source))
        .on_conflict_do_nothing(index_elements=[res.seek.name, res.offer.name])
    )


def _dump(reasons: tuple[str, ...], dumped: dict[tuple[str, ...], str]) -> str:
    text = dumped[reasons] = json.dumps(reasons, ensure_ascii=False)
    return text


def update_matches(
    session: Session, changes: Iterable[tuple[str, int, list[str]]], now: dt.datetime, bound: Bound | None = None
) -> None:
    """New score and reasons, `version` + 1, `updated_date` now. `status` is never written."""
    bound = bound or seed()
    res = bound.result
    changes = list(changes)
    if not changes:
        return
    changed(session, bound.pairing.result.spec.name, [c[0] for c in changes], "update")
    t = res.table
    set_version = {"updated_date": now, "version": t.c.version + 1}
    if session.get_bind().dialect.name == "postgresql":
        for start in range(0, len(changes), 1000):
            data = values(
                column("id", String), column("score", BigInteger), column("reasons", JsonType), name="v"
            ).data(changes[start : start + 1000])
            new: dict[str, Any] = {res.score.name: data.c.score}
            if res.reasons is not None:
                new[res.reasons.name] = cast(data.c.reasons, postgresql.JSONB)
            session.execute(update(t).where(t.c.id == data.c.id, t.c.deleted_at.is_(None)).values(**new, **set_version))
        return
    new_values: dict[str, Any] = {res.score.name: bindparam("b_score")}
    if res.reasons is not None:
        new_values[res.reasons.name] = bindparam("b_reasons", type_=JsonType)
    stmt = update(t).where(t.c.id == bindparam("b_id"), t.c.deleted_at.is_(None)).values(**new_values, **set_version)
    params = [{"b_id": i, "b_score": s, "b_reasons": r} for i, s, r in changes]
    if res.reasons is None:
        params = [{"b_id": i, "b_score": s} for i, s, _ in changes]
    session.execute(stmt, params)


def delete_untouched(session: Session, ids: Sequence[str], bound: Bound | None = None) -> int:
    bound = bound or seed()
    res = bound.result
    t = res.table
    removed: list[str] = []
    for part in chunks(ids):
        # Re-checked in SQL: an agent who changed the status meanwhile keeps the match.
        removed += session.scalars(
            delete(t).where(t.c.id.in_(part), res.status == res.new_status, t.c.deleted_at.is_(None)).returning(t.c.id)
        )
    changed(session, bound.pairing.result.spec.name, removed, "delete")
    return len(removed)


def delete_referencing(session: Session, bound: Bound, seekers: bool, ids: Sequence[str]) -> int:
    """Remove every match, agent-touched or in the trash, that points at one of `ids`, once that record is gone.

    Hard delete, like `delete_untouched`: a purge removes its record for good, and a match kept in the
    trash could only be restored to point at nothing. Re-checked in SQL that the record no longer
    exists, so an id that came back (an import keeps ids verbatim) keeps its matches.
    """
    res = bound.result
    model = bound.seek.model if seekers else bound.offer.model
    ref = res.seek if seekers else res.offer
    gone = ~exists().where(model.id == ref)
    removed: list[str] = []
    for part in chunks(ids):
        removed += session.scalars(delete(res.table).where(ref.in_(part), gone).returning(res.table.c.id))
    changed(session, bound.pairing.result.spec.name, removed, "delete")
    return len(removed)
