"""`POST /api/whatsapp/send-bulk` and batches (API.md §6.3): screen, queue durably, report.

Queueing is one multi-row INSERT of MarketingLog rows (status `queued`) in the request's transaction:
the answer comes only after the messages are safely in the database, and the sender takes it from there.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from backend.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from backend.jsonutil import dumps, format_datetime
from backend.models import MarketingLog
from backend.models.base import new_id, utcnow
from backend.models.whatsapp import WhatsAppBatch, WhatsAppOutbox
from backend.schemas.whatsapp import MAX_RECIPIENTS, AudienceIn, SendBulkIn
from backend.services.auth import AuthUser
from backend.services.entities import Actor, rule
from backend.services.query import select_ids
from backend.services.registry import get_spec
from backend.services.whatsapp.access import check_logs, hidden_records, may_send
from backend.services.whatsapp.compose import (
    Recipient,
    check_placeholders,
    content_for,
    missing_template_params,
    placeholders,
    resolve,
)
from backend.services.whatsapp.queue import queued_message
from backend.services.whatsapp.records import STATUSES
from backend.services.whatsapp.sender import wake_after_commit

M = MarketingLog
Q = WhatsAppOutbox


def _too_many(count: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"At most {MAX_RECIPIENTS} recipients per request (got {count}); split the campaign")


def _audience(session: Session, audience: AudienceIn, actor: Actor) -> list[dict[str, Any]]:
    """The records the query selects among those the sender may read (the one query engine, rule folded in)."""
    spec = get_spec(audience.entity)
    ids = select_ids(session, spec, audience.q, access=rule(spec, "read", actor))
    if len(ids) > MAX_RECIPIENTS:
        raise _too_many(len(ids))
    key = "lead_id" if audience.entity == "MarketingLead" else "contact_id"
    return [{key: record_id} for record_id in ids]


def _screen(targets: list[Recipient]) -> tuple[list[Recipient], list[dict[str, Any]]]:
    """In order: unknown records, invalid phones, repeats of a phone already seen, opted out."""
    keep: list[Recipient] = []
    skipped: list[dict[str, Any]] = []
    seen: set[str] = set()
    for target in targets:
        reason = None
        if not target.found:
            reason = "not_found"
        elif target.phone is None:
            reason = "invalid_phone"
        elif target.phone in seen:
            reason = "duplicate"
        elif target.opted_out:
            reason = "opted_out"
        if target.phone is not None:
            seen.add(target.phone)
        if reason is None:
            keep.append(target)
        else:
            skipped.append({"recipient": target.recipient, "reason": reason})
    return keep, skipped


def send_bulk(session: Session, body: SendBulkIn, user: AuthUser) -> dict[str, Any]:
    actor = may_send(user)
    if body.recipients is not None:
        if len(body.recipients) > MAX_RECIPIENTS:
            raise _too_many(len(body.recipients))
        recipients = [r.model_dump() for r in body.recipients]
    else:
        assert body.audience is not None  # the schema requires one of the two
        recipients = _audience(session, body.audience, actor)
    var_names = {name for r in recipients for name in (r.get("vars") or {})}
    names = placeholders(body.message, body.template)
    check_placeholders(names, var_names)
    keep, skipped = _screen(resolve(session, recipients, names, hidden_records(session, actor, recipients)))
    errors = missing_template_params(keep, body.template)
    if errors:
        raise ValidationFailed(
            f"A template parameter would be empty for {len(errors)} recipient(s)", detail=errors[:50]
        )
    answer: dict[str, Any] = {
        "batch_id": None,
        "queued": len(keep),
        "skipped": skipped,
        "total": len(recipients),
        "dry_run": body.dry_run,
    }
    if body.dry_run:
        return answer

    now = utcnow()
    reasons = Counter(s["reason"] for s in skipped)
    template = body.template.model_dump() if body.template else None
    batch = WhatsAppBatch(
        id=new_id(), status="queued" if keep else "finished", total=len(recipients), queued=len(keep),
        skipped=len(skipped), skipped_reasons=dict(reasons), message=body.message, template=template,
        created_by=user.email, created_by_id=user.id, created_date=now, updated_date=now,
        finished_date=None if keep else now,
    )  # fmt: skip
    session.add(batch)
    session.flush()
    rows = []
    outbox = []
    for position, target in enumerate(keep):
        assert target.phone is not None  # _screen keeps only valid phones
        content = content_for(target, body.message, body.template)
        extra: dict[str, Any] = {}
        if content.template is not None:
            extra = {"template_language": content.template.language, "template_params": list(content.template.params)}
        row, armed = queued_message(
            batch_id=batch.id, phone=target.phone, raw_phone=target.raw_phone, text=content.text,
            template_name=content.template.name if content.template else None, extra=extra, now=now,
            created_by=user.email, created_by_id=user.id, lead_id=target.lead_id, contact_id=target.contact_id,
            position=position,
        )  # fmt: skip
        rows.append(row)
        outbox.append(armed)
    if rows:
        _insert(session, M.__table__, rows)
        _insert(session, Q.__table__, outbox)  # the sender sends only what is here (queue.py)
        check_logs(session, actor, [r["id"] for r in rows])
        wake_after_commit(session)
    answer["batch_id"] = batch.id
    return answer


def _copy_value(value: Any) -> str:
    """One field in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = dumps(value).decode() if isinstance(value, dict | list) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """All rows in the request's transaction: COPY on PostgreSQL (3x faster than a multi-row INSERT for
    10,000 rows, which is what keeps send-bulk under 2 s), executemany elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(cast(Table, table)), rows)
        return
    columns = list(rows[0])
    data = io.StringIO("".join("\t".join(_copy_value(row[c]) for c in columns) + "\n" for row in rows))
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN", data)
    finally:
        cursor.close()


def _get_batch(session: Session, batch_id: str) -> WhatsAppBatch:
    batch = session.get(WhatsAppBatch, batch_id)
    if batch is None:
        raise NotFound(f"No WhatsApp batch with id {batch_id!r}")
    return batch


def batch_view(session: Session, batch_id: str) -> dict[str, Any]:
    """Counts by the messages' current status (a delivered message counts as `delivered`, not `sent`)."""
    batch = _get_batch(session, batch_id)
    # Counted over the server's own messages (the outbox): a row that merely names the batch is not one.
    mine = select(M.status, func.count()).select_from(Q).join(M, M.id == Q.log_id).where(Q.batch_id == batch_id)
    rows = session.execute(mine.group_by(M.status))
    counts = {status: 0 for status in STATUSES}
    for status, count in rows:
        counts[str(status)] = int(count)
    status = batch.status
    if status == "queued":
        active = counts["queued"] + counts["sending"]
        progressed = sum(counts[s] for s in STATUSES if s != "queued")
        status = "finished" if active == 0 else ("sending" if progressed else "queued")
    finished = batch.finished_date
    return {
        "batch_id": batch.id,
        "status": status,
        "total": batch.total,
        **{s: counts[s] for s in STATUSES},
        "skipped": batch.skipped,
        "skipped_reasons": batch.skipped_reasons or {},
        "pause_reason": batch.pause_reason,
        "created_date": format_datetime(batch.created_date),
        "finished_date": format_datetime(finished) if finished else None,
    }


def cancel_batch(session: Session, batch_id: str) -> dict[str, Any]:
    """Stops the rest: every message still queued (including retries waiting) becomes `cancelled`.
    A message already in the provider's hands finishes. Cancelling twice changes nothing."""
    batch = _get_batch(session, batch_id)
    if batch.status in ("queued", "paused"):
        now = utcnow()
        mine = select(Q.log_id).where(Q.batch_id == batch_id)
        session.execute(
            update(M)
            .where(M.id.in_(mine), M.status == "queued")
            .values(status="cancelled", updated_date=now, version=M.version + 1)
        )
        session.execute(update(Q).where(Q.batch_id == batch_id).values(armed=False))
        batch.status, batch.finished_date, batch.updated_date = "cancelled", now, now
        session.flush()
    return batch_view(session, batch_id)


def resume_batch(session: Session, batch_id: str) -> dict[str, Any]:
    """A batch paused by code 190 (token refused) goes on once the token is fixed."""
    batch = _get_batch(session, batch_id)
    if batch.status != "paused":
        raise Conflict(f"Only a paused batch can be resumed (this one is {batch.status})")
    batch.status, batch.pause_reason, batch.updated_date = "queued", None, utcnow()
    session.flush()
    wake_after_commit(session)
    return batch_view(session, batch_id)
