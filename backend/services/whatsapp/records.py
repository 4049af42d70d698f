"""What every WhatsApp module shares: statuses, the MarketingLog serializer, opt-outs, lead touches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.database import dialect_insert
from backend.jsonutil import format_datetime
from backend.models import MarketingLead, MarketingLog
from backend.models.base import utcnow
from backend.models.whatsapp import WhatsAppOptOut
from backend.services.whatsapp.phones import normalize

STATUSES = ("queued", "sending", "sent", "delivered", "read", "failed", "unknown", "cancelled")
# `opt_out_whatsapp` values meaning "opted out" (the exported app stores `כן`).
OPT_OUT_VALUES = {"כן", "yes", "true", "1"}
CHUNK = 900  # stays under SQLite's bound-parameter limit on old builds
BUILTINS = ("id", "created_date", "updated_date", "created_by", "created_by_id", "is_sample")
LOG_FIELDS = tuple(c.key for c in MarketingLog.__table__.columns if "kind" in c.info)


def now_text(moment: dt.datetime | None = None) -> str:
    """MarketingLog's datetime fields are text in Base44's format."""
    return format_datetime(moment or utcnow())


def today_text() -> str:
    return utcnow().date().isoformat()


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def log_record(row: MarketingLog) -> dict[str, Any]:
    """The MarketingLog record as the API shows it (built-ins, declared fields, extra flattened in).

    Kept in one function so the entity service's shared serializer can replace it."""
    record: dict[str, Any] = {k: v for k, v in (row.extra or {}).items() if k not in BUILTINS}
    for name in (*BUILTINS, *LOG_FIELDS):
        value = getattr(row, name)
        record[name] = format_datetime(value) if isinstance(value, dt.datetime) else value
    return record


def lead_opted_out(value: object) -> bool:
    return isinstance(value, str) and value.strip().casefold() in OPT_OUT_VALUES


def opted_out_phones(session: Session, phones: Iterable[str]) -> set[str]:
    """Which of `phones` (E.164) are in the opt-out table."""
    wanted = sorted(set(phones))
    found: set[str] = set()
    for part in chunks(wanted):
        found.update(session.scalars(select(WhatsAppOptOut.phone_e164).where(WhatsAppOptOut.phone_e164.in_(part))))
    return found


def opted_out_lead_phones(session: Session) -> set[str]:
    """Phones of leads marked `opt_out_whatsapp`, so a number typed in by hand is skipped too."""
    rows = session.execute(
        select(MarketingLead.phone_number, MarketingLead.opt_out_whatsapp).where(
            MarketingLead.deleted_at.is_(None), MarketingLead.opt_out_whatsapp.isnot(None)
        )
    )
    phones = {normalize(phone) for phone, flag in rows if lead_opted_out(flag)}
    phones.discard(None)
    return phones  # type: ignore[return-value]


def is_opted_out(session: Session, phone: str) -> bool:
    return bool(opted_out_phones(session, [phone])) or phone in opted_out_lead_phones(session)


def add_opt_out(session: Session, phone: str, reason: str, detail: str | None = None) -> None:
    """Record an opt-out once; a repeat (a webhook delivered twice) changes nothing."""
    stmt = dialect_insert(session)(WhatsAppOptOut).values(
        phone_e164=phone, reason=reason, detail=detail, created_date=utcnow()
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["phone_e164"]))


def touch_lead(session: Session, lead_id: str | None) -> None:
    """A message went out: the lead's `last_contacted` becomes today."""
    if not lead_id:
        return
    session.execute(
        update(MarketingLead)
        .where(MarketingLead.id == lead_id, MarketingLead.deleted_at.is_(None))
        .values(last_contacted=today_text(), updated_date=utcnow(), version=MarketingLead.version + 1)
    )
