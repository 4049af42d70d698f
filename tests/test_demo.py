"""The demo office (seeds/): every page of the office's frontend shows records with its default filters, every
reference resolves, every date parses, and the dashboards' time windows find something because loading
dates the demo around "now".

What each page lists and filters by default is REPORT.md §1 (/work/research/entities/REPORT.md, from the
frontend's pages under tests/fixtures/base44-export/src/pages), encoded below as data.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import phonenumbers

from backend.services.registry import MODELLED
from seeds import load_demo
from seeds.generate_demo import OUT, build

APP = "/api/apps/app123/entities"
NOW = dt.datetime(2031, 3, 10, 7, 15, 42)  # any moment: loading dates the demo around it
Rule = list[dict[str, set[str]]]  # any of these dicts; a dict: every field's value is one of its set

# REPORT.md §1: the entities each page reads; each must hold records or the page (or a part of it) is empty.
PAGES: dict[str, list[str]] = {
    "/Dashboard": ["PropertyBrokerage", "BuyersBrokerage", "Meeting", "ServiceCall", "MatchesBrokerage", "Contact"],
    "/Properties, /PropertyInventory": ["PropertyInventory", "Contact"],
    "/Clients": ["BuyersBrokerage", "Contact"],
    "/ServiceCalls": ["ServiceCall", "Contact", "PropertyOwner", "Supplier", "Tenant"],
    "/Suppliers": ["Supplier"],
    "/Meetings": ["Meeting", "Contact", "PropertyBrokerage", "BuyersBrokerage"],
    "/Tasks": ["Task", "Contact", "Property", "Client"],
    "/Contacts": ["Contact"],
    "/PropertyBrokerage": ["PropertyBrokerage", "Contact"],
    "/BuyersRenters": ["BuyersRenters", "Contact"],
    "/Matches": ["Matches", "PropertyBrokerage", "BuyersRenters", "Contact"],
    "/MatchesBrokerage": ["MatchesBrokerage", "PropertyBrokerage", "BuyersBrokerage", "Contact"],
    "/BuyersBrokerage": ["BuyersBrokerage", "Contact", "PropertyBrokerage"],
    "/PropertyOwners, /PropertyOwnerManagement": ["PropertyOwner", "Contact"],
    "/Tenants": ["Tenant", "Contact", "PropertyOwner"],
    "/Projects": ["Project"],
    "/ProjectLeads": ["ProjectLead", "Contact", "Project"],
    "/MarketingLeads": ["MarketingLead"],
    "/BrokerageDashboard": ["PropertyBrokerage", "BuyersBrokerage", "MatchesBrokerage", "Contact"],
    "/PropertyManagementDashboard": ["PropertyOwner", "Tenant", "ServiceCall", "Supplier", "Contact"],
    "/ProjectsDashboard": ["Project", "ProjectLead", "MarketingLead", "Contact"],
}
# Exported by api/entities.js but read by no page (MarketingLog is only written, by WhatsAppSender).
UNREAD = ["WorkOrder", "DoNotCallList", "Campaign", "CampaignMetrics", "AccountingDocuments", "MarketingLog"]

HOMES, OFFICES = {"דירה", "בית פרטי"}, {"משרד"}
BUY, RENT = {"קנייה"}, {"השכרה"}
# REPORT.md §1, "shows nothing until": (view, entity, rule) — each view must show at least one record.
VIEWS: list[tuple[str, str, Rule]] = [
    ("/PropertyBrokerage, tab מכירה", "PropertyBrokerage", [{"category": {"פרטי"}, "listing_type": {"מכירה"}}]),
    ("/PropertyBrokerage, tab השכרה", "PropertyBrokerage", [{"category": {"פרטי"}, "listing_type": {"השכרה"}}]),
    ("?category=משרדים, tab מכירה", "PropertyBrokerage", [{"category": {"מסחרי"}, "listing_type": {"מכירה"}}]),
    ("?category=משרדים, tab השכרה", "PropertyBrokerage", [{"category": {"מסחרי"}, "listing_type": {"השכרה"}}]),
    ("/BuyersBrokerage, tab קנייה", "BuyersBrokerage", [{"desired_property_type": HOMES, "request_category": BUY}]),
    ("/BuyersBrokerage, tab השכרה", "BuyersBrokerage", [{"desired_property_type": HOMES, "request_category": RENT}]),
    ("?category=משרדים, tab קנייה", "BuyersBrokerage", [{"desired_property_type": OFFICES, "request_category": BUY}]),
    ("?category=משרדים, tab השכרה", "BuyersBrokerage", [{"desired_property_type": OFFICES, "request_category": RENT}]),
    ("/ProjectsDashboard: פרויקטים פעילים", "Project", [{"status": {"פתוח לדיירים"}}]),
    ("/PropertyManagementDashboard: קריאות פעילות", "ServiceCall", [{"status": {"קריאה חדשה", "בטיפול של ספק"}}]),
    ("/MarketingLeads: an opted-out (dimmed) row", "MarketingLead", [{"opt_out_whatsapp": {"כן"}}]),
]
# MatchesBrokerage.jsx:30-51 per ?category: (property rule, buyer rule); the page also needs both records and
# property.listing_type === buyer.request_category. BrokerageDashboard counts the same without that last check.
MATCH_VIEWS: dict[str, tuple[Rule, Rule]] = {
    "מגורים": ([{"category": {"פרטי"}, "property_type": HOMES}], [{"desired_property_type": HOMES}]),
    "משרדים": ([{"category": {"מסחרי"}}, {"property_type": OFFICES}], [{"desired_property_type": OFFICES}]),
}
# The seed's own entities keep their wider vocabulary (ENTITIES.md: half rooms, more areas and lead types);
# everything else holds only values its forms offer (the declarations' `examples`).
OWN_VOCABULARY = {"Property", "Client", "MarketingLead"}
MEETING_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")  # the form's datetime-local value
PHONES = ("phone", "phone_number", "contact_phone")


def fits(record: dict[str, Any], rule: Rule) -> bool:
    return any(all(record.get(field) in allowed for field, allowed in part.items()) for part in rule)


def stamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.removesuffix("Z"))


def listing(client: Any, headers: dict[str, str], entity: str, sort: str = "-created_date", limit: int = 0) -> Any:
    """What the page's `Entity.list(sort, limit)` gets (SDK 0.1.2 sends no limit when none is given)."""
    params: dict[str, Any] = {"sort": sort} | ({"limit": limit} if limit else {})
    response = client.get(f"{APP}/{entity}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def everything(client: Any, headers: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    return {entity: listing(client, headers, entity) for entity in MODELLED}


def test_files_are_what_the_generator_writes() -> None:
    """The committed demo is the generator's output, one file per entity of the office's frontend."""
    data = build()
    assert sorted(p.stem for p in OUT.glob("*.json")) == sorted(data)
    assert set(data) == set(MODELLED) - {"Match"}  # Match is the server's own matching, made on load
    for entity, rows in data.items():
        text = json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
        assert (OUT / f"{entity}.json").read_text(encoding="utf-8") == text, entity


def test_every_record_loads_with_its_references_dates_phones_and_form_values(client: Any, admin: Any) -> None:
    answer = load_demo.run(now=NOW).splitlines()
    assert answer[0] == "Demo data loaded:" and len(answer) == len(MODELLED) + 1, answer
    assert all(line.endswith(", 0 rejected") for line in answer[1:-1]), answer
    records = everything(client, admin["headers"])
    for entity in {e for names in PAGES.values() for e in names} | set(UNREAD) | {"Match"}:
        assert records[entity], f"{entity} is empty"
    for entity in set(MODELLED) - {"Match"}:  # nothing rejected on the way in
        assert len(records[entity]) == len(json.loads((OUT / f"{entity}.json").read_bytes())), entity
    ids = {entity: {r["id"] for r in rows} for entity, rows in records.items()}
    for entity, spec in MODELLED.items():
        for record in records[entity]:
            assert stamp(record["created_date"]) <= stamp(record["updated_date"]) <= NOW, (entity, record)
            for name, field in spec.fields.items():
                value = record.get(name)
                if value is None or value == "":
                    continue
                if field.ref is not None:
                    assert value in ids[field.ref], f"{entity}.{name} = {value} is no {field.ref}"
                elif field.kind == "date":
                    assert dt.date.fromisoformat(value).isoformat() == value, (entity, name, value)
                elif field.kind == "datetime":
                    stamp(value)
                    assert entity != "Meeting" or MEETING_TIME.match(value), (entity, name, value)
                elif field.examples and entity not in OWN_VOCABULARY:
                    assert value in field.examples, f"{entity}.{name} = {value!r}: not a value its form offers"
            for name in PHONES:
                if record.get(name):
                    number = phonenumbers.parse(record[name], "IL")
                    assert phonenumbers.is_valid_number(number), (entity, name, record[name])
    assert all(isinstance(c["full_name"], str) and c["full_name"] for c in records["Contact"])  # forms call .trim()


def test_default_filters_and_dashboards_show_records(client: Any, admin: Any) -> None:
    load_demo.run(now=NOW)
    records = everything(client, admin["headers"])
    for view, entity, rule in VIEWS:
        assert any(fits(r, rule) for r in records[entity]), f"{view} shows nothing"
    listings = {p["id"]: p for p in records["PropertyBrokerage"]}
    buyers = {b["id"]: b for b in records["BuyersBrokerage"]}
    for category, (for_property, for_buyer) in MATCH_VIEWS.items():
        counted = [
            (listings[m["property_id"]], buyers[m["buyer_id"]])
            for m in records["MatchesBrokerage"]
            if fits(listings[m["property_id"]], for_property) and fits(buyers[m["buyer_id"]], for_buyer)
        ]
        shown = [(p, b) for p, b in counted if p["listing_type"] == b["request_category"]]
        assert shown, f"/MatchesBrokerage?category={category} shows nothing"
        assert any(p["listing_type"] == "השכרה" for p, _ in shown)
    pairs = [(listings[m["property_id"]], buyers[m["buyer_id"]], m) for m in records["MatchesBrokerage"]]
    # a sale matched with a buyer: stored and counted on BrokerageDashboard, never shown on /MatchesBrokerage
    assert any(p["listing_type"] == "מכירה" and b["request_category"] == "קנייה" for p, b, _ in pairs)
    assert any(m["status"] == "הותאם" and isinstance(m["match_score"], int) for _, _, m in pairs)
    owners = {c["id"] for c in records["Contact"]}
    assert any(o["contact_id"] in owners for o in records["PropertyOwner"])  # PropertyOwnerManagement groups by it
    # AlertsPanel: matches of the last 24 h among the five newest, buyers "קונה חדש" waiting 4 h or more
    newest = listing(client, admin["headers"], "MatchesBrokerage", limit=5)
    assert any(stamp(m["created_date"]) >= NOW - dt.timedelta(hours=24) for m in newest)
    waiting = [b for b in buyers.values() if b["status"] == "קונה חדש"]
    assert any(stamp(b["created_date"]) <= NOW - dt.timedelta(hours=4) for b in waiting)
    assert any(stamp(b["created_date"]) > NOW - dt.timedelta(hours=4) for b in waiting)  # one not yet late
    # Dashboard: "פגישות השבוע" among Meeting.list("-start_date", 10), open calls among the ten newest
    last = listing(client, admin["headers"], "Meeting", sort="-start_date", limit=10)
    assert any(NOW <= stamp(m["start_date"]) <= NOW + dt.timedelta(days=7) for m in last)
    calls = listing(client, admin["headers"], "ServiceCall", limit=10)
    assert any(c["status"] != "קריאה טופלה" for c in calls)


def test_loading_dates_the_demo_around_now() -> None:
    """Ages are kept to the second, calendar values move by whole days and keep their hour."""
    records = [{"created_date": "2026-11-24T10:00:00.000000", "updated_date": "2026-11-24T15:30:00.250000",
                "start_date": "2026-11-26T10:30", "end_date": None, "reminder_date": ""}]  # fmt: skip
    now = load_demo.TODAY + dt.timedelta(days=400, hours=-3)
    (meeting,) = load_demo.moved("Meeting", records, now)
    assert (meeting["created_date"], meeting["updated_date"]) == (
        "2027-12-29T07:00:00.000000",
        "2027-12-29T12:30:00.250000",
    )
    assert (meeting["start_date"], meeting["end_date"], meeting["reminder_date"]) == ("2027-12-31T10:30", None, "")
    (log,) = load_demo.moved("MarketingLog", [{**records[0], "sent_date": "2026-11-23T15:10:01.516Z"}], now)
    assert log["sent_date"] == "2027-12-28T12:10:01.516Z"
    (task,) = load_demo.moved("Task", [{**records[0], "due_date": "2026-12-01"}], now)
    assert task["due_date"] == "2028-01-05"
    assert records[0]["start_date"] == "2026-11-26T10:30"  # the files' records are not changed
