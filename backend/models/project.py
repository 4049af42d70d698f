from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import str_field


class Project(BuiltinFields, Base):
    """A new-build project."""

    __tablename__ = "projects"

    name: Mapped[str | None] = str_field(required=True)
    handler: Mapped[str | None] = str_field()
    contact_name: Mapped[str | None] = str_field()
    contact_phone: Mapped[str | None] = str_field()
    contact_email: Mapped[str | None] = str_field()
    status: Mapped[str | None] = str_field(index=True)
    city: Mapped[str | None] = str_field()
    area: Mapped[str | None] = str_field()
    apartment_type_1: Mapped[str | None] = str_field()
    apartment_type_2: Mapped[str | None] = str_field()
    apartment_type_3: Mapped[str | None] = str_field()
    description: Mapped[str | None] = str_field()
