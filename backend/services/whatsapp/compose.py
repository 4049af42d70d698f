"""From a send request to concrete messages: recipients resolved to phones, placeholders filled.

Placeholders are `{name}`: a field of the recipient's record (a lead's `first_name`, a contact's
`full_name`, ...) or a key of the recipient's `vars` (which win). A name that is neither is refused
before anything is queued, so a typo never reaches a thousand people as `{frist_name}`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import ValidationFailed, field_error
from backend.models import Contact, MarketingLead
from backend.schemas.whatsapp import TemplateIn
from backend.services.whatsapp.phones import normalize, strip_bidi
from backend.services.whatsapp.providers import Template
from backend.services.whatsapp.records import chunks, lead_opted_out, opted_out_lead_phones, opted_out_phones

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
_LEAD_COLUMNS = [c for c in MarketingLead.__table__.columns if "kind" in c.info or c.key == "id"]
_CONTACT_COLUMNS = [c for c in Contact.__table__.columns if "kind" in c.info or c.key == "id"]
# Columns resolving a recipient needs (and the sources of the derived names); placeholders add theirs.
_ALWAYS_LOADED = {
    "id",
    "phone_number",
    "phone",
    "contact_id",
    "opt_out_whatsapp",
    "full_name",
    "first_name",
    "last_name",
}
RECORD_NAMES = {c.key for c in (*_LEAD_COLUMNS, *_CONTACT_COLUMNS)} | {"first_name", "last_name", "full_name", "phone"}


@dataclass
class Recipient:
    """One recipient, resolved: where to send and what to fill the placeholders with."""

    recipient: dict[str, Any]
    raw_phone: str | None = None
    phone: str | None = None
    lead_id: str | None = None
    contact_id: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    found: bool = True
    opted_out: bool = False


@dataclass(frozen=True)
class Content:
    """What a target receives: the text stored in `message_content`, and the template if any."""

    text: str
    template: Template | None = None


def placeholders(message: str | None, template: TemplateIn | None) -> set[str]:
    texts = [message or ""] + (list(template.params) if template else [])
    return {name for text in texts for name in PLACEHOLDER.findall(text)}


def check_placeholders(names: set[str], var_names: set[str]) -> None:
    unknown = sorted(names - RECORD_NAMES - var_names)
    if unknown:
        raise ValidationFailed(
            f"Unknown placeholder {{{unknown[0]}}}: use a field of the recipient's record or a key of `vars`",
            detail=[field_error("message", f"unknown placeholder {{{n}}}", n) for n in unknown[:20]],
        )


def fill(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), text)


def content_for(target: Recipient, message: str | None, template: TemplateIn | None) -> Content:
    if template is None:
        return Content(fill(message or "", target.values))
    params = tuple(fill(p, target.values).strip() for p in template.params)
    shown = f"[template {template.name}/{template.language}] " + " | ".join(params)
    return Content(shown.strip(), Template(template.name, template.language, params))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Only the placeholders a message uses are computed: 10,000 recipients x every field adds up.
def _lead_values(row: Mapping[str, Any], needed: Collection[str]) -> dict[str, str]:
    values = {k: _text(row[k]) for k in needed if k in row}
    if "full_name" in needed:
        values["full_name"] = " ".join(_text(row[k]) for k in ("first_name", "last_name") if row[k])
    if "phone" in needed:
        values["phone"] = _text(row["phone_number"])
    return values


def _contact_values(row: Mapping[str, Any], needed: Collection[str]) -> dict[str, str]:
    values = {k: _text(row[k]) for k in needed if k in row}
    first, _, last = _text(row["full_name"]).strip().partition(" ")
    values.update(first_name=first, last_name=last.strip())
    return values


def _load(session: Session, columns: list[Any], model: Any, ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for part in chunks(sorted(set(ids))):
        rows = session.execute(select(*columns).where(model.id.in_(part), model.deleted_at.is_(None)))
        found.update({row.id: row._mapping for row in rows})
    return found


def resolve(
    session: Session,
    recipients: Sequence[Mapping[str, Any]],
    needed: Collection[str] = (),
    hidden: Collection[str] = frozenset(),
) -> list[Recipient]:
    """Load every referenced record in a few queries and resolve each recipient (in order); `needed`:
    the placeholder names to fill; `hidden`: record ids the sender may not read (as if missing)."""
    wanted = _ALWAYS_LOADED | set(needed)
    lead_columns = [c for c in _LEAD_COLUMNS if c.key in wanted]
    contact_columns = [c for c in _CONTACT_COLUMNS if c.key in wanted]
    wanted_leads = [r["lead_id"] for r in recipients if r.get("lead_id") and r["lead_id"] not in hidden]
    wanted_contacts = [r["contact_id"] for r in recipients if r.get("contact_id") and r["contact_id"] not in hidden]
    leads = _load(session, lead_columns, MarketingLead, wanted_leads)
    contacts = _load(session, contact_columns, Contact, wanted_contacts)
    targets = []
    for given in recipients:
        shown = {k: v for k, v in given.items() if v is not None and k != "vars"}
        target = Recipient(recipient=shown)
        if given.get("lead_id"):
            lead = leads.get(given["lead_id"])
            target.lead_id, target.found = given["lead_id"], lead is not None
            if lead is not None:
                target.values = _lead_values(lead, needed)
                target.raw_phone = lead["phone_number"]
                target.contact_id = lead["contact_id"]
                target.opted_out = lead_opted_out(lead["opt_out_whatsapp"])
        elif given.get("contact_id"):
            contact = contacts.get(given["contact_id"])
            target.contact_id, target.found = given["contact_id"], contact is not None
            if contact is not None:
                target.values = _contact_values(contact, needed)
                target.raw_phone = contact["phone"]
        else:
            target.raw_phone = given.get("phone")
            target.values = {"phone": _text(target.raw_phone)}
        target.values.update({k: _text(v) for k, v in (given.get("vars") or {}).items()})
        if target.raw_phone is not None:
            target.raw_phone = strip_bidi(target.raw_phone).strip()
        target.phone = normalize(target.raw_phone) if target.found else None
        targets.append(target)
    blocked = opted_out_phones(session, [t.phone for t in targets if t.phone])
    blocked |= opted_out_lead_phones(session)
    for target in targets:
        target.opted_out = target.opted_out or target.phone in blocked
    return targets


def missing_template_params(targets: Sequence[Recipient], template: TemplateIn | None) -> list[dict[str, Any]]:
    """Recipients for whom a template parameter would be empty (Meta refuses those: code 131008)."""
    if template is None:
        return []
    errors = []
    for index, target in enumerate(targets):
        for position, param in enumerate(template.params):
            if not fill(param, target.values).strip():
                errors.append(field_error(f"recipients.{index}", f"template param {position + 1} is empty", param))
    return errors
