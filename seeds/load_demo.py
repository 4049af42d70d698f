"""Loads the demo office (seeds/demo/*.json) into an empty database, through the Base44 importer.

The files look exactly like Base44 API exports (ids, dates and creators included), so loading them
exercises the same path an office uses to move its real data.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.services.importer.api import import_json
from backend.services.matching import generate_matches
from backend.services.registry import MODELLED

DEMO = Path(__file__).resolve().parent / "demo"
# Referenced entities first, so the import report finds no dangling references.
ORDER = ["Contact", "Supplier", "Project", "Property", "Client", "Meeting", "Task", "ServiceCall", "MarketingLead"]


def is_empty() -> bool:
    with get_sessionmaker()() as session:
        return all(not session.scalar(select(func.count()).select_from(spec.table)) for spec in MODELLED.values())


def run() -> str:
    if not is_empty():
        return "Demo data: the database already holds records; nothing loaded."
    lines = []
    with get_sessionmaker()() as session:
        for entity in ORDER:
            path = DEMO / f"{entity}.json"
            if not path.exists():
                continue
            report = import_json(session, entity, orjson.loads(path.read_bytes()))
            lines.append(f"  {report.summary()}")
        session.commit()
        matched = generate_matches(session)
        session.commit()
    lines.append(f"  Match: {matched['created']} buyer/property matches generated")
    return "Demo data loaded:\n" + "\n".join(lines)
