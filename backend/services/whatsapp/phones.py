"""Phone numbers to E.164 with `phonenumbers`, after stripping the bidi marks Hebrew text carries."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from backend.config import get_settings

# LRM, RLM and the embedding/override marks (U+202A–U+202E): invisible, pasted in with Hebrew text.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e]")
MAX_PHONE_LENGTH = 64


def strip_bidi(value: str) -> str:
    return _BIDI.sub("", value)


def normalize(raw: object, region: str | None = None) -> str | None:
    """`+9725...` for a valid number, None for anything that is not one (never raises)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_PHONE_LENGTH:
        return None
    return _normalize(strip_bidi(raw).strip(), (region or get_settings().phone_default_region).upper())


@lru_cache(maxsize=65536)
def _normalize(text: str, region: str) -> str | None:
    if not text:
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def wa_digits(e164: str) -> str:
    """The Cloud API's `to`: the E.164 digits without `+`."""
    return e164.lstrip("+")


def from_wa_id(wa_id: object) -> str | None:
    """A webhook's `from`/`recipient_id` (digits, no `+`) back to E.164."""
    if not isinstance(wa_id, str) or not wa_id.isdigit():
        return None
    return normalize("+" + wa_id)
