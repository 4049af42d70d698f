"""`POST /api/whatsapp/send`: one message, sent now, with an optional `Idempotency-Key` (API.md §6.2).

Two steps, split by the request's commit. `reserve` writes the message's log row as `sending` (with the
idempotency key) in the request's transaction, and `deliver` — run once that transaction has committed,
before the answer is sent — calls the provider and records the outcome in a unit of work of its own,
through the durable sender's path (`sender.deliver`). So a request that fails sends nothing; a repeat with
the same key — even one arriving while the first is in flight — finds the row and sends nothing; and a
crash between the commit and the outcome leaves a `sending` row the sender's recovery marks `unknown`,
never resent. The row is reserved `sending` rather than `queued`: it belongs to its request from the
start, and the background sender (which takes only armed, batched rows) never touches it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.database import dialect_insert, get_engine, unit_of_work
from backend.errors import Conflict, ValidationFailed, field_error
from backend.models import MarketingLog
from backend.models.base import new_id, utcnow
from backend.models.whatsapp import WhatsAppIdempotencyKey
from backend.schemas.whatsapp import SendIn
from backend.services.auth import AuthUser
from backend.services.entities import Actor
from backend.services.whatsapp import queue, sender
from backend.services.whatsapp.access import check_logs, hidden_records, may_send
from backend.services.whatsapp.compose import (
    Recipient,
    check_placeholders,
    content_for,
    missing_template_params,
    placeholders,
    resolve,
)
from backend.services.whatsapp.pacing import Pacer, Timing
from backend.services.whatsapp.providers import get_provider
from backend.services.whatsapp.records import log_record

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        detail = [
            {
                "type": "value_error",
                "loc": ["header", "Idempotency-Key"],
                "msg": "1 to 255 visible ASCII characters",
                "input": key[:100],
            }
        ]
        raise ValidationFailed("The Idempotency-Key header must be 1 to 255 visible ASCII characters", detail=detail)
    return key


def _fingerprint(body: SendIn) -> str:
    return hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _fetch_log(session: Session, log_id: str) -> MarketingLog | None:
    stmt = select(MarketingLog).where(MarketingLog.id == log_id).execution_options(populate_existing=True)
    return session.scalar(stmt)


def _replay(session: Session, user_id: str, key: str, fingerprint: str) -> str | None:
    """The log id of the first request with this key, or None if the key is new."""
    seen = session.get(WhatsAppIdempotencyKey, (user_id, key))
    if seen is None:
        return None
    if seen.fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different request")
    row = _fetch_log(session, seen.log_id) if seen.log_id else None
    if row is None:
        raise Conflict("The first request with this Idempotency-Key left no message record")
    return str(row.id)


def _recipient(session: Session, body: SendIn, actor: Actor) -> Recipient:
    recipient: dict[str, Any]
    if body.to is not None:
        field, recipient = "to", {"phone": body.to}
    elif body.lead_id is not None:
        field, recipient = "lead_id", {"lead_id": body.lead_id}
    else:
        field, recipient = "contact_id", {"contact_id": body.contact_id}
    names = placeholders(body.message, body.template)
    check_placeholders(names, set(body.vars))
    recipients = [{**recipient, "vars": body.vars}]
    target = resolve(session, recipients, names, hidden_records(session, actor, recipients))[0]
    value = recipient.get("phone") or recipient.get(field)
    if not target.found:
        kind = "marketing lead" if field == "lead_id" else "contact"
        raise ValidationFailed(
            f"No {kind} with id {value!r}", detail=[field_error(field, f"no {kind} with this id", value)]
        )
    if target.phone is None:
        where = "" if field == "to" else f" (the {field.removesuffix('_id')}'s phone)"
        raise ValidationFailed(
            f"Not a valid phone number: {target.raw_phone!r}{where}",
            detail=[field_error(field, "not a valid phone number", target.raw_phone)],
        )
    if target.opted_out:
        raise Conflict(f"{target.phone} opted out of WhatsApp messages")
    errors = missing_template_params([target], body.template)
    if errors:
        raise ValidationFailed("A template parameter would be empty for this recipient", detail=errors)
    return target


@dataclass(frozen=True)
class Reservation:
    """A single send written in the request's transaction: its log row, and the message to deliver once that
    transaction commits — or None for a repeat of an earlier request (its row is the answer; nothing is sent)."""

    log_id: str
    message: queue.Claimed | None


def _claim_key(session: Session, user_id: str, key: str, fingerprint: str, log_id: str) -> bool:
    """Take the idempotency key for this request's message; False when another request holds it. PostgreSQL
    waits for a concurrent holder's transaction to end first, so its message is then there to replay."""
    stmt = dialect_insert(session)(WhatsAppIdempotencyKey).values(
        user_id=user_id, key=key, fingerprint=fingerprint, log_id=log_id, created_date=utcnow()
    )
    result = session.execute(stmt.on_conflict_do_nothing(index_elements=["user_id", "key"]))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def reserve(session: Session, body: SendIn, user: AuthUser, idempotency_key: str | None) -> Reservation:
    """Check the request and write its message as `sending`, in the caller's transaction (the caller commits,
    then calls `deliver`). A refusal raises, and the caller's rollback takes whatever was written with it."""
    actor = may_send(user)
    fingerprint = _fingerprint(body)
    key = _check_key(idempotency_key) if idempotency_key is not None else None
    if key is not None and (first := _replay(session, user.id, key, fingerprint)) is not None:
        return Reservation(first, None)
    target = _recipient(session, body, actor)
    assert target.phone is not None  # _recipient refused the recipient otherwise
    content = content_for(target, body.message, body.template)
    provider = get_provider()
    log_id = new_id()
    if key is not None and not _claim_key(session, user.id, key, fingerprint, log_id):
        # the same key raced us and won: answer with its message (its transaction has ended by now)
        first = _replay(session, user.id, key, fingerprint)
        if first is None:
            raise Conflict("A request with this Idempotency-Key did not complete; try again")
        return Reservation(first, None)
    now = utcnow()
    extra: dict[str, Any] = {}
    if content.template is not None:
        extra = {"template_language": content.template.language, "template_params": list(content.template.params)}
    row = MarketingLog(
        id=log_id, created_date=now, updated_date=now, created_by=user.email, created_by_id=user.id,
        is_sample=False, version=1, extra=extra, lead_id=target.lead_id, contact_id=target.contact_id,
        phone_number=target.raw_phone, phone_e164=target.phone, message_content=content.text, status="sending",
        provider=provider.name, template_name=content.template.name if content.template else None, attempts=1,
    )  # fmt: skip
    session.add(row)
    session.flush()
    check_logs(session, actor, [row.id])
    message = queue.Claimed(row.id, None, target.phone, target.lead_id, content.text, content.template, 1)
    return Reservation(row.id, message)


def deliver(reservation: Reservation) -> dict[str, Any]:
    """After the reservation committed: send it (paced like the sender, never retried — the caller decides)
    and answer its MarketingLog: `sent`, `failed` with the provider's code, or `unknown`. A repeat only reads."""
    if reservation.message is not None:
        settings = get_settings()
        Pacer(get_engine(), settings.whatsapp_phone_number_id, settings.whatsapp_send_rate).wait()
        sender.deliver(get_provider(), reservation.message, Timing(), final=True)
    with unit_of_work() as session:
        row = _fetch_log(session, reservation.log_id)
    if row is None:  # the sender's own recovery never deletes rows; someone purged it meanwhile
        raise Conflict(f"The message record {reservation.log_id} is gone")
    return log_record(row)
