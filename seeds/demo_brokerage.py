"""The office's brokerage as its frontend sees it: PropertyBrokerage listings, BuyersBrokerage buyers, their
MatchesBrokerage matches, the older BuyersRenters leads and their Matches, and the PropertyInventory stock.

The listings and buyers start as the seed's own Property and Client records, rewritten in the words the
frontend's forms use (rooms "1".."7", the two areas the forms offer, the forms' statuses and sources):
the same office seen through both models, so a task about a property on the Tasks page and that
property's card on /PropertyBrokerage agree. Those copies draw nothing from the random source; what is
added afterwards (offices, fresh listings and buyers, matches, renters, stock) does.
"""

from __future__ import annotations

import datetime as dt
import math

from seeds.demo_base import (
    TODAY,
    Record,
    agent,
    builtin_fields,
    derived_id,
    place,
    price_for,
    rng,
    stable_pick,
    when,
)
from seeds.demo_records import contact
from seeds.demo_vocab import (
    BROKERAGE_AREA,
    BROKERAGE_SOURCES,
    BUYER_STATUSES,
    LISTING_STATUSES,
    MATCH_STATUSES,
    OFFICE_STREETS,
    PLACES,
    RENTER_AREAS,
    RENTER_SOURCES,
    RENTER_STATUSES,
    SOURCE_AS_FORM,
)

BUILTINS = ("created_date", "updated_date", "created_by", "created_by_id", "is_sample")
DEAL_OF = {"קנייה": "מכירה", "השכרה": "השכרה"}  # a buyer's request → the listing type that fulfils it


def hours_ago(hours: int) -> dt.datetime:
    """A moment in the last hours before the demo's "now" (to the millisecond, like every stamp here)."""
    ago = dt.timedelta(hours=hours, minutes=rng.randint(0, 50), seconds=rng.randint(0, 59))
    return TODAY - ago - dt.timedelta(milliseconds=rng.randint(0, 999))


def copied(source: Record, entity: str) -> Record:
    return {"id": derived_id(source, entity), **{key: source[key] for key in BUILTINS}}


def form_rooms(rooms: str) -> str:
    """The forms offer whole rooms "1".."7": 3.5 rooms is listed as "4", "6+" as "6"; none stays ""."""
    if not rooms:
        return ""
    return "6" if rooms == "6+" else str(min(7, math.ceil(float(rooms))))


def form_source(record: Record) -> str:
    return SOURCE_AS_FORM.get(record["source"]) or stable_pick(record["id"], BROKERAGE_SOURCES)


def listing_type_of(p: Record, convert: bool) -> str:
    """Commercial stock is an office to the form; a top floor is a penthouse, a ground floor with four rooms or
    more a garden flat (unless `convert` is off: a buyer was written to want exactly this flat)."""
    if p["category"] == "מסחרי":
        return "משרד"
    if convert and p["property_type"] == "דירה" and p["total_floors"]:
        if p["floor"] == p["total_floors"] and int(p["total_floors"]) >= 6:
            return "פנטהאוז"
        if p["floor"] == "0" and p["rooms"] and float(p["rooms"].rstrip("+")) >= 4:
            return "דירת גן"
    return str(p["property_type"])


def listing_from(p: Record, convert: bool = True) -> Record:
    """The PropertyBrokerage listing of a Property (a sold one stays "נכס פורסם": the form has no closed state)."""
    return {
        **copied(p, "PropertyBrokerage"),
        "contact_id": p["contact_id"],
        "source": form_source(p),
        "status": p["status"] if p["status"] in LISTING_STATUSES else "נכס פורסם",
        "category": p["category"],
        "listing_type": p["listing_type"],
        "property_type": listing_type_of(p, convert),
        "price": p["price"],
        "city": p["city"],
        "area": BROKERAGE_AREA.get(p["area"], ""),
        "street": p["street"],
        "building_number": p["building_number"],
        "apartment_number": p["apartment_number"],
        "rooms": form_rooms(p["rooms"]),
        "floor": p["floor"],
        "total_floors": p["total_floors"],
        "parking": p["parking"],
        "air_conditioning": p["air_conditioning"],
        "storage": p["storage"],
        "image_urls": [],
        "handler": p["handler"],
    }


def buyer_from(c: Record) -> Record:
    """The BuyersBrokerage buyer of a Client (a closed deal stays "נחתם הסכם תיווך": the form has no closed state)."""
    return {
        **copied(c, "BuyersBrokerage"),
        "contact_id": c["contact_id"],
        "status": c["status"] if c["status"] in BUYER_STATUSES else "נחתם הסכם תיווך",
        "request_category": c["request_category"],
        "desired_property_type": c["property_type"] if c["property_type"] in ("דירה", "בית פרטי", "משרד") else "דירה",
        "desired_area": BROKERAGE_AREA.get(c["area"], ""),
        "budget": c["budget"],
        "desired_rooms": form_rooms(c["rooms"]),
        "source": form_source(c),
        "parking": c["parking"],
        "air_conditioning": c["air_conditioning"],
        "storage": c["storage"],
        "handler": c["handler"],
        "city": c["city"],
    }


def newcomer(people: list[Record], created: dt.datetime) -> Record:
    """A new person in the address book, added a little before `created` (when they called the office)."""
    person = contact(people, lambda: created - dt.timedelta(minutes=rng.randint(3, 90)))
    people.append(person)
    return person


def listing(owner: Record, created: dt.datetime, category: str, kind: str, deal: str, area: str) -> Record:
    """A Tel Aviv listing typed in through the form (the area's streets, rooms "1".."7")."""
    if kind == "משרד":
        street, rooms, total = rng.choice(OFFICE_STREETS[area]), str(rng.randint(2, 6)), rng.randint(4, 30)
    else:
        hoods = [hood for hood, mapped in BROKERAGE_AREA.items() if mapped == area]
        streets = [s for hood, names in PLACES["תל אביב"] if hood in hoods for s in names]
        street, rooms, total = rng.choice(streets), str(rng.randint(2, 5)), rng.randint(3, 12)
    floor = {"פנטהאוז": total, "דירת גן": 0}.get(kind, rng.randint(1, total))
    who = agent()
    return {
        **builtin_fields(created, who, edited=created < TODAY - dt.timedelta(days=7)),
        "contact_id": owner["id"],
        "source": rng.choice(BROKERAGE_SOURCES),
        "status": "נכס חדש" if created > TODAY - dt.timedelta(days=4) else rng.choice(LISTING_STATUSES[1:]),
        "category": category,
        "listing_type": deal,
        "property_type": kind,
        "price": price_for("תל אביב", rooms, deal, kind),
        "city": "תל אביב",
        "area": area,
        "street": street,
        "building_number": str(rng.randint(1, 90)),
        "apartment_number": "" if kind == "משרד" else str(rng.randint(1, 30)),
        "rooms": rooms,
        "floor": str(floor),
        "total_floors": str(total),
        "parking": rng.random() < 0.5,
        "air_conditioning": rng.random() < 0.85,
        "storage": rng.random() < 0.35,
        "image_urls": [],
        "handler": who[0],
    }


# (category, type, deal, area, hours ago — None: some weeks ago). The fresh ones are the week's new listings.
EXTRA_LISTINGS: list[tuple[str, str, str, str, int | None]] = [
    ("מסחרי", "משרד", "מכירה", "צפון תל אביב", None),
    ("מסחרי", "משרד", "מכירה", "נווה צדק", None),
    ("מסחרי", "משרד", "השכרה", "צפון תל אביב", None),
    ("מסחרי", "משרד", "השכרה", "צפון תל אביב", None),
    ("מסחרי", "משרד", "השכרה", "נווה צדק", None),
    ("פרטי", "פנטהאוז", "מכירה", "צפון תל אביב", None),
    ("פרטי", "דירת גן", "מכירה", "נווה צדק", None),
    ("פרטי", "דירת גן", "השכרה", "צפון תל אביב", None),
    ("פרטי", "דירה", "השכרה", "צפון תל אביב", 70),
    ("פרטי", "דירה", "השכרה", "נווה צדק", 52),
    ("פרטי", "דירה", "השכרה", "צפון תל אביב", 30),
    ("פרטי", "דירה", "מכירה", "צפון תל אביב", 45),
    ("פרטי", "בית פרטי", "מכירה", "צפון תל אביב", 26),
]


def extra_listings(people: list[Record], owners: list[Record]) -> list[Record]:
    out = []
    for category, kind, deal, area, hours in EXTRA_LISTINGS:
        if hours is None:
            created = when(TODAY - dt.timedelta(days=120), TODAY - dt.timedelta(days=10))
            owner = rng.choice(owners) if category == "פרטי" else newcomer(people, created)
        else:
            created = hours_ago(hours)
            owner = newcomer(people, created)
        out.append(listing(owner, created, category, kind, deal, area))
    return out


def buyer(person: Record, created: dt.datetime, request: str, kind: str, area: str, rooms: str, budget: int) -> Record:
    who = agent()
    return {
        **builtin_fields(created, who, edited=created < TODAY - dt.timedelta(days=7)),
        "contact_id": person["id"],
        "status": "קונה חדש" if created > TODAY - dt.timedelta(days=3) else rng.choice(BUYER_STATUSES[1:]),
        "request_category": request,
        "desired_property_type": kind,
        "desired_area": area,
        "budget": budget,
        "desired_rooms": rooms,
        "source": rng.choice(BROKERAGE_SOURCES),
        "parking": rng.random() < 0.4,
        "air_conditioning": rng.random() < 0.5,
        "storage": rng.random() < 0.2,
        "handler": who[0],
        "city": "תל אביב",
    }


def fitting_budget(price: int, request: str) -> int:
    step = 50_000 if request == "קנייה" else 500
    return int(round(price * rng.uniform(1.0, 1.15) / step) * step)


def extra_buyers(people: list[Record], listings: list[Record]) -> list[Record]:
    """Office seekers, and this week's new buyers: each wants one of the fresh listings (the newest came in an hour
    ago and is not yet four hours without an answer)."""
    out = []
    offices = [p for p in listings if p["property_type"] == "משרד" and p["city"] == "תל אביב" and p["area"]]
    for request in ("קנייה", "השכרה", "השכרה"):
        office = rng.choice([p for p in offices if p["listing_type"] == DEAL_OF[request]])
        created = when(TODAY - dt.timedelta(days=60), TODAY - dt.timedelta(days=5))
        person = newcomer(people, created)
        budget = fitting_budget(office["price"], request)
        out.append(buyer(person, created, request, "משרד", office["area"], office["rooms"], budget))
    fresh = sorted((p for p in listings if later_than(p) > TODAY - dt.timedelta(days=4)), key=lambda p: p["id"])
    for hours, wanted in zip((5, 9, 19, 28), fresh, strict=False):
        created = hours_ago(hours)
        request = "קנייה" if wanted["listing_type"] == "מכירה" else "השכרה"
        person = newcomer(people, created)
        budget = fitting_budget(wanted["price"], request)
        out.append(buyer(person, created, request, wanted["property_type"], wanted["area"], wanted["rooms"], budget))
    created = hours_ago(0) - dt.timedelta(minutes=5)
    out.append(buyer(newcomer(people, created), created, "קנייה", "דירה", "נווה צדק", "3", 3_400_000))
    return out


def browser_fit(p: Record, b: Record) -> bool:
    """The frontend's own matching rule (MatchesBrokerage.jsx:121-128): only a rental can ever pass it."""
    return (
        p["area"] == b["desired_area"]
        and p["rooms"] == b["desired_rooms"]
        and p["property_type"] == b["desired_property_type"]
        and p["listing_type"] == b["request_category"]
        and bool(p["price"] and b["budget"])
        and p["price"] <= b["budget"] * 1.1
    )


def match(p: Record, b: Record, score: int, status: str, created: dt.datetime) -> Record:
    return {
        **builtin_fields(created, agent(), edited=status != "הותאם"),
        "property_id": p["id"],
        "buyer_id": b["id"],
        "match_score": score,
        "status": status,
    }


def later_than(*records: Record) -> dt.datetime:
    return dt.datetime.fromisoformat(max(r["created_date"] for r in records))


def brokerage_matches(pairs: list[tuple[Record, Record]], listings: list[Record], buyers: list[Record]) -> list[Record]:
    """Matches of the buyers written to fit a listing (sales among them: stored and counted, never shown on
    /MatchesBrokerage), what the page's button finds by the browser's rule (score 85), office matches, two
    turned down, and today's: the fresh buyers with the fresh listings they fit."""
    out: list[Record] = []
    taken: set[tuple[str, str]] = set()

    def add(p: Record, b: Record, score: int, status: str, created: dt.datetime) -> None:
        if (p["id"], b["id"]) not in taken:
            taken.add((p["id"], b["id"]))
            out.append(match(p, b, score, status, created))

    day_ago = TODAY - dt.timedelta(days=1)
    for b, p in pairs:
        add(p, b, rng.randint(72, 96), rng.choice(MATCH_STATUSES[:2]), when(later_than(p, b), day_ago))
    fresh = {b["id"] for b in buyers if later_than(b) > TODAY - dt.timedelta(days=3)}
    found = [(p, b) for b in buyers for p in listings if browser_fit(p, b)]
    for p, b in found:
        if b["id"] in fresh:  # pressed this morning: created in the last hours, as the alerts panel shows
            add(p, b, 85, "הותאם", later_than(p, b) + dt.timedelta(seconds=rng.randint(1200, 12000)))
        elif len(out) < len(pairs) + 8:
            add(p, b, 85, "הותאם", when(later_than(p, b), day_ago))
    for b in [b for b in buyers if b["desired_property_type"] == "משרד"]:
        offices = [p for p in listings if p["category"] == "מסחרי" and p["area"] and p["area"] == b["desired_area"]]
        for p in offices:
            if p["listing_type"] == DEAL_OF[b["request_category"]]:
                add(p, b, rng.randint(78, 92), rng.choice(MATCH_STATUSES[:2]), when(later_than(p, b), day_ago))
    homes = [p for p in listings if p["category"] == "פרטי" and p["property_type"] == "דירה"]
    for b in rng.sample([b for b in buyers if b["desired_property_type"] == "דירה"], 2):
        p = rng.choice([p for p in homes if p["listing_type"] == DEAL_OF[b["request_category"]]])
        add(p, b, rng.randint(40, 60), "לא רלוונטי", when(later_than(p, b), day_ago))
    return out


def renters(people: list[Record], count: int) -> list[Record]:
    """BuyersRenters: the older lead list; a quarter came in through the public BuyerLeadForm (no area asked)."""
    out = []
    for i in range(count):
        created = when(TODAY - dt.timedelta(days=200), TODAY - dt.timedelta(days=1))
        person = newcomer(people, created)
        request = "שכירות" if rng.random() < 0.6 else "קנייה"
        kind = rng.choice(["דירה"] * 8 + ["בית", "משרד"])
        rooms = str(rng.randint(1, 5))
        amount = price_for("תל אביב", rooms, "השכרה" if request == "שכירות" else "מכירה", "דירה")
        step = 500 if request == "שכירות" else 50_000
        budget = round(amount * rng.uniform(0.85, 1.2) / step) * step
        by_form = i % 4 == 3
        out.append(
            {
                **builtin_fields(created, agent(), edited=not by_form),
                "contact_id": person["id"],
                "status": "ליד חדש" if by_form else rng.choice(RENTER_STATUSES),
                "request_type": request,
                "preferred_property_type": kind,
                "preferred_area": None if by_form else rng.choice(RENTER_AREAS),
                "preferred_rooms": rooms,
                "budget": budget,
                "source": "טופס" if by_form else rng.choice(RENTER_SOURCES[:3]),
            }
        )
    return out


def renter_matches(listings: list[Record], leads: list[Record], count: int) -> list[Record]:
    """Matches (BuyersRenters × PropertyBrokerage), made by hand on /Matches: a listing of the right deal and type."""
    kinds = {"דירה": ("דירה", "דירת גן", "פנטהאוז"), "בית": ("בית פרטי",), "משרד": ("משרד",)}
    out: list[Record] = []
    for lead in rng.sample(leads, len(leads)):
        deal = "השכרה" if lead["request_type"] == "שכירות" else "מכירה"
        kind = kinds[lead["preferred_property_type"]]
        fits = [p for p in listings if p["listing_type"] == deal and p["property_type"] in kind]
        if not fits or len(out) == count:
            continue
        p = min(fits, key=lambda p: abs(p["price"] - lead["budget"]))
        score = max(40, 95 - int(abs(p["price"] - lead["budget"]) * 100 / lead["budget"]))
        created = when(later_than(p, lead), TODAY - dt.timedelta(hours=12))
        out.append(match(p, lead, score, rng.choice(MATCH_STATUSES), created))
    return out


def inventory(owners: list[Record], count: int) -> list[Record]:
    """PropertyInventory: flats the office knows of and may list one day (a sale price estimate, no listing type)."""
    out = []
    for _ in range(count):
        owner = rng.choice(owners)
        city, hood, street = place("תל אביב" if rng.random() < 0.7 else None)
        commercial = rng.random() < 0.15
        kind = "משרד" if commercial else rng.choice(["דירה"] * 6 + ["בית פרטי"])
        rooms = str(rng.randint(2, 6))
        total = rng.randint(2, 12)
        who = agent()
        out.append(
            {
                **builtin_fields(when(later_than(owner), TODAY - dt.timedelta(days=2)), who),
                "contact_id": owner["id"],
                "handler": who[0],
                "category": "מסחרי" if commercial else "פרטי",
                "property_type": kind,
                "price": price_for(city, rooms, "מכירה", kind),
                "city": city,
                "area": BROKERAGE_AREA.get(hood, ""),
                "street": street,
                "building_number": str(rng.randint(1, 90)),
                "apartment_number": "" if kind == "בית פרטי" else str(rng.randint(1, 30)),
                "rooms": rooms,
                "parking": rng.random() < 0.5,
                "air_conditioning": rng.random() < 0.8,
                "storage": rng.random() < 0.3,
                "image_urls": [],
                "source": "מאגר",
                "floor": "" if kind == "בית פרטי" else str(rng.randint(0, total)),
                "total_floors": "" if kind == "בית פרטי" else str(total),
            }
        )
    return out
