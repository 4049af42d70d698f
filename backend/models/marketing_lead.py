from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import date_field, int_field, ref_field, str_field


class MarketingLead(BuiltinFields, Base):
    __tablename__ = "marketing_leads"

    phone_number: Mapped[str | None] = str_field(index=True)
    first_name: Mapped[str | None] = str_field()
    last_name: Mapped[str | None] = str_field()
    budget: Mapped[str | None] = str_field()
    neighborhood: Mapped[str | None] = str_field()
    street: Mapped[str | None] = str_field()
    rooms_min: Mapped[int | None] = int_field()
    rooms_max: Mapped[int | None] = int_field()
    client_type: Mapped[str | None] = str_field()
    seriousness: Mapped[str | None] = str_field()
    additional_notes: Mapped[str | None] = str_field()
    opt_out_whatsapp: Mapped[str | None] = str_field()
    import_date: Mapped[str | None] = date_field()
    last_contacted: Mapped[str | None] = date_field()
    source: Mapped[str | None] = str_field()
    contact_id: Mapped[str | None] = ref_field("Contact")
