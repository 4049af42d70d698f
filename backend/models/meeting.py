from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import datetime_field, ref_field, str_field


class Meeting(BuiltinFields, Base):
    __tablename__ = "meetings"

    contact_id: Mapped[str | None] = ref_field("Contact")
    property_id: Mapped[str | None] = ref_field("Property")
    client_id: Mapped[str | None] = ref_field("Client")
    handler: Mapped[str | None] = str_field()
    start_date: Mapped[str | None] = datetime_field(index=True)
    end_date: Mapped[str | None] = datetime_field()
    reminder_date: Mapped[str | None] = datetime_field()
    location: Mapped[str | None] = str_field()
    meeting_type: Mapped[str | None] = str_field()
    status: Mapped[str | None] = str_field(index=True)
    notes: Mapped[str | None] = str_field()
