"""Files re-hosted by the Base44 import: where a record's file URL pointed, and the stored file it now is."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base
from backend.models.base import utcnow


class RehostedFile(Base):
    """One downloaded URL. Keyed by the URL's SHA-256 (URLs can outgrow an index entry); re-runs skip these."""

    __tablename__ = "rehosted_files"

    url_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    file_key: Mapped[str] = mapped_column(String(64), nullable=False)  # files.key
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
