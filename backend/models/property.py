from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import bool_field, int_field, list_field, ref_field, str_field


class Property(BuiltinFields, Base):
    __tablename__ = "properties"

    contact_id: Mapped[str | None] = ref_field("Contact")
    handler: Mapped[str | None] = str_field()
    source: Mapped[str | None] = str_field()
    status: Mapped[str | None] = str_field(index=True)
    category: Mapped[str | None] = str_field()
    property_type: Mapped[str | None] = str_field()
    listing_type: Mapped[str | None] = str_field(index=True)
    price: Mapped[int | None] = int_field(index=True)
    city: Mapped[str | None] = str_field(index=True)
    area: Mapped[str | None] = str_field()
    street: Mapped[str | None] = str_field()
    building_number: Mapped[str | None] = str_field()
    apartment_number: Mapped[str | None] = str_field()
    rooms: Mapped[str | None] = str_field()
    floor: Mapped[str | None] = str_field()
    total_floors: Mapped[str | None] = str_field()
    square_meters: Mapped[int | None] = int_field()
    parking: Mapped[bool | None] = bool_field()
    air_conditioning: Mapped[bool | None] = bool_field()
    storage: Mapped[bool | None] = bool_field()
    balcony: Mapped[bool | None] = bool_field()
    elevator: Mapped[bool | None] = bool_field()
    image_urls: Mapped[list[str] | None] = list_field()
    description: Mapped[str | None] = str_field()
