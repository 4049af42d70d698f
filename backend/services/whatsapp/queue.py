"""The durable queue: MarketingLog rows move queued → sending → sent/failed/unknown through these steps.

Every step is one short transaction and every write is conditional on the status it expects, so a
status webhook racing the sender, a cancel racing a retry, or a second worker can never move a
message backward or send it twice. No transaction is open while a provider call is in flight.

MarketingLog rows are entity records, so the queue never trusts them alone: a row is sent only while
the server's own outbox (`WhatsAppOutbox`, written by send-bulk, never by entity routes) holds an armed
entry for it, with the batch, phone and content fingerprint it was queued with. At send time the phone
is normalised again and the opt-outs are checked again; a row that has a provider message id or a sent
date is never sent. Claiming disarms the entry and only the server re-arms it (a retry).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from backend.config import get_settings
from backend.jsonutil import dumps
from backend.models import MarketingLog
from backend.models.base import new_id, utcnow
from backend.models.whatsapp import WhatsAppBatch, WhatsAppIdempotencyKey, WhatsAppOutbox
from backend.services.realtime.changes import changed as realtime_changed
from backend.services.whatsapp.pacing import Timing, retry_delay
from backend.services.whatsapp.phones import normalize
from backend.services.whatsapp.providers import Outgoing, SendResult, Template
from backend.services.whatsapp.records import add_opt_out, is_opted_out, now_text, touch_lead

log = logging.getLogger(__name__)
M = MarketingLog
Q = WhatsAppOutbox
REFUSALS_PER_CLAIM = 100  # rows refused at send time in one claim before it gives the pacer a turn


def fingerprint(phone: str, text: str | None, template_name: str | None, extra: Any) -> str:
    """What was queued — the phone, the text or the template with its language and parameters — hashed."""
    template = None
    if template_name:
        params = extra.get("template_params") if isinstance(extra, dict) else None
        language = extra.get("template_language") if isinstance(extra, dict) else None
        template = [template_name, language, params]
    try:
        data = orjson.dumps([phone, text, template])
    except TypeError:  # a value nobody queued (the row was written outside send-bulk)
        data = repr([phone, text, template]).encode("utf-8", "replace")
    return hashlib.sha256(data).hexdigest()


_EMPTY_ROW: dict[str, Any] = {c.key: None for c in M.__table__.columns}


def queued_message(
    *,
    batch_id: str,
    phone: str,
    text: str | None,
    template_name: str | None,
    extra: dict[str, Any],
    now: dt.datetime,
    created_by: str | None,
    created_by_id: str | None = None,
    raw_phone: str | None = None,
    lead_id: str | None = None,
    contact_id: str | None = None,
    position: int = 0,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One message as the server queues it: its MarketingLog row (`queued`) and its armed entry in the
    sender's outbox, fingerprinted — the only way a row becomes sendable (send-bulk, alerts, reminders)."""
    log_id = new_id()
    row: dict[str, Any] = dict(_EMPTY_ROW)
    row.update(
        id=log_id, created_date=now, updated_date=now, created_by=created_by, created_by_id=created_by_id,
        is_sample=False, version=1, extra=extra, lead_id=lead_id, contact_id=contact_id,
        phone_number=raw_phone or phone, phone_e164=phone, message_content=text, status="queued",
        batch_id=batch_id, provider=get_settings().whatsapp_provider, template_name=template_name, attempts=0,
        # Microsecond steps keep the sender's order (by next_attempt_at) the order of the recipients.
        next_attempt_at=now_text(now + dt.timedelta(microseconds=position)),
    )  # fmt: skip
    armed = {
        "log_id": log_id, "batch_id": batch_id, "phone_e164": phone, "armed": True,
        "fingerprint": fingerprint(phone, text, template_name, extra), "created_date": now,
    }  # fmt: skip
    return row, armed


@dataclass(frozen=True)
class Claimed:
    """A message this worker now owns (committed as `sending`)."""

    id: str
    batch_id: str | None
    phone: str
    lead_id: str | None
    text: str | None
    template: Template | None
    attempts: int

    def outgoing(self) -> Outgoing:
        return Outgoing(to=self.phone, text=None if self.template else self.text, template=self.template, ref=self.id)


def _active_batch() -> Any:
    # Only rows queued by send-bulk into a batch that is neither paused nor cancelled are ever sent.
    return exists().where(WhatsAppBatch.id == M.batch_id, WhatsAppBatch.status == "queued")


def _due(now: dt.datetime) -> Any:
    return (
        M.status == "queued",
        M.next_attempt_at <= now_text(now),
        M.phone_e164.isnot(None),
        M.provider_message_id.is_(None),  # the provider took it already: never again
        M.sent_date.is_(None),
        _active_batch(),
    )


def _armed() -> Any:
    """The server queued this row (send-bulk) into this batch, and nobody has taken it since."""
    return and_(Q.log_id == M.id, Q.batch_id == M.batch_id, Q.armed.is_(True))


def due_exists(session: Session) -> bool:
    stmt = select(M.id).where(*_due(utcnow()), exists().where(_armed())).limit(1)
    return session.execute(stmt).first() is not None


def _refusal(session: Session, row: Any) -> tuple[str, str] | None:
    """Why this armed row must not be sent after all: (error code, message), or None to send it."""
    phone = row.queued_phone
    if row.phone_e164 != phone:
        return "changed", "the phone was changed after the message was queued; not sent"
    if normalize(phone) != phone:
        return "invalid_phone", "not a valid phone number; not sent"
    if row.fingerprint is not None and row.fingerprint != fingerprint(
        phone, row.message_content, row.template_name, row.extra
    ):
        return "changed", "the message was changed after it was queued; not sent"
    if is_opted_out(session, phone):
        return "opted_out", "the recipient opted out of WhatsApp messages after this was queued; not sent"
    return None


def _refuse(session: Session, log_id: str, code: str, message: str, now: dt.datetime) -> None:
    session.execute(update(Q).where(Q.log_id == log_id).values(armed=False))
    session.execute(
        update(M)
        .where(M.id == log_id, M.status == "queued")
        .values(
            status="failed", failed_date=now_text(now), error_code=code, error_message=message,
            updated_date=now, version=M.version + 1,
        )
    )  # fmt: skip
    log.warning("whatsapp message %s refused at send time: %s", log_id, message)


def rearm(session: Session, log_id: str) -> None:
    """The server itself put the message back in the queue (a retry, a pause): it may be claimed again."""
    session.execute(update(Q).where(Q.log_id == log_id).values(armed=True))


def _recently_messaged(now: dt.datetime, gap: float) -> Any:
    """Another message to the same phone went out (or is going out) within the gap."""
    other = aliased(M)
    cutoff = now - dt.timedelta(seconds=gap)
    recent = or_(
        other.sent_date >= now_text(cutoff),
        and_(other.status.in_(("sending", "unknown")), other.updated_date >= cutoff),
    )
    return exists().where(other.phone_e164 == M.phone_e164, other.id != M.id, recent)


def claim(session: Session, timing: Timing, provider: str) -> Claimed | None:
    """Take the next due message (caller commits): one SELECT and one UPDATE.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take different rows without waiting for
    each other. Every database: the UPDATE is conditional on `queued`, so a row is owned by exactly one
    worker even where SKIP LOCKED does not exist. A recipient messaged within the last `recipient_gap`
    seconds is passed over (not rescheduled): the next claim after the gap finds the message again."""
    now = utcnow()
    stmt = (
        select(
            M.id,
            M.batch_id,
            M.phone_e164,
            M.lead_id,
            M.message_content,
            M.template_name,
            M.extra,
            M.attempts,
            Q.phone_e164.label("queued_phone"),
            Q.fingerprint,
        )
        .join(Q, _armed())
        .where(*_due(now))
        .order_by(M.next_attempt_at, M.id)
        .limit(1)
    )
    if timing.recipient_gap > 0:
        stmt = stmt.where(~_recently_messaged(now, timing.recipient_gap))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=M)
    for _ in range(REFUSALS_PER_CLAIM):
        c = session.execute(stmt).first()
        if c is None:
            return None
        problem = _refusal(session, c)
        if problem is None:
            return _take(session, c, provider, now)
        _refuse(session, c.id, *problem, now)
    return None


def _take(session: Session, c: Any, provider: str, now: dt.datetime) -> Claimed | None:
    disarmed = session.execute(update(Q).where(Q.log_id == c.id, Q.armed.is_(True)).values(armed=False))
    if disarmed.rowcount != 1:  # type: ignore[attr-defined]  # another worker took it first (SQLite)
        return None
    taken = session.execute(
        update(M)
        .where(M.id == c.id, M.status == "queued")
        .values(
            status="sending",
            attempts=func.coalesce(M.attempts, 0) + 1,
            provider=provider,
            updated_date=now,
            version=M.version + 1,
        )
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]  # another worker took it first (SQLite)
        return None
    extra = c.extra or {}
    template = None
    if c.template_name:
        params = tuple(str(p) for p in extra.get("template_params") or ())
        template = Template(c.template_name, str(extra.get("template_language") or "he"), params)
    return Claimed(c.id, c.batch_id, c.phone_e164, c.lead_id, c.message_content, template, (c.attempts or 0) + 1)


def _response_text(result: SendResult) -> str | None:
    return None if result.response is None else dumps(result.response).decode()


def record(session: Session, claimed: Claimed, result: SendResult, timing: Timing, *, final: bool = False) -> str:
    """Write the outcome of one provider call (caller commits). `final`: no retry or pause (single sends).
    Returns the status the row ended in."""
    realtime_changed(session, "MarketingLog", [claimed.id], "update")  # every outcome below writes the row
    now = utcnow()
    stamp = now_text(now)
    common: dict[str, Any] = {"updated_date": now, "version": M.version + 1, "response_data": _response_text(result)}
    mine = (M.id == claimed.id, M.status == "sending")
    outcome = result.outcome
    if outcome == "retry" and (final or claimed.attempts >= timing.max_attempts):
        outcome = "failed"
    if outcome == "pause" and (final or not claimed.batch_id):
        outcome = "failed"

    if outcome == "sent":
        done = session.execute(
            update(M)
            .where(M.id == claimed.id, M.status.in_(("sending", "unknown")))
            .values(
                status="sent",
                provider_message_id=result.message_id,
                sent_date=stamp,
                error_code=None,
                error_message=None,
                **common,
            )
        )
        if done.rowcount == 0:  # type: ignore[attr-defined]  # a status webhook got there first: keep its status
            session.execute(
                update(M)
                .where(M.id == claimed.id)
                .values(
                    provider_message_id=func.coalesce(M.provider_message_id, result.message_id),
                    sent_date=func.coalesce(M.sent_date, stamp),
                    response_data=func.coalesce(M.response_data, common["response_data"]),
                )
            )
        touch_lead(session, claimed.lead_id)
        return "sent"
    if outcome == "retry":
        later = now + dt.timedelta(seconds=retry_delay(result.retry_kind, claimed.attempts, timing))
        status = "cancelled" if _batch_status(session, claimed.batch_id) == "cancelled" else "queued"
        values = {
            "status": status,
            "next_attempt_at": now_text(later),
            "error_code": result.code,
            "error_message": result.error,
        }
        session.execute(update(M).where(*mine).values(**values, **common))
        if status == "queued":
            rearm(session, claimed.id)
        return status
    if outcome == "pause":
        session.execute(
            update(M)
            .where(*mine)
            .values(
                status="queued", next_attempt_at=stamp, error_code=result.code, error_message=result.error, **common
            )
        )
        rearm(session, claimed.id)
        reason = f"provider refused the access token (code {result.code}): {result.error or ''}".strip()
        session.execute(
            update(WhatsAppBatch)
            .where(WhatsAppBatch.id == claimed.batch_id, WhatsAppBatch.status == "queued")
            .values(status="paused", pause_reason=reason[:1000], updated_date=now)
        )
        log.error("whatsapp batch %s paused: %s", claimed.batch_id, reason)
        return "queued"
    if outcome == "unknown":
        session.execute(
            update(M)
            .where(*mine)
            .values(status="unknown", error_code=result.code, error_message=result.error, **common)
        )
        log.warning("whatsapp message %s: outcome unknown (%s); it will not be resent", claimed.id, result.error)
        return "unknown"
    message = result.error
    if result.outcome == "retry":
        message = f"gave up after {claimed.attempts} attempts: {result.error or result.code}"
    session.execute(
        update(M)
        .where(*mine)
        .values(status="failed", failed_date=stamp, error_code=result.code, error_message=message, **common)
    )
    if result.outcome == "opted_out":
        add_opt_out(session, claimed.phone, "code_131050", result.error)
    return "failed"


def _batch_status(session: Session, batch_id: str | None) -> str | None:
    return (
        None if batch_id is None else session.scalar(select(WhatsAppBatch.status).where(WhatsAppBatch.id == batch_id))
    )


def recover_stale(session: Session, stale_after: float) -> int:
    """Messages left `sending` by a worker that died: the request may have gone out, so they become
    `unknown` (a later status webhook, matched by our id, can still move them on) — never resent."""
    cutoff = utcnow() - dt.timedelta(seconds=stale_after)
    result = session.execute(
        update(M)
        .where(M.status == "sending", M.updated_date <= cutoff)
        .values(
            status="unknown",
            error_code="interrupted",
            error_message="the sender stopped while sending this message; it may have gone out, so it is not resent",
            updated_date=utcnow(),
            version=M.version + 1,
        )
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.warning("whatsapp sender: %d message(s) left in `sending` by a stopped worker marked `unknown`", count)
    return count


def finalize_batches(session: Session) -> int:
    """Active batches with nothing left to send become `finished`. Only the server's own messages count: a
    forged row that names the batch can neither be sent nor keep it open."""
    waiting = or_(and_(Q.armed.is_(True), M.status == "queued", M.batch_id == Q.batch_id), M.status == "sending")
    busy = exists(select(Q.log_id).join(M, M.id == Q.log_id).where(Q.batch_id == WhatsAppBatch.id, waiting))
    result = session.execute(
        update(WhatsAppBatch)
        .where(WhatsAppBatch.status == "queued", ~busy)
        .values(status="finished", finished_date=utcnow(), updated_date=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_idempotency_keys(session: Session, older_than: dt.timedelta = dt.timedelta(hours=24)) -> None:
    session.execute(delete(WhatsAppIdempotencyKey).where(WhatsAppIdempotencyKey.created_date < utcnow() - older_than))
