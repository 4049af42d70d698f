from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import int_field, str_field


class Supplier(BuiltinFields, Base):
    __tablename__ = "suppliers"

    name: Mapped[str | None] = str_field(required=True)
    phone: Mapped[str | None] = str_field()
    email: Mapped[str | None] = str_field()
    specialization: Mapped[str | None] = str_field(index=True)
    hourly_rate: Mapped[int | None] = int_field()
    rating: Mapped[int | None] = int_field()
    notes: Mapped[str | None] = str_field()
