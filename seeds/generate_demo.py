"""Writes the demo office (seeds/demo/<Entity>.json) — deterministic, so the files only change when this does.

    .venv/bin/python seeds/generate_demo.py

Each file is a JSON array of records exactly as the Base44 API returns them (built-in fields included,
newest first), so the loader and the Base44 importer read the same thing. The office: four agents in
Tel Aviv and the towns around it; some clients are written to fit a listed property so matching finds
pairs; every `*_id` points at a record in these files; every phone is a valid Israeli mobile.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import phonenumbers

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The script runs as a file, so the repo root goes on sys.path before the package imports.
from seeds.demo_activity import leads, meetings, service_calls, tasks  # noqa: E402
from seeds.demo_base import Record, reset, rng  # noqa: E402
from seeds.demo_records import client_for, contacts, projects, properties, suppliers  # noqa: E402

OUT = ROOT / "seeds" / "demo"


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
    data = {
        "Contact": people,
        "Property": props,
        "Client": clients,
        "Meeting": meetings(pairs, props, 25),
        "Task": tasks(props, clients, names, 30),
        "ServiceCall": service_calls(props, sups, 12),
        "Supplier": sups,
        "Project": projects(),
        "MarketingLead": leads(rng.sample(buyers, 20), 200),
    }
    return {entity: sorted(rows, key=lambda r: r["created_date"], reverse=True) for entity, rows in data.items()}


def check(data: dict[str, list[Record]]) -> int:
    """Every reference resolves and every phone is valid; returns how many client/property pairs match."""
    ids = {entity: {r["id"] for r in rows} for entity, rows in data.items()}
    targets = {"contact_id": "Contact", "property_id": "Property", "client_id": "Client", "supplier_id": "Supplier"}
    for entity, rows in data.items():
        for row in rows:
            assert len(row["id"]) == 24 and row["created_date"] <= row["updated_date"], row
            for field, target in targets.items():
                assert row.get(field) in ids[target] or row.get(field) is None, (entity, field, row)
            for field in ("phone", "phone_number", "contact_phone"):
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
        print(f"{entity:14} {len(rows):4} records")
    print(f"{matches} client/property pairs pass the matching rules' hard filters")


if __name__ == "__main__":
    main()
