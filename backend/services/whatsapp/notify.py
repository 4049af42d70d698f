"""One message from the server itself (a match alert, a meeting reminder) through the durable sender.

The message is queued exactly as send-bulk queues (queue.queued_message): a batch (of one), a MarketingLog
row `queued` and its armed entry in the sender's outbox, in
the caller's transaction, so the caller's own record of "sent" and the queued message commit together
— a message is never queued twice and never lost. The sender takes it from there (pace, retries,
`unknown` instead of a resend). Opt-outs are checked here, when the message is queued.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backend.models import ENTITY_MODELS, MarketingLog
from backend.models.base import new_id, utcnow
from backend.models.whatsapp import WhatsAppBatch, WhatsAppOutbox
from backend.services.whatsapp.phones import normalize
from backend.services.whatsapp.providers import Template
from backend.services.whatsapp.queue import queued_message
from backend.services.whatsapp.records import is_opted_out
from backend.services.whatsapp.sender import wake_after_commit

MAX_TEXT = 4096  # WhatsApp's limit for a text body


def opt_out_reason(session: Session, phone: str) -> str | None:
    """Why `phone` (E.164) must not get a message: the opt-out table, a lead's flag, the DoNotCallList."""
    if is_opted_out(session, phone):
        return "opted out of WhatsApp messages"
    blocked = ENTITY_MODELS["DoNotCallList"]
    numbers = session.scalars(select(blocked.phone_number).where(blocked.deleted_at.is_(None)))
    if any(normalize(number) == phone for number in numbers if number):
        return "on the do-not-call list"
    return None


def queue_message(
    session: Session,
    phone: str,
    *,
    text: str | None = None,
    template: Template | None = None,
    contact_id: str | None = None,
    created_by: str = "system",
) -> str:
    """Queue one message to `phone` (E.164, already checked) in the caller's transaction; answers its log id.

    The in-app sender is woken once the caller's transaction commits. Exactly one of `text` and `template`."""
    if (text is None) == (template is None):
        raise ValueError("queue_message needs either a text or a template")
    now = utcnow()
    batch_id = new_id()
    session.add(
        WhatsAppBatch(
            id=batch_id, status="queued", total=1, queued=1, skipped=0, skipped_reasons={},
            message=text, template=None if template is None else {
                "name": template.name, "language": template.language, "params": list(template.params)},
            created_by=created_by, created_date=now, updated_date=now,
        )
    )  # fmt: skip
    session.flush()
    extra: dict[str, Any] = {}
    shown = (text or "")[:MAX_TEXT]
    if template is not None:
        extra = {"template_language": template.language, "template_params": list(template.params)}
        shown = f"[template {template.name}/{template.language}] " + " | ".join(template.params)
    row, armed = queued_message(
        batch_id=batch_id, phone=phone, text=shown, template_name=template.name if template else None,
        extra=extra, now=now, created_by=created_by, contact_id=contact_id,
    )  # fmt: skip
    session.execute(insert(MarketingLog.__table__), [row])
    session.execute(insert(WhatsAppOutbox), [armed])  # armed: the sender takes only these
    wake_after_commit(session)
    log_id: str = row["id"]
    return log_id
