"""Request and response shapes of the WhatsApp routes (API.md §6.2–§6.4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

# WhatsApp's own limit for a text body.
MAX_MESSAGE = 4096
MAX_RECIPIENTS = 10_000


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text; refused here, the error names the field that carries it
    if "\x00" in value:
        raise ValueError("may not contain the NUL character (U+0000)")
    return value


NoNul = AfterValidator(_no_nul)
Param = Annotated[str, StringConstraints(min_length=1, max_length=1024), NoNul]
VarValue = Annotated[str, StringConstraints(max_length=1024), NoNul] | int | float
VarName = Annotated[str, StringConstraints(max_length=64), NoNul]
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul]


class TemplateIn(BaseModel):
    """An approved Meta template; `params` fill the body's `{{1}}`, `{{2}}`, ... (placeholders allowed)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")
    language: str = Field(default="he", pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    params: list[Param] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _no_blank_params(self) -> TemplateIn:
        if any(not p.strip() for p in self.params):
            raise ValueError("template params may not be blank")
        return self


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[str, NoNul] | None = Field(default=None, max_length=MAX_MESSAGE)
    template: TemplateIn | None = None

    def _check_content(self) -> None:
        if (self.message is None) == (self.template is None):
            raise ValueError("give exactly one of `message` and `template`")
        if self.message is not None and not self.message.strip():
            raise ValueError("`message` may not be empty")


class SendIn(_Content):
    """One message to a phone, a contact or a marketing lead."""

    to: Annotated[str, NoNul] | None = Field(default=None, max_length=64)
    lead_id: RecordId | None = None
    contact_id: RecordId | None = None
    vars: dict[VarName, VarValue] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _exactly_one(self) -> SendIn:
        if sum(v is not None for v in (self.to, self.lead_id, self.contact_id)) != 1:
            raise ValueError("give exactly one of `to`, `lead_id` and `contact_id`")
        self._check_content()
        return self


class RecipientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, NoNul] | None = Field(default=None, max_length=256)
    lead_id: RecordId | None = None
    contact_id: RecordId | None = None
    vars: dict[VarName, VarValue] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _exactly_one(self) -> RecipientIn:
        if sum(v is not None for v in (self.phone, self.lead_id, self.contact_id)) != 1:
            raise ValueError("each recipient needs exactly one of `phone`, `lead_id` and `contact_id`")
        return self


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity: Literal["MarketingLead", "Contact"] = "MarketingLead"
    q: dict[str, Any] | None = None


class SendBulkIn(_Content):
    """Up to 10,000 recipients, or an audience query; text with `{first_name}`-style placeholders or a template."""

    recipients: list[RecipientIn] | None = None
    audience: AudienceIn | None = None
    dry_run: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> SendBulkIn:
        if (self.recipients is None) == (self.audience is None):
            raise ValueError("give exactly one of `recipients` and `audience`")
        self._check_content()
        return self


class SkippedOut(BaseModel):
    recipient: dict[str, Any]
    reason: Literal["duplicate", "invalid_phone", "opted_out", "not_found"]


class SendBulkOut(BaseModel):
    batch_id: str | None
    queued: int
    skipped: list[SkippedOut]
    total: int
    dry_run: bool


class BatchOut(BaseModel):
    batch_id: str
    status: str
    total: int
    queued: int
    sending: int
    sent: int
    delivered: int
    read: int
    failed: int
    unknown: int
    cancelled: int
    skipped: int
    skipped_reasons: dict[str, int]
    pause_reason: str | None
    created_date: str
    finished_date: str | None
