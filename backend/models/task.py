from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import date_field, ref_field, str_field


class Task(BuiltinFields, Base):
    __tablename__ = "tasks"

    title: Mapped[str | None] = str_field(required=True)
    description: Mapped[str | None] = str_field()
    assignee: Mapped[str | None] = str_field()
    due_date: Mapped[str | None] = date_field(index=True)
    priority: Mapped[str | None] = str_field()
    status: Mapped[str | None] = str_field(index=True)
    contact_id: Mapped[str | None] = ref_field("Contact")
    property_id: Mapped[str | None] = ref_field("Property")
    client_id: Mapped[str | None] = ref_field("Client")
