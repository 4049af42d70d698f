"""The office's address book and stock: contacts, properties, clients, suppliers and new-build projects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from seeds.demo_base import (
    AMENITIES,
    START,
    TODAY,
    Record,
    agent,
    builtin_fields,
    e164_digits,
    mobile,
    person,
    place,
    price_for,
    rng,
    rooms_value,
    when,
)
from seeds.demo_vocab import (
    AGENTS,
    CLIENT_STATUSES,
    MAIL_DOMAINS,
    PROPERTY_STATUSES,
    ROOMS,
    SOURCES,
    SUPPLIERS,
)

CONTACT_NOTES = ["", "", "", "מעדיף וואטסאפ", "לא להתקשר בשבת", "הגיע דרך חבר", "לקוח חוזר", "לחזור אחרי 17:00"]


def contact(taken: list[Record], created: Callable[[], dt.datetime]) -> Record:
    """One person for the address book, named unlike everyone in `taken`; `created` is asked for the moment they
    were added once the name, place and phone are drawn."""
    name, _first, email = person()
    while any(name == c["full_name"] for c in taken):  # two "אליעזר כהן" in one address book only confuse
        name, _first, email = person()
    city, _area, street = place()
    phone = mobile()
    with_link = rng.random() < 0.35
    return {
        **builtin_fields(created(), agent()),
        "full_name": name,
        "phone": phone,
        "email": email,
        "whatsapp_id": e164_digits(phone) if with_link else "",
        "whatsapp_link": f"https://wa.me/{e164_digits(phone)}" if with_link else "",
        "address": f"{street} {rng.randint(1, 120)}, {city}",
        "city": city,
        "notes": rng.choice(CONTACT_NOTES),
    }


def contacts(count: int) -> list[Record]:
    out: list[Record] = []
    for _ in range(count):
        out.append(contact(out, lambda: when(START, TODAY - dt.timedelta(days=60))))
    return out


def describe(p: Record) -> str:
    extras = [text for key, text in (("balcony", "מרפסת"), ("parking", "חניה"), ("elevator", "מעלית")) if p[key]]
    if p["category"] == "מסחרי":
        return f'{p["property_type"]} של {p["square_meters"]} מ"ר ב{p["area"]}, {p["street"]}. מתאים לעסק קטן.'
    floor = f"בקומה {p['floor']} מתוך {p['total_floors']}" if p["total_floors"] else "עם גינה"
    state = rng.choice(["משופצת", "שמורה", "מוארת ומאווררת", "במצב טוב", "אחרי שיפוץ כללי"])
    return f"{p['rooms']} חדרים, {state}, {floor}" + (f", עם {' ו'.join(extras)}" if extras else "") + "."


def properties(owners: list[Record], count: int) -> list[Record]:
    out = []
    for i in range(count):
        owner = owners[i % len(owners)]
        created = when(dt.datetime.fromisoformat(owner["created_date"]), TODAY - dt.timedelta(days=20))
        commercial = rng.random() < 0.12
        kind = rng.choice(["משרד", "חנות", "מחסן"]) if commercial else rng.choice(["דירה"] * 9 + ["בית פרטי"])
        city, area, street = place(owner["city"] if rng.random() < 0.5 else None)
        deal = "מכירה" if rng.random() < 0.55 else "השכרה"
        rooms = "" if kind in ("מחסן", "חנות") else rng.choice(ROOMS)
        total = "" if kind == "בית פרטי" else str(rng.randint(3, 12))
        who = agent()
        p: Record = {
            **builtin_fields(created, who),
            "contact_id": owner["id"],
            "handler": who[0],
            "source": rng.choice(SOURCES),
            "status": rng.choice(PROPERTY_STATUSES),
            "category": "מסחרי" if commercial else "פרטי",
            "property_type": kind,
            "listing_type": deal,
            "price": price_for(city, rooms, deal, kind),
            "city": city,
            "area": area,
            "street": street,
            "building_number": str(rng.randint(1, 90)),
            "apartment_number": "" if kind in ("בית פרטי", "מחסן") else str(rng.randint(1, 30)),
            "rooms": rooms,
            "floor": str(rng.randint(0, int(total))) if total else "",
            "total_floors": total,
            "square_meters": int((rooms_value(rooms) if rooms else 1.5) * rng.randint(22, 30)),
            **{key: rng.random() < chance for key, chance in zip(AMENITIES, (0.5, 0.85, 0.35, 0.6, 0.55), strict=True)},
            "image_urls": [],
        }
        p["description"] = describe(p)
        out.append(p)
    return out


def client_for(contact: Record, target: Record | None) -> Record:
    """A buyer or renter; with `target`, one whose wishes that property fulfils (within budget, same city)."""
    if target is not None:
        city, area, kind, rooms = target["city"], target["area"], target["property_type"], target["rooms"]
        category = "קנייה" if target["listing_type"] == "מכירה" else "השכרה"
        budget = target["price"] * rng.uniform(0.97, 1.25)
        wants = {key: bool(target[key]) and rng.random() < 0.6 for key in AMENITIES}
        status = rng.choice(CLIENT_STATUSES[:5])
        area = area if rng.random() < 0.75 else ""
    else:
        city, area, _street = place()
        kind, rooms = "דירה", rng.choice(ROOMS)
        category = "קנייה" if rng.random() < 0.55 else "השכרה"
        budget = price_for(city, rooms, "מכירה" if category == "קנייה" else "השכרה", kind) * rng.uniform(0.8, 1.2)
        wants = {key: rng.random() < 0.4 for key in AMENITIES}
        status = rng.choice(CLIENT_STATUSES)
    step = 50_000 if category == "קנייה" else 500
    after = dt.datetime.fromisoformat(max(contact["created_date"], target["created_date"] if target else ""))
    who = agent()
    return {
        **builtin_fields(when(after, TODAY - dt.timedelta(days=10)), who),
        "contact_id": contact["id"],
        "handler": who[0],
        "source": rng.choice(SOURCES),
        "status": status,
        "request_category": category,
        "property_type": kind,
        "city": city,
        "area": area,
        "budget": int(round(budget / step) * step),
        "rooms": rooms,
        **wants,
    }


def suppliers() -> list[Record]:
    out = []
    for name, specialization, notes in SUPPLIERS:
        out.append(
            {
                **builtin_fields(when(START, START + dt.timedelta(days=120)), AGENTS[0]),
                "name": name,
                "phone": mobile(),
                "email": rng.choice(["", f"office{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"]),
                "specialization": specialization,
                "hourly_rate": rng.choice([120, 150, 180, 200, 250, 300]),
                "rating": rng.choice([3, 4, 4, 5, 5]),
                "notes": notes,
            }
        )
    return out


def projects() -> list[Record]:
    specs = [
        (
            "גני אביב — חולון",
            "פתוח לדיירים",
            "חולון",
            "קריית שרת",
            ('3 חדרים, 78 מ"ר', '4 חדרים, 98 מ"ר', "פנטהאוז 5 חדרים"),
        ),
        ("פארק הגפן — רמת גן", "נסגר", "רמת גן", "רמת חן", ('4 חדרים, 105 מ"ר', '5 חדרים, 128 מ"ר', "דירת גן")),
    ]
    out = []
    for name, status, city, area, types in specs:
        rep, _first, _email = person()
        out.append(
            {
                **builtin_fields(when(START, START + dt.timedelta(days=200)), AGENTS[0]),
                "name": name,
                "handler": agent()[0],
                "contact_name": rep,
                "contact_phone": mobile(),
                "contact_email": f"sales@{'ganei-aviv' if city == 'חולון' else 'park-hagefen'}.co.il",
                "status": status,
                "city": city,
                "area": area,
                "apartment_type_1": types[0],
                "apartment_type_2": types[1],
                "apartment_type_3": types[2],
                "description": f"פרויקט בנייה חדשה ב{area}, {city}: מגדל של 14 קומות, חניון תת-קרקעי, לובי מפואר.",
            }
        )
    return out
