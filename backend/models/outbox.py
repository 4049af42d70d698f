"""The outbox: work a write leaves for after its commit (re-matching, alerts, realtime), durably.

A row is written in the same transaction as the records it is about, so a write and its follow-up work
both land or neither does; a crash after the commit loses nothing, because the row waits for the next
drainer (in the app or `scripts/worker.py`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base, JsonType
from backend.models.base import utcnow


class OutboxEntry(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "run_after", "id"),)

    # BIGINT on PostgreSQL; SQLite gives only an INTEGER PRIMARY KEY its own rowid sequence
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # write | delete | restore | purge
    ids: Mapped[list[str]] = mapped_column(JsonType, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)  # pending | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    run_after: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
