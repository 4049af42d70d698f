"""Benchmark generate-matches on PostgreSQL: a full run over a large office, then re-matching single records.

    python scripts/bench_matching.py                 # 10,000 clients × 50,000 properties
    python scripts/bench_matching.py --clients 2000 --properties 10000 --keep

Uses BENCH_DATABASE_URL, or creates (and afterwards drops) a scratch database `crm_bench_match` on
127.0.0.1. Every measured phase runs in its own process, so its peak RSS is that phase's alone.
Targets (issue 6): full run < 60 s and < 500 MB peak; one record < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgresql+psycopg2://postgres@127.0.0.1/crm_bench_match"

# ~30 cities, big ones first (weights roughly follow population), each with a typical sale price.
CITIES = [
    ("תל אביב", 14, 3_800_000), ("ירושלים", 12, 2_900_000), ("חיפה", 9, 1_600_000), ("ראשון לציון", 7, 2_300_000),
    ("פתח תקווה", 7, 2_200_000), ("אשדוד", 6, 1_700_000), ("נתניה", 6, 2_100_000), ("באר שבע", 6, 1_200_000),
    ("חולון", 5, 2_200_000), ("בני ברק", 5, 2_400_000), ("רמת גן", 5, 2_700_000), ("רחובות", 4, 2_000_000),
    ("אשקלון", 4, 1_400_000), ("בת ים", 4, 1_900_000), ("בית שמש", 3, 1_800_000), ("כפר סבא", 3, 2_500_000),
    ("הרצליה", 3, 3_500_000), ("חדרה", 3, 1_500_000), ("מודיעין", 3, 2_300_000), ("רעננה", 2, 2_900_000),
    ("לוד", 2, 1_400_000), ("רמלה", 2, 1_300_000), ("נצרת", 2, 1_100_000), ("עפולה", 2, 1_100_000),
    ("קריית גת", 1, 1_100_000), ("אילת", 1, 1_500_000), ("Tel Aviv", 1, 3_800_000), ("נהריה", 1, 1_300_000),
    ("טבריה", 1, 1_000_000), ("קריית שמונה", 1, 900_000),
]  # fmt: skip
TYPES = [("דירה", 80), ("בית פרטי", 8), ("משרד", 6), ("חנות", 3), ("מחסן", 3)]
ROOMS = ["1", "1.5", "2", "2.5", "3", "3.5", "4", "4.5", "5", "5.5", "6+"]
AMENITIES = ("parking", "air_conditioning", "storage", "balcony", "elevator")


def _configure(url: str) -> None:
    os.environ.update(DATABASE_URL=url, ENVIRONMENT="development", AUTO_MATCH="false", LOG_LEVEL="WARNING")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pid: int) -> float:
    """CPU seconds of a local process (the PostgreSQL backend serving our session), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _record(rng: random.Random, kind: str) -> dict[str, Any]:
    """One realistic Client or Property row (columns only; built-ins are added by `_seed`)."""
    city, weight, median = rng.choices(CITIES, weights=[c[1] for c in CITIES])[0]
    rent = rng.random() < 0.4
    rooms_index = min(len(ROOMS) - 1, max(0, int(rng.gauss(5, 2.2))))
    scale = (0.55 + 0.12 * rooms_index) * rng.lognormvariate(0, 0.25)
    amount = int((median / 420 if rent else median) * scale / 100) * 100
    row: dict[str, Any] = {
        "city": city if rng.random() < 0.97 else None,
        "area": f"שכונה {rng.randint(1, 4 + 3 * weight)}",  # big cities have more neighbourhoods
        "rooms": ROOMS[rooms_index] if rng.random() < 0.99 else "שלושה",
        "property_type": _weighted(rng, TYPES),
    }
    english = rng.random() < 0.1
    if kind == "client":
        row["request_category"] = ("rent" if english else "השכרה") if rent else ("buy" if english else "קנייה")
        row["status"] = "עסקה נסגרה" if rng.random() < 0.05 else rng.choice(["קונה חדש", "פולואפ", "נקבעה פגישה"])
        row["budget"] = amount if rng.random() < 0.95 else None
        row["area"] = row["area"] if rng.random() < 0.5 else None
        row["rooms"] = row["rooms"] if rng.random() < 0.85 else None
        row["property_type"] = row["property_type"] if rng.random() < 0.7 else None
        row.update({name: rng.random() < 0.3 for name in AMENITIES})
    else:
        row["listing_type"] = ("rent" if english else "השכרה") if rent else ("sale" if english else "מכירה")
        row["status"] = "נסגר" if rng.random() < 0.05 else rng.choice(["נכס חדש", "נכס גויס", "נכס פורסם"])
        row["price"] = amount if rng.random() < 0.97 else None
        row.update({name: rng.random() < 0.5 for name in AMENITIES})
    return row


def _seed(clients: int, properties: int) -> None:
    from sqlalchemy import insert

    from backend.database import get_engine
    from backend.models import Client, Property
    from backend.models.base import new_id, utcnow

    rng = random.Random(6)
    now = utcnow()
    builtins = {"created_by": "bench@example.com", "is_sample": False, "version": 1, "extra": {}}
    with get_engine().begin() as conn:
        for model, kind, count in ((Client, "client", clients), (Property, "property", properties)):
            rows = [
                {**_record(rng, kind), **builtins, "id": new_id(), "created_date": now, "updated_date": now,
                 "deleted_at": now if rng.random() < 0.03 else None}
                for _ in range(count)
            ]  # fmt: skip
            for start in range(0, count, 5000):
                conn.execute(insert(model), rows[start : start + 5000])


def _phase(name: str) -> dict[str, Any]:
    """Runs in a child process; returns one JSON-able result."""
    from sqlalchemy import insert, select, text

    from backend.config import get_settings
    from backend.database import get_sessionmaker
    from backend.models import Client, Match, Property
    from backend.models.base import new_id, utcnow
    from backend.services.matching import generate_matches, rematch_after_write

    base_rss = _rss_mb()
    factory = get_sessionmaker()
    if name in ("full", "again", "dry"):
        with factory() as session:
            backend_pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
            db_cpu, our_cpu, started = _cpu_of(backend_pid), _own_cpu(), time.perf_counter()
            result = generate_matches(session, dry_run=name == "dry")
            session.commit()
            seconds = time.perf_counter() - started
            db_cpu, our_cpu = _cpu_of(backend_pid) - db_cpu, _own_cpu() - our_cpu
        result.pop("matches")
        # On this shared 2-core box other jobs take most of the CPU, so wall time is also reported as the
        # CPU time the run itself used: Python's plus its PostgreSQL backend's (they take turns, never overlap).
        return {"phase": name, "wall_s": round(seconds, 1), "cpu_python_s": round(our_cpu, 1),
                "cpu_postgres_s": round(db_cpu, 1), "peak_rss_mb": round(_rss_mb()),
                "rss_at_start_mb": round(base_rss), "load_avg": os.getloadavg()[0], **result}  # fmt: skip
    # One new record at a time, re-matched through the after-write hook exactly as the entity service does.
    get_settings().auto_match = True
    rng = random.Random(name)
    timings, created = [], []
    model, entity = (Property, "Property") if name == "property" else (Client, "Client")
    with factory() as session:  # warm the connection pool and the imports, as a running server would be
        session.execute(select(model.id).limit(1))
    for _ in range(7):
        values = {**_record(rng, name), "id": new_id(), "created_date": utcnow(), "updated_date": utcnow(),
                  "is_sample": False, "version": 1, "extra": {}}  # fmt: skip
        with factory() as session:
            session.execute(insert(model), values)
            session.commit()
        started = time.perf_counter()
        rematch_after_write(entity, [values["id"]])
        timings.append((time.perf_counter() - started) * 1000)
        with factory() as session:
            column = Match.property_id if name == "property" else Match.client_id
            created.append(len(session.scalars(select(Match.id).where(column == values["id"])).all()))
    return {"phase": f"one new {name} (hook)", "median_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1), "ms_each": [round(t) for t in timings],
            "matches_per_record": created, "load_avg": os.getloadavg()[0]}  # fmt: skip


def _run_child(url: str, phase: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--url", url, "--phase", phase], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _create_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--properties", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.url or DEFAULT_URL
    _configure(url)
    if args.phase:
        print(json.dumps(_phase(args.phase), ensure_ascii=False))
        return

    scratch = not args.url
    if scratch:
        _create_database(url)
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    command.upgrade(config, "head")
    started = time.perf_counter()
    _seed(args.clients, args.properties)
    print(f"seeded {args.clients:,} clients × {args.properties:,} properties in {time.perf_counter() - started:.1f} s")
    try:
        for phase in ("dry", "full", "again", "property", "client"):
            print(json.dumps(_run_child(url, phase), ensure_ascii=False))
    finally:
        if scratch and not args.keep:
            _drop_database(url)


if __name__ == "__main__":
    main()
