"""Reading the values of a Client or Property as the matching rules see them: deal words in Hebrew and
English, trimmed case-insensitive text, amounts and room counts that may be garbage (then unknown, with
a note that ends up among the match's reasons). Pure, no I/O."""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple

# Deal-type words of both sides, Hebrew and English, mapped to the market they belong to: a client who
# wants to buy (`קנייה`) wants a property for sale (`מכירה`); renters and rentals share `השכרה`.
SALE, RENT = "sale", "rent"
DEAL_WORDS: dict[str, str] = {
    "קנייה": SALE,
    "קניה": SALE,  # the common spelling with one yod
    "buy": SALE,
    "purchase": SALE,
    "מכירה": SALE,
    "sale": SALE,
    "sell": SALE,
    "השכרה": RENT,
    "שכירות": RENT,
    "rent": RENT,
    "rental": RENT,
}
CLOSED_STATUSES = frozenset({"נסגר", "עסקה נסגרה", "closed"})
AMENITIES = ("parking", "air_conditioning", "storage", "balcony", "elevator")
AMOUNT_MAX = 10**12  # a price or budget above this is a typo, not a number to compare

_ROOMS_RE = re.compile(r"(\d{1,2}(?:[.,]\d{1,2})?)\s*(\+?)\s*(?:חדרים|חדר|חד['׳]|rooms?)?")


class Rooms(NamedTuple):
    """A room count; `open` means "this many or more" (the forms' `6+`). A tuple: hashed in C, it is a
    cheap key for the per-client tables of the pair loop."""

    value: float
    open: bool = False


def norm(value: Any) -> str | None:
    """Trimmed and case-insensitive; blank or non-text is unknown."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value or None


def deal_of(value: Any) -> str | None:
    """`sale`, `rent`, or None when the word is missing or not one we know (then it constrains nothing)."""
    key = norm(value)
    return DEAL_WORDS.get(key) if key else None


def _shown(value: Any) -> str:
    text = str(value)
    return f'"{text[:30]}…"' if len(text) > 30 else f'"{text}"'


def parse_amount(value: Any, label: str) -> tuple[int | None, str | None]:
    """A price or budget. Zero, negative and absurd values count as unknown; garbage also gets a note."""
    if value is None or value == "":
        return None, None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value):
        number = int(value)
    elif isinstance(value, str):
        digits = value.strip().replace(",", "").replace("₪", "").strip()
        number = int(digits) if digits.isascii() and digits.isdigit() else None
    if number is None or number > AMOUNT_MAX:
        return None, f"{label} {_shown(value)} not understood"
    return (number if number > 0 else None), None


def parse_rooms(value: Any, label: str) -> tuple[Rooms | None, str | None]:
    """`3`, `2.5`, `2,5`, `6+`, `3 חדרים` → Rooms; blank → unknown; anything else → unknown with a note."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and 0 < value <= 50:
            return Rooms(float(value)), None
        return None, f"{label} {_shown(value)} not understood"
    if isinstance(value, str):
        match = _ROOMS_RE.fullmatch(value.strip().replace("½", ".5").lower())
        if match:
            number = float(match.group(1).replace(",", "."))
            if 0 < number <= 50:
                return Rooms(number, bool(match.group(2))), None
    return None, f"{label} {_shown(value)} not understood"
