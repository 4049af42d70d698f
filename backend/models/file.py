"""One row per stored file: the bytes live in the storage backend under `key`, everything else is here."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base
from backend.models.base import utcnow


class StoredFile(Base):
    """Metadata of an uploaded file. `name` is the client's file name, sanitised; it never becomes a path."""

    __tablename__ = "files"

    # The server's random key (`<32 hex>.<ext>`), also the object name in storage and the URL segment.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    content_type: Mapped[str] = mapped_column(String(128), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    private: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_by_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
