"""Writes the demo office (seeds/demo/<Entity>.json) — deterministic, so the files only change when this does.

    .venv/bin/python seeds/generate_demo.py

Each file is a JSON array of records exactly as the Base44 API returns them (built-in fields included,
newest first), so the loader and the Base44 importer read the same thing. The office: four agents in
Tel Aviv and the towns around it, filling every entity of its frontend (backend/entities/) with the values
its forms use; some buyers are written to fit a listed property so matching finds pairs; every `*_id`
points at a record of the entity its declaration's `x-ref` names; every phone is a valid Israeli mobile.

The seed's own entities are drawn first and in the same order as before the frontend's were added, so
their records keep their values; the frontend's entities are made from them or drawn afterwards. The
demo's clock stands at `demo_base.TODAY`; the loader moves every date to today's (seeds/load_demo.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import phonenumbers

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The script runs as a file, so the repo root goes on sys.path before the package imports.
from backend.models.entities import load_declarations  # noqa: E402
from seeds.demo_activity import into_the_coming_week, leads, meetings, service_calls, tasks  # noqa: E402
from seeds.demo_base import Record, reset, rng  # noqa: E402
from seeds.demo_brokerage import (  # noqa: E402
    brokerage_matches,
    buyer_from,
    extra_buyers,
    extra_listings,
    inventory,
    listing_from,
    renter_matches,
    renters,
)
from seeds.demo_management import (  # noqa: E402
    accounting,
    calls_from_tenants,
    campaigns,
    do_not_call,
    manage,
    managed_from,
    marketing_logs,
    project_leads,
    work_orders,
)
from seeds.demo_records import client_for, contacts, projects, properties, suppliers  # noqa: E402

OUT = ROOT / "seeds" / "demo"
PHONES = ("phone", "phone_number", "contact_phone")


def build() -> dict[str, list[Record]]:
    reset()
    people = contacts(60)
    owners, buyers = people[:30], people[30:]
    props = properties(owners, 40)
    open_homes = [p for p in props if p["status"] != "נסגר" and p["category"] == "פרטי"]
    targets = rng.sample(open_homes, 14)
    clients = [client_for(c, targets[i] if i < len(targets) else None) for i, c in enumerate(buyers)]
    pairs = [(clients[i], targets[i]) for i in range(len(targets))]
    names = {c["id"]: c["full_name"] for c in people}
    sups = suppliers()
    # The same stock as the frontend's forms hold it; copying draws nothing, so what follows keeps its values.
    wanted = {p["id"] for p in targets}
    listing_of = {p["id"]: listing_from(p, convert=p["id"] not in wanted) for p in props}
    buyer_of = {c["id"]: buyer_from(c) for c in clients}
    rented = [p for p in props if p["listing_type"] == "השכרה"]
    managed = [managed_from(p) for p in rented]
    listed_pairs = [(buyer_of[c["id"]], listing_of[p["id"]]) for c, p in pairs]
    meeting_list = meetings(listed_pairs, list(listing_of.values()), 25)
    task_list = tasks(props, clients, names, 30)
    calls = service_calls(managed, sups, 12)
    projs = projects()
    lead_list = leads(rng.sample(buyers, 20), 200)
    # From here on every draw is new: the frontend's entities beyond the copies.
    into_the_coming_week(meeting_list)
    listings = [*listing_of.values(), *extra_listings(people, owners)]
    brokerage_buyers = [*buyer_of.values(), *extra_buyers(people, listings)]
    rents = {m["id"]: p["price"] for m, p in zip(managed, rented, strict=True)}
    tenants = manage(managed, rents, people, 5)
    calls_from_tenants(calls, tenants)
    renter_list = renters(people, 20)
    campaign_list, metrics = campaigns(lead_list)
    closed = [b for b in brokerage_buyers if b["status"] == "נחתם הסכם תיווך" and b["request_category"] == "קנייה"]
    data = {
        "Contact": people,
        "Property": props,
        "Client": clients,
        "Meeting": meeting_list,
        "Task": task_list,
        "ServiceCall": calls,
        "Supplier": sups,
        "Project": projs,
        "MarketingLead": lead_list,
        "PropertyBrokerage": listings,
        "BuyersBrokerage": brokerage_buyers,
        "MatchesBrokerage": brokerage_matches(listed_pairs, listings, brokerage_buyers),
        "BuyersRenters": renter_list,
        "Matches": renter_matches(listings, renter_list, 10),
        "PropertyInventory": inventory(owners, 20),
        "PropertyOwner": managed,
        "Tenant": tenants,
        "ProjectLead": project_leads(people, projs, 20),
        "MarketingLog": marketing_logs(lead_list),
        "WorkOrder": work_orders(managed, sups),
        "DoNotCallList": do_not_call(lead_list),
        "Campaign": campaign_list,
        "CampaignMetrics": metrics,
        "AccountingDocuments": accounting(managed, tenants, closed),
    }
    return {entity: sorted(rows, key=lambda r: r["created_date"], reverse=True) for entity, rows in data.items()}


def check(data: dict[str, list[Record]]) -> int:
    """Every reference resolves to the entity its declaration names, every phone is valid, every id is unique;
    returns how many client/property pairs pass the server's matching hard filters."""
    decls = load_declarations()
    ids = {entity: {r["id"] for r in rows} for entity, rows in data.items()}
    assert sum(len(v) for v in ids.values()) == len(set().union(*ids.values())), "an id is used twice"
    for entity, rows in data.items():
        refs = {name: spec.ref for name, spec in decls[entity].fields.items() if spec.ref}
        for row in rows:
            assert len(row["id"]) == 24 and row["created_date"] <= row["updated_date"], row
            for field, target in refs.items():
                assert row.get(field) is None or row[field] in ids[target], (entity, field, row)
            for field in PHONES:
                if row.get(field):
                    assert phonenumbers.is_valid_number(phonenumbers.parse(row[field], "IL")), row[field]
    deal = {"קנייה": "מכירה", "השכרה": "השכרה"}
    return sum(
        1
        for c in data["Client"]
        for p in data["Property"]
        if c["status"] != "עסקה נסגרה" and p["status"] != "נסגר" and deal[c["request_category"]] == p["listing_type"]
        if c["city"] == p["city"] and c["property_type"] == p["property_type"] and p["price"] <= c["budget"] * 1.1
    )


def main() -> None:
    data = build()
    matches = check(data)
    OUT.mkdir(parents=True, exist_ok=True)
    for entity, rows in data.items():
        text = json.dumps(rows, ensure_ascii=False, indent=1)
        (OUT / f"{entity}.json").write_text(text + "\n", encoding="utf-8")
        print(f"{entity:19} {len(rows):4} records")
    print(f"{matches} client/property pairs pass the matching rules' hard filters")


if __name__ == "__main__":
    main()
