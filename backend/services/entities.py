"""The one entity service: create, bulk create, get, list, merge update, soft delete, restore, purge.

Every entity on both surfaces goes through here; the routes only adapt shapes. Writes use Core
statements on the entity's table and return the record built from what was written. Every kind of
write (create, update, soft delete, restore, purge) queues the entity's after-commit hooks (hooks.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from backend.errors import BadRequest, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from backend.models.base import new_id, utcnow
from backend.services import hooks, outbox, unique_keys, update_ops
from backend.services.query import select_ids as _select_ids
from backend.services.query.fields import FieldResolver, record_columns, record_keys, to_record
from backend.services.realtime.changes import EventType, changed
from backend.services.registry import MODELLED, EntitySpec, get_spec, stored_decls
from backend.services.rules import OPERATIONS, Folded, Viewer, fold, rule_for, satisfying
from backend.services.validation import validate_record

if TYPE_CHECKING:
    from backend.services.auth import AuthUser

# Bulk limits of the app's own API, one per bulk path, refused before any record is written: bulkCreate,
# bulkUpdate and updateMany per call, and importEntities (anyone's CSV/JSON file) in rows and in bytes.
# The admin imports (`/api/admin/import`, scripts/import_base44.py) stream and have none.
MAX_BULK = 1000
MAX_BULK_UPDATE = 500
MAX_IMPORT_ROWS = 5000
MAX_IMPORT_BYTES = 10 * 1024 * 1024
RECORD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Actor:
    """Who writes: stamped into `created_by`/`created_by_id` on create, and held to the entity's row rules.
    No `viewer` is the server itself (an admin's import, matching, the sender): no rules apply. It has no
    default, so every writer says which it is (a request's user: `Actor.of(user)`)."""

    id: str | None
    email: str | None
    viewer: Viewer | None

    @classmethod
    def of(cls, user: AuthUser) -> Actor:
        """The signed-in user of a request, rules and all."""
        return cls(user.id, user.email, user.viewer)


SERVER = Actor(None, None, None)
VERBS = {"create": "create", "update": "change", "delete": "delete"}


def rule(spec: EntitySpec, op: str, actor: Actor) -> Folded:
    """What `actor` may do of `op` on the entity: all (True), nothing (False), or the records a `q` selects."""
    return True if actor.viewer is None else fold(rule_for(spec.rls, op), actor.viewer)


Permission = bool | str  # True, False, or "conditional": it depends on the record (its fields and the user's)


def permissions(actor: Actor) -> dict[str, dict[str, Permission]]:
    """Per entity (declared, and any with a stored schema) and operation, what `actor` may do — so a frontend
    can hide what the server would refuse without keeping a copy of the rules."""
    names = sorted({*MODELLED, *stored_decls()})
    return {
        name: {op: verdict if isinstance(verdict := rule(get_spec(name), op, actor), bool) else "conditional"
               for op in OPERATIONS}
        for name in names
    }  # fmt: skip


def _satisfying(session: Session, spec: EntitySpec, ids: list[str], folded: Folded) -> set[str]:
    """Which of `ids` the folded rule holds for, asked of the database (the one query compiler, as reads)."""
    if folded is True or not ids:
        return set(ids)
    if folded is False:
        return set()
    return set(session.scalars(satisfying(spec, ids, folded, FieldResolver(session, spec, strict=False))))


def readable(session: Session, spec: EntitySpec, actor: Actor, ids: list[str]) -> set[str]:
    """Which of `ids` the actor may read."""
    return _satisfying(session, spec, ids, rule(spec, "read", actor))


def guard(session: Session, spec: EntitySpec, actor: Actor, op: str, ids: list[str]) -> None:
    """`actor` must be able to read the records (else 404, as if they were not there — existence is not
    leaked) and to `op` them (else 403). Creates are checked on the written rows (`check_created`)."""
    if actor.viewer is None or not ids:
        return
    visible = readable(session, spec, actor, ids)
    hidden = [i for i in ids if i not in visible]
    if hidden:
        raise NotFound(f"No {spec.name} with id {hidden[0]!r}")
    _require(session, spec, actor, op, ids)


def _require(session: Session, spec: EntitySpec, actor: Actor, op: str, ids: list[str]) -> None:
    ids = list(dict.fromkeys(ids))  # a batch may name one record twice
    folded = _allowed(spec, actor, op)
    refused = len(ids) - len(_satisfying(session, spec, ids, folded))
    if refused:
        what = "this record" if len(ids) == 1 else f"{refused} of these {len(ids)} records"
        raise Forbidden(f"Your role may not {VERBS[op]} {what} ({spec.name}'s rule for {op})")


def check_created(session: Session, spec: EntitySpec, actor: Actor, ids: list[str]) -> None:
    """After an insert in this transaction: every new record must satisfy the create rule, or the request
    fails (403) and the transaction — the rows with it — rolls back."""
    if actor.viewer is not None:
        _require(session, spec, actor, "create", ids)


def _allowed(spec: EntitySpec, actor: Actor, op: str) -> Folded:
    """The actor's rule for `op`, folded; a role the rule shuts out entirely is refused here (403)."""
    folded = rule(spec, op, actor)
    if folded is False:
        raise Forbidden(f"Your role may not {VERBS[op]} {spec.name} records")
    return folded


def etag(version: int) -> str:
    return f'"v{version}"'


def check_id(record_id: str) -> str:
    """Ids are ours (24 hex) or imported verbatim (up to 64 of [A-Za-z0-9_-]); anything else cannot exist."""
    if not RECORD_ID.match(record_id):
        raise NotFound("No record with that id")
    return record_id


# What subscribers hear of each kind of write (a record back from the trash appears again: a create).
EVENTS: dict[str, EventType] = {"write": "update", "delete": "delete", "restore": "create", "purge": "delete"}


def _after_commit(
    session: Session,
    entity: str,
    ids: list[str],
    kind: hooks.WriteKind = "write",
    *,
    event: EventType | None = None,
    records: list[dict[str, Any]] | None = None,
) -> None:
    """The entity's after-write work, recorded in this transaction's outbox (run once it commits), and the
    change for realtime subscribers, published with the commit (services/realtime/changes.py)."""
    outbox.record(session, entity, ids, kind)
    changed(session, entity, ids, event or EVENTS[kind], records)


def _created(session: Session, entity: str, ids: list[str]) -> None:
    _after_commit(session, entity, ids, event="create")


def _fetch(
    session: Session | Connection, spec: EntitySpec, record_id: str, *, deleted: bool | None = False, lock: bool = False
) -> Row[Any]:
    model = spec.model
    stmt = select(*record_columns(spec), model.version).where(model.id == check_id(record_id), spec.scope())
    if deleted is not None:
        stmt = stmt.where(model.deleted_at.isnot(None) if deleted else model.deleted_at.is_(None))
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"No {spec.name} with id {record_id!r}" + (" in the trash" if deleted else ""))
    return row  # type: ignore[return-value]


def record_from_row(spec: EntitySpec, row: Sequence[Any]) -> tuple[dict[str, Any], int]:
    """(record, version) from a row of `record_columns(spec)` + version."""
    keys = record_keys(spec)
    return to_record(keys, row[: len(keys)], row[len(keys)]), row[len(keys) + 1]


def _insert_values(spec: EntitySpec, columns: dict[str, Any], extra: dict[str, Any], actor: Actor) -> dict[str, Any]:
    now = utcnow()
    values: dict[str, Any] = {name: None for name in spec.fields}
    values.update(columns)
    values.update(
        id=new_id(), created_date=now, updated_date=now, created_by=actor.email, created_by_id=actor.id,
        is_sample=False, deleted_at=None, version=1, extra=extra,
    )  # fmt: skip
    if spec.document:
        values["entity_name"] = spec.name
    return values


def _as_record(spec: EntitySpec, values: dict[str, Any]) -> dict[str, Any]:
    keys = record_keys(spec)
    return to_record(keys, [values[k] for k in keys], values["extra"])


def bulk_create(
    session: Session, spec: EntitySpec, items: Any, actor: Actor, *, keep_stored: bool = False
) -> list[dict[str, Any]]:
    """All or nothing: every item is validated before any is written; records come back in input order.

    `keep_stored` (the Base44 surface): an item whose unique fields (x-unique) repeat a stored record, or an
    earlier item, is not written and that record is answered in its place — Base44 never enforced those
    keys, and the office's browser bulk-creates match pairs the server may have stored a moment before.
    Without it such a batch is a 409 and nothing is written."""
    if not isinstance(items, list):
        raise ValidationFailed(
            "Expected a JSON list of records",
            detail=[{"type": "list_type", "loc": ["body"], "msg": "Input should be a list"}],
        )
    if len(items) > MAX_BULK:
        raise BadRequest(f"At most {MAX_BULK} records per bulk request (got {len(items)})")
    _allowed(spec, actor, "create")
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            columns, extra = validate_record(spec, item, partial=False)
        except ValidationFailed as exc:
            item_errors: list[dict[str, Any]] = exc.detail if isinstance(exc.detail, list) else []
            errors.extend({**e, "loc": ["body", index, *e["loc"][1:]]} for e in item_errors)
            continue
        rows.append(_insert_values(spec, columns, extra, actor))
    if errors:
        raise ValidationFailed(f"Invalid {spec.name} records; nothing was written", detail=errors)
    if keep_stored and spec.unique and rows:
        records = unique_keys.insert_keeping_stored(session, spec, rows, _as_record, _created)
        written = {r["id"] for r in rows}
        check_created(session, spec, actor, [r["id"] for r in records if r["id"] in written])
        stored = [r["id"] for r in records if r["id"] not in written]
        if len(readable(session, spec, actor, stored)) < len(set(stored)):  # answered, so it must be readable
            raise Forbidden(f"A {spec.name} record with that unique pair exists, and your role may not read it")
        return records
    records = [_as_record(spec, r) for r in rows]
    if rows:
        session.execute(insert(spec.table), rows)
        _after_commit(session, spec.name, [r["id"] for r in rows], event="create", records=records)
        check_created(session, spec, actor, [r["id"] for r in rows])
    return records


def create(session: Session, spec: EntitySpec, data: Any, actor: Actor) -> tuple[dict[str, Any], str]:
    _allowed(spec, actor, "create")
    columns, extra = validate_record(spec, data, partial=False)
    values = _insert_values(spec, columns, extra, actor)
    session.execute(insert(spec.table), [values])
    record = _as_record(spec, values)
    _after_commit(session, spec.name, [values["id"]], event="create", records=[record])
    check_created(session, spec, actor, [values["id"]])
    return record, etag(1)


def get(session: Session | Connection, spec: EntitySpec, record_id: str) -> tuple[dict[str, Any], str]:
    record, version = record_from_row(spec, _fetch(session, spec, record_id))
    return record, etag(version)


def _check_if_match(if_match: str | None, version: int) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if etag(version) not in wanted:
        raise PreconditionFailed("The record changed since you read it (If-Match does not match its ETag)")


def update_record(
    session: Session,
    spec: EntitySpec,
    record_id: str,
    data: Any,
    *,
    actor: Actor,
    if_match: str | None = None,
    unset: set[str] | frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], str]:
    """Merge: keys present replace (null stores null), keys absent keep their value; built-ins ignored.

    `unset` (from `$unset`/`$rename`) removes undeclared fields and nulls declared ones.
    """
    columns, extra = validate_record(spec, data, partial=True)
    for name in unset:
        if name in spec.fields:
            columns[name] = None
    row = _fetch(session, spec, record_id, lock=True)
    guard(session, spec, actor, "update", [record_id])
    record, version = record_from_row(spec, row)
    _check_if_match(if_match, version)
    stored_extra: dict[str, Any] = row.extra or {}
    merged_extra = {k: v for k, v in {**stored_extra, **extra}.items() if k not in unset}
    for name in unset - spec.fields.keys():
        record.pop(name, None)
    now = utcnow()
    values = {**columns, "extra": merged_extra, "updated_date": now, "version": version + 1}
    model = spec.model
    session.execute(update(spec.table).where(model.id == record_id, model.version == version).values(**values))
    record.update(columns)
    record.update(extra)
    record["updated_date"] = now
    _after_commit(session, spec.name, [record_id], records=[record])
    return record, etag(version + 1)


def bulk_update(session: Session, spec: EntitySpec, items: Any, actor: Actor) -> list[dict[str, Any]]:
    """`[{id, ...changes}, ...]` merged record by record in one transaction (any failure writes nothing)."""
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        raise BadRequest("Expected a JSON list of objects, each with the record's `id`")
    if len(items) > MAX_BULK_UPDATE:
        raise BadRequest(f"At most {MAX_BULK_UPDATE} records per bulk update (got {len(items)})")
    return [update_record(session, spec, item["id"], item, actor=actor)[0] for item in items]


def update_many(session: Session, spec: EntitySpec, query: Any, data: Any, actor: Actor) -> tuple[int, bool]:
    """Applies update operators to up to 500 matching records the actor may read; `has_more` when more
    matched. One the actor may read but not change refuses the whole call (403, nothing written)."""
    if not isinstance(query, dict):
        raise BadRequest("query must be a JSON object")
    ops = update_ops.check(data, spec)
    ids = _select_ids(session, spec, query or None, access=rule(spec, "read", actor))[: MAX_BULK_UPDATE + 1]
    _require(session, spec, actor, "update", ids[:MAX_BULK_UPDATE])
    for record_id in ids[:MAX_BULK_UPDATE]:
        record, _ = get(session, spec, record_id)
        changes, removed = update_ops.apply(record, ops, spec)
        update_record(session, spec, record_id, changes, actor=SERVER, unset=removed)
    return min(len(ids), MAX_BULK_UPDATE), len(ids) > MAX_BULK_UPDATE


def soft_delete(
    session: Session, spec: EntitySpec, record_id: str, *, actor: Actor, if_match: str | None = None
) -> None:
    record, version = record_from_row(spec, _fetch(session, spec, record_id, lock=True))
    guard(session, spec, actor, "delete", [record_id])
    _check_if_match(if_match, version)
    model = spec.model
    session.execute(
        update(spec.table)
        .where(model.id == record_id)
        .values(deleted_at=utcnow(), updated_date=utcnow(), version=version + 1)
    )
    _after_commit(session, spec.name, [record_id], "delete", records=[record])


def delete_matching(session: Session, spec: EntitySpec, query: Any, actor: Actor) -> int:
    """Soft-deletes every live record matching `query` that the actor may read (all or nothing: one it may
    not delete is a 403); an empty query is refused, not "delete all"."""
    if not isinstance(query, dict) or not query:
        raise BadRequest("deleteMany needs a non-empty query object (refusing to delete everything)")
    ids = _select_ids(session, spec, query, access=rule(spec, "read", actor))
    _require(session, spec, actor, "delete", ids)
    return delete_many(session, spec, ids)


def delete_many(session: Session, spec: EntitySpec, ids: list[str]) -> int:
    if not ids:
        return 0
    model = spec.model
    now = utcnow()
    gone = list(
        session.scalars(
            update(spec.table)
            .where(model.id.in_(ids), model.deleted_at.is_(None), spec.scope())
            .values(deleted_at=now, updated_date=now, version=model.version + 1)
            .returning(model.id)
        )
    )
    if gone:
        _after_commit(session, spec.name, gone, "delete")
    return len(gone)


def restore(session: Session, spec: EntitySpec, record_id: str, actor: Actor) -> tuple[dict[str, Any], str]:
    """Out of the trash; undoing a delete takes the right to delete."""
    _, version = record_from_row(spec, _fetch(session, spec, record_id, deleted=True))
    guard(session, spec, actor, "delete", [record_id])
    model = spec.model
    session.execute(
        update(spec.table)
        .where(model.id == record_id)
        .values(deleted_at=None, version=version + 1, updated_date=utcnow())
    )
    _after_commit(session, spec.name, [record_id], "restore")
    return get(session, spec, record_id)


def purge(session: Session, spec: EntitySpec, record_id: str, actor: Actor) -> None:
    record, _ = record_from_row(spec, _fetch(session, spec, record_id, deleted=None))
    guard(session, spec, actor, "delete", [record_id])
    was_live = session.scalar(select(spec.model.deleted_at).where(spec.model.id == record_id)) is None
    session.execute(delete(spec.table).where(spec.model.id == record_id, spec.scope()))
    outbox.record(session, spec.name, [record_id], "purge")
    if was_live:  # a record purged from the trash was already announced as deleted
        changed(session, spec.name, [record_id], "delete", [record])


def select_ids(session: Session, entity_name: str, q: dict[str, Any] | None) -> list[str]:
    """Ids of live records of `entity_name` matching the Base44-style query `q`."""
    return _select_ids(session, get_spec(entity_name), q)
