"""Property management, new-build leads and the marketing back office: PropertyOwner, Tenant, ProjectLead,
MarketingLog, and the five entities no page of the frontend uses (WorkOrder, DoNotCallList, Campaign,
CampaignMetrics, AccountingDocuments).

The managed properties are the seed's flats for rent (the office lets them and manages them for their
owners), copied without drawing from the random source so that the service calls written before keep their
values; their state (agreements, tenants, fees) is drawn afterwards, like everything else here.
"""

from __future__ import annotations

import datetime as dt
import json

from seeds.demo_base import (
    TODAY,
    Record,
    agent,
    builtin_fields,
    rng,
    stamp,
    when,
)
from seeds.demo_brokerage import copied, form_rooms, later_than, newcomer
from seeds.demo_vocab import (
    AGENTS,
    BROKERAGE_AREA,
    BROKERAGE_SOURCES,
    CAMPAIGNS,
    MESSAGE,
    OWNER_SOURCES,
    OWNER_STATUSES,
    PROJECT_LEAD_STATUSES,
    TENANT_PROSPECT_STATUSES,
    WORK_ORDERS,
)

LET = "נחתם הסכם שכירות"


def managed_from(p: Record) -> Record:
    """The PropertyOwner record of a flat for rent: its owner, address and rooms; its state is set by `manage`."""
    return {
        **copied(p, "PropertyOwner"),
        "contact_id": p["contact_id"],
        "handler": p["handler"],
        "source": OWNER_SOURCES[1] if p["source"] == "הפניה" else OWNER_SOURCES[0],
        "status": "נכס חדש",
        "property_type": "משרד" if p["category"] == "מסחרי" else p["property_type"],
        "management_fee": None,
        "lease_start_date": None,
        "lease_end_date": None,
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
    }


def lease_from(after: dt.datetime) -> tuple[dt.date, dt.date]:
    """A lease that began between `after` and a month ago, for one or two years."""
    start = when(max(after + dt.timedelta(days=10), TODAY - dt.timedelta(days=300)), TODAY - dt.timedelta(days=30))
    start = start.replace(day=1)
    years = rng.choice([1, 1, 2])
    return start.date(), start.date().replace(year=start.year + years) - dt.timedelta(days=1)


def manage(managed: list[Record], rent: dict[str, int], people: list[Record], prospects: int) -> list[Record]:
    """Sets each managed property's agreement and fee; two thirds are let, each with its tenant, and a few
    people are interested in the ones still free. Returns the tenants."""
    states = [LET] * (len(managed) * 2 // 3) + OWNER_STATUSES[::-1]
    tenants = []
    for owner, state in zip(rng.sample(managed, len(managed)), states, strict=False):
        signed = state in (LET, "נחתם הסכם ניהול", "נכס פורסם")
        owner["status"] = state
        share = rng.choice([0.05, 0.06, 0.08])  # of the monthly rent
        owner["management_fee"] = float(round(rent[owner["id"]] * share / 10) * 10) if signed else None
        if state != LET:
            continue
        start, end = lease_from(later_than(owner))
        owner["lease_start_date"], owner["lease_end_date"] = start.isoformat(), end.isoformat()
        moved_in = dt.datetime.combine(start, dt.time(9)) - dt.timedelta(days=rng.randint(7, 25))
        moved_in = max(moved_in, later_than(owner) + dt.timedelta(hours=2))
        tenants.append(tenant(newcomer(people, moved_in), owner, moved_in, LET, float(rent[owner["id"]]), (start, end)))
    free = [o for o in managed if o["status"] != LET]
    for _ in range(prospects):
        owner = rng.choice(free)
        created = when(max(later_than(owner), TODAY - dt.timedelta(days=25)), TODAY - dt.timedelta(hours=6))
        status = rng.choice(TENANT_PROSPECT_STATUSES)
        tenants.append(tenant(newcomer(people, created), owner, created, status, float(rent[owner["id"]]), None))
    return tenants


def tenant(
    person: Record, home: Record, created: dt.datetime, status: str, rent: float, lease: tuple[dt.date, dt.date] | None
) -> Record:
    person["address"] = f"{home['street']} {home['building_number']}, {home['city']}"
    person["city"] = home["city"]
    return {
        **builtin_fields(created, agent()),
        "contact_id": person["id"],
        "handler": home["handler"],
        "current_property_id": home["id"],
        "source": rng.choice(BROKERAGE_SOURCES),
        "status": status,
        "monthly_rent": rent,
        "lease_start_date": lease[0].isoformat() if lease else None,
        "lease_end_date": lease[1].isoformat() if lease else None,
        "city": home["city"],
    }


def calls_from_tenants(calls: list[Record], tenants: list[Record]) -> None:
    """A call about a let flat made after the lease began came from the tenant (the form marks them "(דייר)")."""
    living = {t["current_property_id"]: t for t in tenants if t["lease_start_date"]}
    for call in calls:
        resident = living.get(call["property_id"])
        if resident and call["created_date"][:10] >= resident["lease_start_date"]:
            call["contact_id"] = resident["contact_id"]


def project_leads(people: list[Record], projects: list[Record], count: int) -> list[Record]:
    """ProjectLead: mostly for the project still selling; the sold-out one's leads all closed a deal."""
    out = []
    for i in range(count):
        project = projects[1] if i % 5 == 4 else projects[0]
        sold_out = project["status"] != "פתוח לדיירים"
        created = when(later_than(project) + dt.timedelta(days=20), TODAY - dt.timedelta(days=1))
        closed = sold_out or i % 7 == 3
        status = "סגר עסקה" if closed else rng.choice(PROJECT_LEAD_STATUSES)
        out.append(
            {
                **builtin_fields(created, agent()),
                "contact_id": newcomer(people, created)["id"],
                "interested_project_id": project["id"],
                "status": status,
                "source": rng.choice(BROKERAGE_SOURCES),
                "handler": project["handler"],
                "total_deal_price": float(rng.randint(190, 340) * 10_000) if closed else None,
            }
        )
    return out


def marketing_logs(leads: list[Record]) -> list[Record]:
    """What WhatsAppSender wrote: a sent message for every lead contacted, a failed one for some others."""
    out = []
    for i, lead in enumerate(leads):
        failed = lead["last_contacted"] is None and lead["opt_out_whatsapp"] != "כן" and i % 9 == 0
        if lead["last_contacted"] is None and not failed:
            continue
        if failed:
            day = dt.date.fromisoformat(lead["import_date"]) + dt.timedelta(days=rng.randint(1, 20))
        else:
            day = dt.date.fromisoformat(lead["last_contacted"])
        sent = dt.datetime.combine(day, dt.time(rng.randint(6, 15), rng.randint(0, 59), rng.randint(0, 59)))
        sent += dt.timedelta(milliseconds=rng.randint(0, 999))
        text = MESSAGE.format(first_name=lead["first_name"], neighborhood=lead["neighborhood"] or "האזור")
        answer = {"error": "Simulation failed"} if failed else {"message_id": f"fake_{int(sent.timestamp() * 1000)}"}
        out.append(
            {
                **builtin_fields(sent, AGENTS[0], edited=False),
                "lead_id": lead["id"],
                "phone_number": lead["phone_number"],
                "message_content": text,
                "status": "נכשל" if failed else "נשלח",
                "sent_date": stamp(sent)[:23] + "Z",
                "response_data": json.dumps(answer, separators=(",", ":")),
            }
        )
    return [log for log in out if log["created_date"] < stamp(TODAY)]


def work_orders(managed: list[Record], sups: list[Record]) -> list[Record]:
    out = []
    for title, text, trade in WORK_ORDERS:
        home = rng.choice(managed)
        supplier = rng.choice([s for s in sups if s["specialization"] == trade])
        created = when(TODAY - dt.timedelta(days=50), TODAY - dt.timedelta(days=2))
        done = created < TODAY - dt.timedelta(days=20)
        out.append(
            {
                **builtin_fields(created, agent()),
                "title": title,
                "description": f"{text}. {home['street']} {home['building_number']}, {home['city']}",
                "status": "הושלמה" if done else rng.choice(["פתוחה", "בביצוע"]),
                "contact_id": home["contact_id"],
                "supplier_id": supplier["id"],
                "cost": rng.randint(4, 60) * 100,  # undeclared, as in the owner's rewrite: kept in extra
            }
        )
    return out


def do_not_call(leads: list[Record]) -> list[Record]:
    """The numbers of the leads who asked for no more messages."""
    out = []
    for lead in leads:
        if lead["opt_out_whatsapp"] == "כן":
            asked = dt.datetime.fromisoformat(lead["created_date"]) + dt.timedelta(days=rng.randint(2, 30))
            out.append(
                {
                    **builtin_fields(min(asked, TODAY - dt.timedelta(days=1)), AGENTS[0], edited=False),
                    "phone_number": lead["phone_number"],
                    "reason": rng.choice(["ביקש לא לקבל דיוור", "השיב 'הסר' בוואטסאפ", "לא מעוניין, ביקש להסיר"]),
                    "notes": f"{lead['first_name']} {lead['last_name']} — מרשימת הדיוור",
                }
            )
    return out


def campaigns(leads: list[Record]) -> tuple[list[Record], list[Record]]:
    """A campaign per import batch of marketing leads, and its counters (CampaignMetrics, undeclared numbers)."""
    batches = sorted({lead["import_date"] for lead in leads})
    out, metrics = [], []
    for (name, text), batch in zip(CAMPAIGNS, batches, strict=True):
        start = dt.date.fromisoformat(batch) - dt.timedelta(days=14)
        end = start + dt.timedelta(days=45)
        created = dt.datetime.combine(start - dt.timedelta(days=3), dt.time(8, 30))
        campaign = {
            **builtin_fields(created, AGENTS[0], edited=False),
            "name": name,
            "description": text,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "status": "פעיל" if end >= TODAY.date() else "הסתיים",
        }
        sent = sum(1 for lead in leads if lead["import_date"] == batch)
        delivered = sent - rng.randint(1, 4)
        opened = int(delivered * rng.uniform(0.6, 0.85))
        metrics.append(
            {
                **builtin_fields(min(TODAY - dt.timedelta(hours=1), created + dt.timedelta(days=50)), AGENTS[0], False),
                "campaign_id": campaign["id"],
                "sent_count": sent,
                "delivered_count": delivered,
                "opened_count": opened,
                "clicked_count": int(opened * rng.uniform(0.1, 0.3)),
                "conversion_count": rng.randint(1, 5),
                "cost": float(rng.randint(15, 60) * 100),
            }
        )
        out.append(campaign)
    return out, metrics


def accounting(managed: list[Record], tenants: list[Record], deals: list[Record]) -> list[Record]:
    """Invoices the office issued: management fees to owners, a month's rent to new tenants, brokerage fees."""
    items: list[tuple[dt.datetime, str, str, int]] = []  # (when, contact, what, amount)
    for owner in [o for o in managed if o["management_fee"]][:3]:
        day = when(TODAY - dt.timedelta(days=40), TODAY - dt.timedelta(days=3))
        where = f"{owner['street']} {owner['building_number']}, {owner['city']}"
        items.append((day, owner["contact_id"], f"דמי ניהול — {where}", int(owner["management_fee"])))
    for resident in [t for t in tenants if t["lease_start_date"]][:2]:
        day = dt.datetime.combine(dt.date.fromisoformat(resident["lease_start_date"]), dt.time(10))
        items.append((day, resident["contact_id"], "עמלת תיווך שכירות — חודש שכירות", int(resident["monthly_rent"])))
    for deal in deals[:2]:
        day = when(later_than(deal), TODAY - dt.timedelta(days=1))
        items.append((day, deal["contact_id"], "עמלת תיווך — 2% ממחיר העסקה", int(deal["budget"] * 0.02)))
    out = []
    for number, (day, person, what, amount) in enumerate(sorted(items), start=1041):
        out.append(
            {
                **builtin_fields(day, AGENTS[0], edited=False),
                "document_type": "חשבונית מס קבלה" if amount < 5_000 else "חשבונית מס",
                "document_number": str(number),
                "date": day.date().isoformat(),
                "contact_id": person,
                "file_url": None,
                "notes": what,
                "amount": amount,  # undeclared, as in the owner's rewrite: kept in extra
            }
        )
    return out
