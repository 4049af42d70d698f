from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import bool_field, int_field, ref_field, str_field


class Client(BuiltinFields, Base):
    """A buyer or renter looking for a property."""

    __tablename__ = "clients"

    contact_id: Mapped[str | None] = ref_field("Contact")
    handler: Mapped[str | None] = str_field()
    source: Mapped[str | None] = str_field()
    status: Mapped[str | None] = str_field(index=True)
    request_category: Mapped[str | None] = str_field(index=True)
    property_type: Mapped[str | None] = str_field()
    city: Mapped[str | None] = str_field(index=True)
    area: Mapped[str | None] = str_field()
    budget: Mapped[int | None] = int_field()
    rooms: Mapped[str | None] = str_field()
    parking: Mapped[bool | None] = bool_field()
    air_conditioning: Mapped[bool | None] = bool_field()
    storage: Mapped[bool | None] = bool_field()
    balcony: Mapped[bool | None] = bool_field()
    elevator: Mapped[bool | None] = bool_field()
