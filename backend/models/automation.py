"""What the server does on its own and must remember doing: match alerts sent, meeting reminders due.

Both are tables, not in-memory state, so "never twice" holds across runs, restarts and several workers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base
from backend.models.base import utcnow


class MatchAlert(Base):
    """One alert about one match (a seeker/offer pair of a pairing) on one channel.

    `pending` → `sending` (claimed by a drainer) → `sent`, `not_sent` (no valid recipient, phone or e-mail,
    opted out, channel not configured: never retried) or `failed` (the channel kept failing). The unique
    key is the pair, not the match record: a pair removed and found again is not alerted a second time.
    """

    __tablename__ = "match_alerts"
    __table_args__ = (
        UniqueConstraint("pairing", "seek_id", "offer_id", "channel"),
        Index("ix_match_alerts_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    pairing: Mapped[str] = mapped_column(String(64), nullable=False)
    match_id: Mapped[str] = mapped_column(String(64), nullable=False)
    seek_id: Mapped[str] = mapped_column(String(64), nullable=False)
    offer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # email | whatsapp
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    recipient: Mapped[str | None] = mapped_column(String(320))  # the address or phone it went to
    recipient_user_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)  # why not sent, or the last error
    digest_id: Mapped[str | None] = mapped_column(String(64), index=True)  # alerts sent together share it
    marketing_log_id: Mapped[str | None] = mapped_column(String(64))  # the WhatsApp message queued
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    sent_date: Mapped[dt.datetime | None] = mapped_column(DateTime)


class MeetingReminder(Base):
    """The WhatsApp reminder of one meeting: when it is due, and what became of it.

    `scheduled` (due at `remind_at`, UTC) → `sent` (queued for the durable sender; `sent_for` keeps the
    time it was sent for), `not_sent` (no valid phone, opted out, the meeting already started) or
    `cancelled` (the meeting was cancelled or deleted, or lost its dates). A meeting moved later is
    scheduled again, even after a reminder went out for its old time.
    """

    __tablename__ = "meeting_reminders"
    __table_args__ = (Index("ix_meeting_reminders_due", "status", "remind_at"),)

    meeting_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    remind_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_for: Mapped[dt.datetime | None] = mapped_column(DateTime)
    phone: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    marketing_log_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
