"""`upsert(records, {key})` (SDK 0.8): create or merge-update records by a key of the caller's own.

Up to 500 records per call, all in one transaction (any invalid record writes nothing). Each record must
carry a value for every key field, else a 422 naming the record. When two records of one call share a key
the last wins. The existing record is looked up among the live records the user may read (the folded read
rule, as a list would), with the one query engine's equality; several matches update the oldest. On
PostgreSQL each key takes a transaction-scoped advisory lock first, so two calls upserting one new key at
the same time create it once.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.database import dialect_name
from backend.errors import BadRequest, ValidationFailed
from backend.services import entities
from backend.services.query import select_ids
from backend.services.registry import BUILTIN_KINDS, FIELD_NAME, INTERNAL, EntitySpec

MAX_UPSERT = 500
MAX_KEY_FIELDS = 4


def _key_fields(key: Any) -> list[str]:
    names = [key] if isinstance(key, str) else key
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise BadRequest("upsert: key takes a field name or a list of field names")
    if len(names) > MAX_KEY_FIELDS:
        raise BadRequest(f"upsert: a key has at most {MAX_KEY_FIELDS} fields")
    for name in names:
        if not FIELD_NAME.match(name) or "." in name or name in INTERNAL or (name in BUILTIN_KINDS and name != "id"):
            raise BadRequest(f"upsert: {name[:60]!r} cannot be a key field")
    return list(dict.fromkeys(names))


def _lock(spec: EntitySpec, packed: bytes) -> int:
    return int.from_bytes(
        hashlib.sha256(b"upsert\0" + spec.name.encode() + b"\0" + packed).digest()[:8], "big", signed=True
    )


def upsert(session: Session, spec: EntitySpec, body: Any, actor: entities.Actor) -> dict[str, Any]:
    if not isinstance(body, dict) or set(body) - {"records", "key"} or "records" not in body or "key" not in body:
        raise BadRequest('upsert takes {"records": [...], "key": "<field>" or ["<field>", ...]}')
    keys = _key_fields(body["key"])
    records = body["records"]
    if not isinstance(records, list):
        raise BadRequest("upsert: records must be a list of objects")
    if len(records) > MAX_UPSERT:
        raise BadRequest(f"upsert: at most {MAX_UPSERT} records per call (got {len(records)})")
    errors: list[dict[str, Any]] = []
    last: dict[bytes, int] = {}  # key values -> index of the last record carrying them
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            errors.append({"type": "dict_type", "loc": ["body", "records", index], "msg": "must be an object"})
            continue
        missing = [k for k in keys if record.get(k) is None]
        for name in missing:
            msg = f"records[{index}] has no value for the key field {name!r}"
            errors.append({"type": "missing", "loc": ["body", "records", index, name], "msg": msg})
        if not missing:
            last[orjson.dumps([record[k] for k in keys])] = index
    if errors:
        raise ValidationFailed(f"upsert: {errors[0]['msg']}; nothing was written", detail=errors)
    access = entities.rule(spec, "read", actor)
    postgres = dialect_name(session) == "postgresql"
    created = updated = 0
    written: list[dict[str, Any]] = []
    if postgres:  # every key's lock, in one order for every caller: no deadlock between two upserts
        for lock in sorted({_lock(spec, packed) for packed in last}):
            session.execute(select(func.pg_advisory_xact_lock(lock)))
    for index in sorted(last.values()):
        record = records[index]
        found = select_ids(session, spec, {k: record[k] for k in keys}, access=access)
        if found:
            data = {k: v for k, v in record.items() if k != "id"}
            written.append(entities.update_record(session, spec, found[0], data, actor=actor)[0])
            updated += 1
        else:
            written.append(entities.create(session, spec, record, actor)[0])
            created += 1
    return {"created": created, "updated": updated, "records": written}
