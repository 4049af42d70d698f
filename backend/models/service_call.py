from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import date_field, float_field, ref_field, str_field


class ServiceCall(BuiltinFields, Base):
    __tablename__ = "service_calls"

    call_number: Mapped[str | None] = str_field()
    contact_id: Mapped[str | None] = ref_field("Contact")
    property_id: Mapped[str | None] = ref_field("Property")
    supplier_id: Mapped[str | None] = ref_field("Supplier")
    handler: Mapped[str | None] = str_field()
    status: Mapped[str | None] = str_field(index=True)
    description: Mapped[str | None] = str_field()
    urgency: Mapped[str | None] = str_field()
    total_cost: Mapped[float | None] = float_field()
    work_date: Mapped[str | None] = date_field()
    notes: Mapped[str | None] = str_field()
