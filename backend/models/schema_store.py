"""Entity schemas that came with the data (a Base44 export's `entities/*.json`), kept by the server.

They type the entities nobody declared (the document store) and carry row rules for any entity. Every
change bumps `registry_generation`, which each request reads with its session check, so every process
picks up a new schema or rule on its next request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base, JsonType
from backend.models.base import utcnow


class StoredSchema(Base):
    __tablename__ = "entity_schemas"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    schema: Mapped[dict[str, Any]] = mapped_column(JsonType, nullable=False)
    source: Mapped[str | None] = mapped_column(Text)  # the file (or API call) it came from
    updated_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class RegistryGeneration(Base):
    """One row (id 1): a counter bumped in the same transaction as any change to `entity_schemas`."""

    __tablename__ = "registry_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
