"""`POST /api/whatsapp/send`: one message, sent now, with an optional `Idempotency-Key` (API.md §6.2).

The log row is committed as `sending` (with the idempotency key, in the same transaction) before the
request goes out, so a repeat with the same key — even one arriving while the first is in flight —
finds it and sends nothing, and a crash mid-call leaves a row the sender's recovery marks `unknown`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.database import get_engine
from backend.errors import Conflict, ValidationFailed, field_error
from backend.models import MarketingLog
from backend.models.base import new_id, utcnow
from backend.models.whatsapp import WhatsAppIdempotencyKey
from backend.schemas.whatsapp import SendIn
from backend.services.auth import AuthUser
from backend.services.entities import Actor
from backend.services.whatsapp import queue
from backend.services.whatsapp.access import check_logs, hidden_records, may_send
from backend.services.whatsapp.compose import (
    Target,
    check_placeholders,
    content_for,
    missing_template_params,
    placeholders,
    resolve,
)
from backend.services.whatsapp.pacing import Pacer, Timing
from backend.services.whatsapp.providers import SendResult, get_provider
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


def _replay(session: Session, user_id: str, key: str, fingerprint: str) -> dict[str, Any] | None:
    """The first result for this key, or None if the key is new."""
    seen = session.get(WhatsAppIdempotencyKey, (user_id, key))
    if seen is None:
        return None
    if seen.fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different request")
    row = _fetch_log(session, seen.log_id) if seen.log_id else None
    if row is None:
        raise Conflict("The first request with this Idempotency-Key left no message record")
    return log_record(row)


def _target(session: Session, body: SendIn, actor: Actor) -> Target:
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


def send_one(session: Session, body: SendIn, user: AuthUser, idempotency_key: str | None) -> dict[str, Any]:
    """Send now; the MarketingLog of the attempt (`sent`, `failed` with the provider's code, or `unknown`)."""
    actor = may_send(user)
    fingerprint = _fingerprint(body)
    key = _check_key(idempotency_key) if idempotency_key is not None else None
    if key is not None:
        replay = _replay(session, user.id, key, fingerprint)
        if replay is not None:
            return replay
    target = _target(session, body, actor)
    assert target.phone is not None  # _target refused the recipient otherwise
    content = content_for(target, body.message, body.template)
    provider = get_provider()
    now = utcnow()
    extra: dict[str, Any] = {}
    if content.template is not None:
        extra = {"template_language": content.template.language, "template_params": list(content.template.params)}
    row = MarketingLog(
        id=new_id(), created_date=now, updated_date=now, created_by=user.email, created_by_id=user.id,
        is_sample=False, version=1, extra=extra, lead_id=target.lead_id, contact_id=target.contact_id,
        phone_number=target.raw_phone, phone_e164=target.phone, message_content=content.text, status="sending",
        provider=provider.name, template_name=content.template.name if content.template else None, attempts=1,
    )  # fmt: skip
    session.add(row)
    session.flush()
    check_logs(session, actor, [row.id])
    if key is not None:
        session.add(
            WhatsAppIdempotencyKey(user_id=user.id, key=key, fingerprint=fingerprint, log_id=row.id, created_date=now)
        )
    try:
        session.commit()
    except IntegrityError:  # the same key raced us and won: answer with its result
        session.rollback()
        replay = _replay(session, user.id, key, fingerprint) if key else None
        if replay is None:
            raise
        return replay

    settings = get_settings()
    Pacer(get_engine(), settings.whatsapp_phone_number_id, settings.whatsapp_send_rate).wait()
    claimed = queue.Claimed(row.id, None, target.phone, target.lead_id, content.text, content.template, 1)
    try:
        result = provider.send(claimed.outgoing())
    except Exception as exc:  # a provider bug: the request may have gone out
        result = SendResult("unknown", code="provider_error", error=f"{type(exc).__name__}: {exc}"[:500])
    queue.record(session, claimed, result, Timing(), final=True)
    session.flush()
    fresh = _fetch_log(session, row.id)
    assert fresh is not None
    return log_record(fresh)
