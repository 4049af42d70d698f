"""WhatsApp bookkeeping: bulk batches, idempotency keys, opted-out phones and the shared send pacer.

The messages themselves are MarketingLog rows (one per message); these tables only hold what the
sender needs around them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base, JsonType
from backend.models.base import new_id, utcnow
from backend.models.entities import ENTITY_MODELS


class WhatsAppBatch(Base):
    """One `send-bulk` request. `status` is stored only for what cannot be derived from its messages:
    `queued` (active), `paused` (provider token refused, code 190), `cancelled`, `finished`."""

    __tablename__ = "whatsapp_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(16), default="queued", nullable=False, index=True)
    total: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    queued: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    skipped: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    skipped_reasons: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict, nullable=False)
    message: Mapped[str | None] = mapped_column(Text)
    template: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_by_id: Mapped[str | None] = mapped_column(String(64))
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    finished_date: Mapped[dt.datetime | None] = mapped_column(DateTime)


class WhatsAppIdempotencyKey(Base):
    """An `Idempotency-Key` of `POST /api/whatsapp/send`, per user: a repeat returns the first log."""

    __tablename__ = "whatsapp_idempotency_keys"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    log_id: Mapped[str | None] = mapped_column(String(64))
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False, index=True)


class WhatsAppOptOut(Base):
    """A phone (E.164) that asked for no more messages: an inbound keyword, or Meta's code 131050."""

    __tablename__ = "whatsapp_opt_outs"

    phone_e164: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    detail: Mapped[str | None] = mapped_column(Text)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class WhatsAppOutbox(Base):
    """The sender's own record of every message the server queued (send-bulk), kept apart from MarketingLog.

    MarketingLog rows are entity records: whatever a client can write there, the sender only ever sends a
    row that has an armed entry here, to the phone and with the content fingerprinted when it was queued.
    Claiming disarms it; only the server re-arms it (a retry). So a forged row, a row pointed at another
    phone or text, or a sent row put back in the queue is never sent, and batch counts come from here.
    """

    __tablename__ = "whatsapp_outbox"

    log_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    phone_e164: Mapped[str] = mapped_column(String(32), nullable=False)
    # sha256 of what was queued (phone, text, template); NULL for messages queued before this table existed
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    armed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class WhatsAppPacer(Base):
    """The next free send slot (epoch seconds) per sending number, shared by every sender process, so
    WHATSAPP_SEND_RATE holds however many workers run."""

    __tablename__ = "whatsapp_pacer"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float, nullable=False)


# The sender's claim query: due queued messages in order. Declared here (not in the MarketingLog model)
# because only the sender needs it; it attaches to the marketing_logs table all the same.
_log = ENTITY_MODELS["MarketingLog"]
Index("ix_marketing_logs_status_next_attempt", _log.status, _log.next_attempt_at)
