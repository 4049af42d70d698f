"""Provider webhooks (API.md §6.4): the verification handshake, signed status events, inbound opt-outs.

The signature is checked on the exact bytes received (Meta escapes non-ASCII as \\uXXXX, so JSON
re-serialised by us would not match). A status moves a log forward only (sent → delivered → read, or
failed), by a conditional UPDATE, so repeats and out-of-order deliveries act once and never go back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from typing import Any

import orjson
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import BadRequest, Forbidden, NotConfigured, Unauthorized
from backend.models import MarketingLog
from backend.models.base import utcnow
from backend.services.realtime.changes import changed as realtime_changed
from backend.services.whatsapp.phones import from_wa_id, strip_bidi
from backend.services.whatsapp.records import add_opt_out, now_text, touch_lead

log = logging.getLogger(__name__)
M = MarketingLog

# Whole-message keywords (after trimming, case folding and dropping trailing punctuation).
OPT_OUT_KEYWORDS = {
    "stop", "stopall", "unsubscribe", "opt out", "optout", "opt-out",
    "הסר", "הסרה", "להסרה", "הסירו", "הסירו אותי", "הסר אותי", "תסירו", "תסירו אותי", "הפסק",
}  # fmt: skip
# Which statuses each event may move a log from: never backward, never out of `failed`.
ALLOWED_FROM = {
    "sent": ("queued", "sending", "unknown"),
    "delivered": ("queued", "sending", "unknown", "sent"),
    "read": ("queued", "sending", "unknown", "sent", "delivered"),
    "failed": ("queued", "sending", "unknown", "sent"),
}
NOT_YET_SENT = ("queued", "sending", "unknown")
_TRAILING = re.compile(r"[\s.!?,;:\"'()\-]+$")


def verify_handshake(mode: str | None, token: str | None, challenge: str | None) -> str:
    expected = get_settings().whatsapp_verify_token
    ready = mode == "subscribe" and expected and challenge is not None and token is not None
    if ready and hmac.compare_digest((token or "").encode(), expected.encode()):
        return challenge or ""
    raise Forbidden("Webhook verification failed: wrong hub.mode or hub.verify_token")


def check_signature(raw: bytes, header: str | None) -> None:
    if not header:
        raise Unauthorized("Missing X-Hub-Signature-256 header", headers={})
    secret = get_settings().whatsapp_app_secret
    if not secret:
        raise NotConfigured("WHATSAPP_APP_SECRET is not set, so webhook events cannot be verified")
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header.strip().lower().encode("utf-8", "replace")):
        raise Forbidden("Invalid X-Hub-Signature-256 signature")


def _list(value: Any, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BadRequest(f"Malformed webhook event: `{what}` must be a list of objects")
    return value


def parse(raw: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(statuses, inbound messages) of a webhook body; 400 for anything that is not one."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The webhook body is not valid JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise BadRequest("Not a WhatsApp webhook event (expected an object with an `entry` list)")
    statuses: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for entry in _list(payload["entry"], "entry"):
        for change in _list(entry.get("changes"), "changes"):
            value = change.get("value")
            if value is None:
                continue
            if not isinstance(value, dict):
                raise BadRequest("Malformed webhook event: `value` must be an object")
            statuses.extend(_list(value.get("statuses"), "statuses"))
            messages.extend(_list(value.get("messages"), "messages"))
    return statuses, messages


def _stamp(timestamp: Any) -> str:
    try:
        return now_text(dt.datetime.fromtimestamp(int(timestamp), dt.UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return now_text()


def _token(value: Any) -> str | None:
    """An id as the provider sent it: text of a sane length without NUL (which PostgreSQL refuses), or None."""
    return value if isinstance(value, str) and 0 < len(value) <= 512 and "\x00" not in value else None


def apply_status(session: Session, event: dict[str, Any]) -> int:
    """Move the matching log forward; the number of logs changed (0 for a repeat, a stale or a malformed
    event — answering an error would only make the provider send it again)."""
    new, wamid, ref = event.get("status"), _token(event.get("id")), _token(event.get("biz_opaque_callback_data"))
    if not isinstance(new, str) or new not in ALLOWED_FROM or wamid is None:
        return 0
    match = M.provider_message_id == wamid
    if ref is not None:  # our log id: ties the event to its row even if the send answer was lost
        match = or_(match, and_(M.id == ref, or_(M.provider_message_id.is_(None), M.provider_message_id == wamid)))
    rows = session.execute(select(M.id, M.status, M.lead_id, M.phone_e164).where(match)).all()
    stamp = _stamp(event.get("timestamp"))
    values: dict[str, Any] = {
        "status": new,
        "provider_message_id": wamid,
        "updated_date": utcnow(),
        "version": M.version + 1,
    }
    if new == "failed":
        errors = event.get("errors") if isinstance(event.get("errors"), list) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        values.update(failed_date=stamp, error_code=str(first.get("code", "")).replace("\x00", "")[:64] or None)
        message = str(first.get("message") or first.get("title") or "").replace("\x00", "")
        values["error_message"] = message[:1000] or None
        if str(first.get("code")) == "131050":
            phone = from_wa_id(event.get("recipient_id")) or next((r.phone_e164 for r in rows if r.phone_e164), None)
            if phone:
                add_opt_out(session, phone, "code_131050", values["error_message"])
    changed = 0
    for row in rows:
        row_values = dict(values)
        if new in ("sent", "delivered", "read"):
            row_values["sent_date"] = func.coalesce(M.sent_date, stamp)
        if new == "delivered":
            row_values["delivered_date"] = stamp
        if new == "read":
            row_values.update(read_date=stamp, delivered_date=func.coalesce(M.delivered_date, stamp))
        result = session.execute(update(M).where(M.id == row.id, M.status.in_(ALLOWED_FROM[new])).values(**row_values))
        if result.rowcount:  # type: ignore[attr-defined]
            changed += 1
            realtime_changed(session, "MarketingLog", [row.id], "update")
            if new != "failed" and row.status in NOT_YET_SENT:  # we learn only now that it went out
                touch_lead(session, row.lead_id)
    return changed


def is_opt_out(text: Any) -> bool:
    if not isinstance(text, str) or len(text) > 100:
        return False
    cleaned = _TRAILING.sub("", strip_bidi(text).strip()).casefold()
    return " ".join(cleaned.split()) in OPT_OUT_KEYWORDS


def _inbound_text(message: dict[str, Any]) -> Any:
    for key, field in (("text", "body"), ("button", "text")):
        part = message.get(key)
        if isinstance(part, dict) and isinstance(part.get(field), str):
            return part[field]
    return None


def apply_inbound(session: Session, message: dict[str, Any]) -> int:
    text = _inbound_text(message)
    if not is_opt_out(text):
        return 0
    phone = from_wa_id(message.get("from"))
    if phone is None:
        return 0
    add_opt_out(session, phone, "keyword", str(text)[:100])
    log.info("whatsapp: %s opted out by keyword", phone)
    return 1


def handle_event(session: Session, raw: bytes, signature: str | None) -> dict[str, Any]:
    """Verify, parse, apply — all or nothing, in the caller's transaction (the webhook request's)."""
    check_signature(raw, signature)
    statuses, messages = parse(raw)
    changed = sum(apply_status(session, event) for event in statuses)
    opted_out = sum(apply_inbound(session, message) for message in messages)
    return {"received": True, "statuses": len(statuses), "changed": changed, "opt_outs": opted_out}
