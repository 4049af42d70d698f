"""Loads the demo office (seeds/demo/*.json) into an empty database, through the Base44 importer.

The files look exactly like Base44 API exports (ids, dates and creators included), so loading them
exercises the same path an office uses to move its real data.

The files are written with the demo's clock at `demo_base.TODAY`; loading moves every date so that
moment becomes now, or the dashboards would show a stale office (no new buyer waiting for an answer,
no match from the last day, no meeting this week). Record ages are kept exactly (`created_date`,
`updated_date` and instants such as a log's `sent_date` move by now - TODAY); calendar values (`date`
fields, a meeting's `2026-11-26T10:30` as its form sends it) move by whole days, so they keep their hour.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.services.importer.api import import_json
from backend.services.matching import generate_matches
from backend.services.registry import MODELLED, dependency_order
from seeds.demo_base import TODAY

DEMO = Path(__file__).resolve().parent / "demo"
BUILTIN_TIMES = ("created_date", "updated_date")
STAMP = "%Y-%m-%dT%H:%M:%S.%f"


def _moved_text(value: str, days: int, exact: dt.timedelta) -> str:
    """A declared date or date-time moved: an instant (`...Z`) by `exact`, a calendar value by whole `days`; one
    that is neither is left as it is (for tests/test_demo.py to name)."""
    try:
        if value.endswith("Z"):
            return (dt.datetime.fromisoformat(value[:-1]) + exact).strftime(STAMP)[:23] + "Z"
        return (dt.date.fromisoformat(value[:10]) + dt.timedelta(days=days)).isoformat() + value[10:]
    except ValueError:
        return value


def moved(entity: str, records: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """The records as if the demo's "now" (TODAY) were `now` (naive UTC)."""
    exact, days = now - TODAY, (now.date() - TODAY.date()).days
    calendar = [name for name, field in MODELLED[entity].fields.items() if field.kind in ("date", "datetime")]
    out = []
    for record in records:
        record = dict(record)
        for name in BUILTIN_TIMES:
            record[name] = (dt.datetime.fromisoformat(record[name]) + exact).strftime(STAMP)
        for name in calendar:
            if isinstance(record.get(name), str) and record[name]:
                record[name] = _moved_text(record[name], days, exact)
        out.append(record)
    return out


def is_empty() -> bool:
    with get_sessionmaker()() as session:
        return all(not session.scalar(select(func.count()).select_from(spec.table)) for spec in MODELLED.values())


def run(now: dt.datetime | None = None) -> str:
    """Loads the demo if the database is empty, dated as if its "now" were `now` (default: this moment, UTC)."""
    if not is_empty():
        return "Demo data: the database already holds records; nothing loaded."
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    lines = []
    with get_sessionmaker()() as session:
        for entity in dependency_order([path.stem for path in DEMO.glob("*.json")]):
            records = moved(entity, orjson.loads((DEMO / f"{entity}.json").read_bytes()), now)
            report = import_json(session, entity, records)
            lines.append(f"  {report.summary()}")
        session.commit()
        matched = generate_matches(session)
        session.commit()
    lines.append(f"  Match: {matched['created']} buyer/property matches generated")
    return "Demo data loaded:\n" + "\n".join(lines)
