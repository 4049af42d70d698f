from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import str_field


class Contact(BuiltinFields, Base):
    __tablename__ = "contacts"

    full_name: Mapped[str | None] = str_field(required=True)
    phone: Mapped[str | None] = str_field(index=True)
    email: Mapped[str | None] = str_field()
    whatsapp_id: Mapped[str | None] = str_field()
    whatsapp_link: Mapped[str | None] = str_field()
    address: Mapped[str | None] = str_field()
    city: Mapped[str | None] = str_field(index=True)
    notes: Mapped[str | None] = str_field()
