from __future__ import annotations

from sqlalchemy.orm import Mapped

from backend.database import Base
from backend.models.base import BuiltinFields
from backend.models.fields import datetime_field, int_field, ref_field, str_field


class MarketingLog(BuiltinFields, Base):
    """One row per WhatsApp message."""

    __tablename__ = "marketing_logs"

    lead_id: Mapped[str | None] = ref_field("MarketingLead")
    phone_number: Mapped[str | None] = str_field(index=True)
    message_content: Mapped[str | None] = str_field()
    status: Mapped[str | None] = str_field(index=True)
    sent_date: Mapped[str | None] = datetime_field()
    response_data: Mapped[str | None] = str_field()
    contact_id: Mapped[str | None] = ref_field("Contact")
    batch_id: Mapped[str | None] = str_field(index=True)
    phone_e164: Mapped[str | None] = str_field(index=True)
    provider: Mapped[str | None] = str_field()
    template_name: Mapped[str | None] = str_field()
    provider_message_id: Mapped[str | None] = str_field(index=True)
    error_code: Mapped[str | None] = str_field()
    error_message: Mapped[str | None] = str_field()
    attempts: Mapped[int | None] = int_field()
    next_attempt_at: Mapped[str | None] = datetime_field()
    delivered_date: Mapped[str | None] = datetime_field()
    read_date: Mapped[str | None] = datetime_field()
    failed_date: Mapped[str | None] = datetime_field()
