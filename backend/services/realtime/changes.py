"""Record changes, collected with the transaction and published only once it commits.

Every writer — the entity service (both surfaces, bulk paths, upsert, the importer), matching, the WhatsApp
sender and status webhooks — calls `changed()` in its own session. The changes wait in `session.info`
and leave at the commit:
- on PostgreSQL as NOTIFY on the channel `crm_realtime`, issued in the transaction right before it commits
  (`before_commit`). PostgreSQL delivers a notification exactly when its transaction commits, to every
  process listening (each uvicorn worker, whatever process wrote) and never when it rolls back — the
  after-commit guarantee, without the window where a process dies between its commit and a separate
  publish. One statement per commit, whatever the number of changes.
- on SQLite (one process) from `after_commit`, handed to this process's hub.
A rollback drops them (`after_rollback`). A payload is at most 8000 bytes (PostgreSQL's limit): a change
whose records do not fit travels as ids, and the receiver loads the records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Literal

import orjson
from sqlalchemy import bindparam, column, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from backend.jsonutil import dumps

CHANNEL = "crm_realtime"
MAX_PAYLOAD = 7900  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more
EventType = Literal["create", "update", "delete"]
_KEY = "realtime"

# this process's receiver (the hub, when a socket server runs here); SQLite changes are handed to it
_local: list[Callable[[list[dict[str, Any]]], None]] = []


def changed(
    session: Session,
    entity: str,
    ids: Iterable[str],
    type_: EventType,
    records: list[dict[str, Any]] | None = None,
) -> None:
    """Note that records of `entity` were created, updated or deleted in this transaction. `records`, when
    the writer has them (as the API shows them), save the receiver a read."""
    ids = list(ids)
    if not ids:
        return
    session.info.setdefault(_KEY, []).append((entity, type_, ids, records))


def on_local(receiver: Callable[[list[dict[str, Any]]], None]) -> None:
    if receiver not in _local:
        _local.append(receiver)


def off_local(receiver: Callable[[list[dict[str, Any]]], None]) -> None:
    if receiver in _local:
        _local.remove(receiver)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def messages(pending: list[tuple[str, str, list[str], list[dict[str, Any]] | None]]) -> list[bytes]:
    """The collected changes as payloads under MAX_PAYLOAD: `{"e", "t", "ts", "r": [records]}`, or
    `{"e", "t", "ts", "ids": [...]}` for records that do not fit (or that the writer did not have)."""
    stamp = _now()
    out: list[bytes] = []
    for entity, type_, ids, records in pending:
        head = {"e": entity, "t": type_, "ts": stamp}
        loose: list[str] = list(ids) if records is None else []
        if records is not None:
            batch: list[bytes] = []
            size = 0
            for record in records:
                encoded = dumps(record)
                if len(encoded) + 200 > MAX_PAYLOAD:
                    loose.append(str(record.get("id")))
                    continue
                if size + len(encoded) + 200 > MAX_PAYLOAD:
                    out.append(_with_records(head, batch))
                    batch, size = [], 0
                batch.append(encoded)
                size += len(encoded) + 1
            if batch:
                out.append(_with_records(head, batch))
        for start in range(0, len(loose), 200):  # 200 ids of ≤ 26 bytes each stay well under the limit
            out.append(orjson.dumps({**head, "ids": loose[start : start + 200]}))
    return out


def _with_records(head: dict[str, Any], records: list[bytes]) -> bytes:
    return orjson.dumps(head)[:-1] + b',"r":[' + b",".join(records) + b"]}"


_NOTIFY = select(func.pg_notify(CHANNEL, column("p"))).select_from(
    func.unnest(bindparam("payloads", type_=ARRAY(Text))).table_valued("p").render_derived()
)


@sa_event.listens_for(Session, "before_commit")
def _notify_with_commit(session: Session) -> None:
    pending = session.info.get(_KEY)
    if not pending or session.get_bind().dialect.name != "postgresql":
        return
    session.info.pop(_KEY)
    payloads = [p.decode() for p in messages(pending)]
    session.execute(_NOTIFY, {"payloads": payloads})


@sa_event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    decoded = [orjson.loads(p) for p in messages(pending)]
    for receiver in list(_local):
        receiver(decoded)


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
