from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import int_field, list_field, ref_field, str_field


class Match(BuiltinFields, Base):
    """A client/property pair written by generate-matches; agents change `status`."""

    __tablename__ = "matches"
    extra_table_args = (UniqueConstraint("client_id", "property_id"),)

    client_id: Mapped[str | None] = ref_field("Client")
    property_id: Mapped[str | None] = ref_field("Property")
    match_score: Mapped[int | None] = int_field(index=True)
    reasons: Mapped[list[str] | None] = list_field()
    status: Mapped[str | None] = str_field(index=True)
