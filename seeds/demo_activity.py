"""What the office does with its stock: meetings, tasks, service calls, and imported campaign leads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from seeds.demo_base import (
    TODAY,
    Record,
    agent,
    at,
    builtin_fields,
    mobile,
    place,
    price_for,
    rng,
    stamp,
    when,
)
from seeds.demo_vocab import (
    AGENTS,
    FIRST_NAMES,
    ISSUES,
    LAST_NAMES,
    LEAD_SOURCES,
    LEAD_TYPES,
    OFFICE_ADDRESS,
    PRIORITIES,
    SERIOUSNESS,
    TASKS_CLIENT,
    TASKS_OFFICE,
    TASKS_PROPERTY,
)


def meetings(pairs: list[tuple[Record, Record]], props: list[Record], count: int) -> list[Record]:
    """`pairs` are (BuyersBrokerage, PropertyBrokerage) — what the Meetings form links — and `props` the listings."""
    out = []
    for i in range(count):
        if i % 5 == 4:  # an owner meeting about signing the listing, no buyer
            prop, client = rng.choice(props), None
        else:
            client, prop = pairs[i % len(pairs)]
        latest = dt.datetime.fromisoformat(max(prop["created_date"], client["created_date"] if client else ""))
        day = max(dt.date(2026, 11, 2), latest.date() + dt.timedelta(days=2))
        day += dt.timedelta(days=rng.randint(0, max(0, (dt.date(2026, 12, 30) - day).days)))
        while day.weekday() in (4, 5):
            day += dt.timedelta(days=1)
        start = dt.datetime.combine(day, dt.time(rng.randint(9, 18), rng.choice([0, 30])))
        kind = "פרונטאלי" if client is None else rng.choice(["תצוגת נכס", "תצוגת נכס", "תצוגת נכס", "פרונטאלי", "זום"])
        location = {
            "תצוגת נכס": f"{prop['street']} {prop['building_number']}, {prop['city']}",
            "פרונטאלי": OFFICE_ADDRESS,
            "זום": f"https://zoom.us/j/{rng.randint(10**9, 10**10 - 1)}",
        }[kind]
        if start > TODAY:
            status = rng.choice(["נקבעה", "נקבעה", "נקבעה", "נדחתה"])
        else:
            status = rng.choice(["התקיימה", "התקיימה", "התקיימה", "בוטלה"])
        created = when(latest, min(TODAY, start - dt.timedelta(hours=20)))
        fmt = "%Y-%m-%dT%H:%M"
        out.append(
            {
                **builtin_fields(created, agent()),
                "contact_id": client["contact_id"] if client else prop["contact_id"],
                "property_id": prop["id"],
                "client_id": client["id"] if client else None,
                "handler": (client or prop)["handler"],
                "start_date": start.strftime(fmt),
                "end_date": (start + dt.timedelta(minutes=rng.choice([30, 45, 60]))).strftime(fmt),
                "reminder_date": (start - dt.timedelta(hours=rng.choice([1, 2, 24]))).strftime(fmt),
                "location": location,
                "meeting_type": kind,
                "status": status,
                "notes": rng.choice(["", "להביא הסכם תיווך", "הלקוח מגיע עם בת הזוג", "לבדוק חניה", "לשלוח מיקום"]),
            }
        )
    return out


def into_the_coming_week(out: list[Record]) -> None:
    """The Dashboard counts "this week's meetings" among the ten that start last, so every booked meeting falls in
    the coming days: each keeps its hour and moves to one of the next working days (Sunday-Thursday)."""
    days = [TODAY.date() + dt.timedelta(days=n) for n in range(1, 7)]
    days = [day for day in days if day.weekday() not in (4, 5)]
    coming = sorted((m for m in out if m["start_date"] > at(TODAY)), key=lambda m: str(m["start_date"]))
    for k, meeting in enumerate(coming):
        start = dt.datetime.fromisoformat(meeting["start_date"])
        delta = dt.datetime.combine(days[k * len(days) // len(coming)], start.time()) - start
        for key in ("start_date", "end_date", "reminder_date"):
            meeting[key] = at(dt.datetime.fromisoformat(meeting[key]) + delta)


def tasks(props: list[Record], clients: list[Record], names: dict[str, str], count: int) -> list[Record]:
    out = []
    for i in range(count):
        links: dict[str, Any] = {"contact_id": None, "property_id": None, "client_id": None}
        kind = i % 3
        if kind == 0:
            prop = rng.choice(props)
            title, text = (s.format(street=prop["street"]) for s in rng.choice(TASKS_PROPERTY))
            links |= {"contact_id": prop["contact_id"], "property_id": prop["id"]}
            after = prop["created_date"]
        elif kind == 1:
            client = rng.choice(clients)
            name = names[client["contact_id"]]
            title, text = (s.format(name=name, area=client["area"] or client["city"]) for s in rng.choice(TASKS_CLIENT))
            links |= {"contact_id": client["contact_id"], "client_id": client["id"]}
            after = client["created_date"]
        else:
            title, text = rng.choice(TASKS_OFFICE)
            after = stamp(TODAY - dt.timedelta(days=45))
        created = when(dt.datetime.fromisoformat(after), TODAY - dt.timedelta(days=1))
        due = max(dt.date(2026, 11, 10), created.date() + dt.timedelta(days=2)) + dt.timedelta(days=rng.randint(0, 40))
        done = due < TODAY.date()
        status = rng.choice(["הושלמה", "הושלמה", "בביצוע"] if done else ["חדשה", "חדשה", "בביצוע", "נדחתה"])
        out.append(
            {
                **builtin_fields(created, agent()),
                "title": title,
                "description": text,
                "assignee": agent()[0],
                "due_date": due.isoformat(),
                "priority": rng.choice(PRIORITIES),
                "status": status,
                **links,
            }
        )
    return out


def service_calls(rented: list[Record], sups: list[Record], count: int) -> list[Record]:
    """Calls about the managed properties (PropertyOwner, which the ServiceCalls form links)."""
    calls = []
    for _ in range(count):
        prop, supplier = rng.choice(rented), rng.choice(sups)
        calls.append(
            (when(max(dt.datetime.fromisoformat(prop["created_date"]), TODAY - dt.timedelta(days=90))), prop, supplier)
        )
    calls.sort(key=lambda call: call[0])
    # Oldest calls are done (one turned out irrelevant), recent ones are with a supplier, the newest are new.
    statuses = ["קריאה טופלה"] * (count // 2) + ["לא רלוונטית"] + ["בטיפול ספק"] * (count // 4)
    statuses += ["קריאה חדשה"] * (count - len(statuses))
    out = []
    for i, (created, prop, supplier) in enumerate(calls):
        status = statuses[i]
        handled = status in ("בטיפול ספק", "קריאה טופלה")
        work_day = (created + dt.timedelta(days=rng.randint(1, 6))).date()
        work = min(work_day, TODAY.date()).isoformat() if status == "קריאה טופלה" else work_day.isoformat()
        out.append(
            {
                **builtin_fields(created, agent()),
                "call_number": f"2026-{i + 41:04d}",  # numbered in the order the calls came in
                "contact_id": prop["contact_id"],
                "property_id": prop["id"],
                "supplier_id": supplier["id"],
                "handler": prop["handler"],
                "status": status,
                "description": rng.choice(ISSUES[supplier["specialization"]]),
                "urgency": rng.choice(PRIORITIES),
                "total_cost": float(rng.randint(3, 40) * 50) if status == "קריאה טופלה" else None,
                "work_date": work if handled else None,
                "notes": rng.choice(["", "השוכר בבית אחרי 16:00", "המפתח אצל השכן", "לשלוח חשבונית לבעלים"]),
            }
        )
    return out


def leads(linked: list[Record], count: int) -> list[Record]:
    """Campaign leads imported in three batches; the first `len(linked)` are people already in contacts."""
    batches = [dt.datetime(2026, 6, 14, 7), dt.datetime(2026, 9, 1, 8), dt.datetime(2026, 11, 2, 9)]
    out = []
    for i in range(count):
        contact = linked[i] if i < len(linked) else None
        if contact:
            first, last = contact["full_name"].split(" ", 1)
            phone = contact["phone"]
        else:
            (first, _), (last, _) = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            phone = mobile()
        imported = rng.choice(batches)
        created = imported + dt.timedelta(seconds=i * 2, milliseconds=rng.randint(0, 999))
        client_type = rng.choice(LEAD_TYPES)
        city, area, street = place()
        lo = rng.randint(2, 5)
        renter = client_type == "שוכר"
        amount = price_for(city, str(lo + 1), "השכרה" if renter else "מכירה", "דירה")
        contacted = imported.date() + dt.timedelta(days=rng.randint(1, 40))
        out.append(
            {
                **builtin_fields(created, AGENTS[0], edited=False),
                "phone_number": phone,
                "first_name": first,
                "last_name": last,
                "budget": f"{amount // (500 if renter else 50_000) * (500 if renter else 50_000):,}",
                "neighborhood": area,
                "street": street if rng.random() < 0.3 else "",
                "rooms_min": lo,
                "rooms_max": lo + rng.choice([0, 1, 1, 2]),
                "client_type": client_type,
                "seriousness": rng.choice(SERIOUSNESS),
                "additional_notes": rng.choice(
                    ["", "", "", "רוצה קומה גבוהה", "חייב חניה", "גמיש בשכונה", "לא לפני 10:00"]
                ),
                "opt_out_whatsapp": "כן" if i % 23 == 7 else "",
                "import_date": imported.date().isoformat(),
                "last_contacted": contacted.isoformat() if rng.random() < 0.5 and contacted < TODAY.date() else None,
                "source": rng.choice(LEAD_SOURCES),
                "contact_id": contact["id"] if contact else None,
            }
        )
    return out
