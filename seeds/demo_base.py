"""What every demo record is made with: one seeded random source, the demo's clock, ids, phones, names, places."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Sequence
from typing import Any

import phonenumbers

from seeds.demo_vocab import (
    AGENTS,
    CITY_PRICE,
    CITY_WEIGHTS,
    FIRST_NAMES,
    LAST_NAMES,
    MAIL_DOMAINS,
    PLACES,
)

START = dt.datetime(2025, 6, 1, 6, 0)
TODAY = dt.datetime(2026, 11, 24, 16, 0)  # the demo's "now": meetings and tasks fall around it
AMENITIES = ("parking", "air_conditioning", "storage", "balcony", "elevator")
Record = dict[str, Any]
rng = random.Random(2026)  # build() calls reset(), so the output never depends on what ran before


def pick_weighted(weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def when(after: dt.datetime, before: dt.datetime = TODAY) -> dt.datetime:
    """A moment in office hours (08:00-19:00 Israel, Sunday-Thursday) between the two, as naive UTC."""
    for _ in range(100):
        day = after + dt.timedelta(days=rng.randint(0, max(0, (before - after).days)))
        moment = day.replace(hour=rng.randint(5, 15), minute=rng.randint(0, 59), second=rng.randint(0, 59))
        moment = moment.replace(microsecond=rng.randint(0, 999) * 1000)
        if moment.weekday() not in (4, 5) and after <= moment <= before:
            return moment
    return after


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def builtin_fields(created: dt.datetime, agent: tuple[str, str, str], edited: bool = True) -> Record:
    updated = when(created, min(TODAY, created + dt.timedelta(days=60))) if edited and rng.random() < 0.6 else created
    return {
        "id": f"{int(created.replace(tzinfo=dt.UTC).timestamp()):08x}{rng.getrandbits(64):016x}",
        "created_date": stamp(created),
        "updated_date": stamp(max(created, updated)),
        "created_by": agent[1],
        "created_by_id": agent[2],
        "is_sample": False,
    }


_used_phones: set[str] = set()


def reset(seed: int = 2026) -> None:
    """Start over: the same seed and no phone handed out yet, so every run writes the same files."""
    rng.seed(seed)
    _used_phones.clear()


def mobile() -> str:
    """A fresh, valid Israeli mobile, written the way people type them into forms and spreadsheets."""
    while True:
        prefix = rng.choice(["50", "52", "52", "53", "54", "54", "55", "58"])
        rest = f"{rng.randint(2_000_000, 9_999_999)}"
        number = phonenumbers.parse(f"0{prefix}{rest}", "IL")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number) and e164 not in _used_phones:
            _used_phones.add(e164)
            break
    styles = {  # how the office's sheets and forms actually hold them, most common first
        f"0{prefix}-{rest}": 40,
        f"0{prefix}{rest}": 20,
        f"+972 {prefix}-{rest[:3]}-{rest[3:]}": 10,
        f"0{prefix}-{rest[:3]}-{rest[3:]}": 10,
        f"+972{prefix}{rest}": 8,
        f"0{prefix} {rest[:3]} {rest[3:]}": 7,
        f"972-{prefix}-{rest}": 5,
    }
    return pick_weighted(styles)


def e164_digits(phone: str) -> str:
    return phonenumbers.format_number(phonenumbers.parse(phone, "IL"), phonenumbers.PhoneNumberFormat.E164)[1:]


def person() -> tuple[str, str, str]:
    """(full name, first name, email) — email empty for about a third, as in real address books."""
    first, first_en = rng.choice(FIRST_NAMES)
    last, last_en = rng.choice(LAST_NAMES)
    email = ""
    if rng.random() < 0.65:
        local = rng.choice(
            [f"{first_en}.{last_en}", f"{first_en}{last_en}{rng.randint(1, 99)}", f"{first_en[0]}{last_en}"]
        )
        email = f"{local}@{rng.choice(MAIL_DOMAINS)}"
    return f"{first} {last}", first, email


def place(city: str | None = None) -> tuple[str, str, str]:
    city = city or pick_weighted(CITY_WEIGHTS)
    area, streets = rng.choice(PLACES[city])
    return city, area, rng.choice(streets)


def rooms_value(rooms: str) -> float:
    return 6.0 if rooms == "6+" else float(rooms)


def agent() -> tuple[str, str, str]:
    return rng.choice(AGENTS)


def price_for(city: str, rooms: str, deal: str, kind: str) -> int:
    size = rooms_value(rooms) if rooms else 3.0
    factor = CITY_PRICE[city] * rng.uniform(0.9, 1.15) * (1.3 if kind in ("בית פרטי", "משרד", "חנות") else 1.0)
    if deal == "מכירה":
        return int(min(6_000_000, max(1_500_000, (450_000 + size * 850_000) * factor)) // 10_000 * 10_000)
    return int(min(15_000, max(4_000, (1_500 + size * 1_900) * factor)) // 100 * 100)


def derived_id(source: Record, entity: str) -> str:
    """The id of the `entity` record made from `source` (a listing made from a Property...): it starts with its
    source's creation time like every id here, and takes the rest from a hash, so deriving draws nothing from
    `rng` and everything generated after it keeps its values."""
    return str(source["id"])[:8] + hashlib.sha256(f"{entity}:{source['id']}".encode()).hexdigest()[:16]


def stable_pick(key: str, options: Sequence[str]) -> str:
    """One of `options`, chosen by a hash of `key`: deterministic without drawing from `rng`."""
    return options[int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % len(options)]


def at(moment: dt.datetime) -> str:
    """A meeting's time as the form's datetime-local input sends it."""
    return moment.strftime("%Y-%m-%dT%H:%M")
