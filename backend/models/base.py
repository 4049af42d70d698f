"""Built-in record fields shared by every entity, and id/time helpers."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from backend.database import JsonType


def new_id() -> str:
    """24 lowercase hex characters, MongoDB-ObjectId style: 4 bytes of seconds, 8 random bytes."""
    return f"{int(time.time()):08x}{os.urandom(8).hex()}"


def utcnow() -> dt.datetime:
    """Naive UTC with microseconds, as stored and returned (Base44's format has no offset)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BuiltinFields:
    """Columns every entity record has (API.md §1), plus soft delete, a version for ETags and `extra`."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    created_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_date: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_by_id: Mapped[str | None] = mapped_column(String(64))
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    extra: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict, nullable=False)

    # Lists default to `-created_date` with an `id` tie-break: one index serves that order and its cursor.
    @declared_attr.directive
    def __table_args__(cls) -> Any:  # noqa: N805 - SQLAlchemy passes the class
        name = cls.__tablename__  # type: ignore[attr-defined]
        return (Index(f"ix_{name}_created_date_id", "created_date", "id"), *getattr(cls, "extra_table_args", ()))


# Column types for ENTITIES.md field types. Text for str (no length surprises on import); BigInteger
# for int (prices above 2^31 exist in commercial real estate).
STR = Text
INT = BigInteger
