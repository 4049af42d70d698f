"""Benchmark matching on PostgreSQL: a full run over a large office, re-matching single records, a bulk create.

    python scripts/bench_matching.py                          # brokerage: 10,000 buyers × 50,000 listings
    python scripts/bench_matching.py --pairing seed           # the seed's Client × Property → Match
    python scripts/bench_matching.py --clients 2000 --properties 10000 --keep

Uses BENCH_DATABASE_URL, or creates (and afterwards drops) a scratch database `crm_bench_match` on
127.0.0.1. Every measured phase runs in its own process, so its peak RSS is that phase's alone.
Targets: full run < 60 s and < 500 MB peak; one new listing or buyer re-matched (through the after-write
hook, as the outbox runs it) < 200 ms p50 and < 1 s p99, buyers without a city included; stored new
matches ≤ MATCH_MAX_NEW_PER_SEEKER per buyer; a bulk create of 1,000 listings answered < 1 s with
auto-matching on (the matching follows, off the request's path).
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


# Per pairing: the entities and the field names a record is written with (role → field).
NAMES: dict[str, dict[str, Any]] = {
    "seed": {
        "offer": "Property", "seek": "Client", "result": "Match", "seek_id": "client_id", "new": "new",
        "deal": "listing_type", "want": "request_category", "type": "property_type", "want_type": "property_type",
        "area": "area", "want_area": "area", "rooms": "rooms", "want_rooms": "rooms", "amenities": AMENITIES,
    },
    "brokerage": {
        "offer": "PropertyBrokerage", "seek": "BuyersBrokerage", "result": "MatchesBrokerage", "seek_id": "buyer_id",
        "new": "הותאם", "deal": "listing_type", "want": "request_category", "type": "property_type",
        "want_type": "desired_property_type", "area": "area", "want_area": "desired_area", "rooms": "rooms",
        "want_rooms": "desired_rooms", "amenities": AMENITIES[:3],
    },
}  # fmt: skip


def _record(rng: random.Random, kind: str, pairing: str, no_city: bool = False) -> dict[str, Any]:
    """One realistic seeker ("client") or offer ("property") row of the pairing (columns only)."""
    n = NAMES[pairing]
    city, weight, median = rng.choices(CITIES, weights=[c[1] for c in CITIES])[0]
    rent = rng.random() < 0.4
    rooms_index = min(len(ROOMS) - 1, max(0, int(rng.gauss(5, 2.2))))
    scale = (0.55 + 0.12 * rooms_index) * rng.lognormvariate(0, 0.25)
    amount = int((median / 420 if rent else median) * scale / 100) * 100
    neighbourhood = rng.randint(1, 4 + 3 * weight)  # big cities have more neighbourhoods
    # The brokerage forms pick rooms "1".."7" and an area of a city; the seed's have half rooms and "6+".
    rooms = ROOMS[rooms_index] if pairing == "seed" else str(min(7, max(1, round(rooms_index / 2 + 1))))
    area = f"שכונה {neighbourhood}" if pairing == "seed" else f"{city} {neighbourhood}"
    english = rng.random() < 0.1
    if kind == "client":
        row: dict[str, Any] = {
            "city": None if no_city else (city if rng.random() < 0.97 else None),
            n["want_area"]: area if rng.random() < 0.5 else None,
            n["want_rooms"]: (rooms if rng.random() < 0.99 else "שלושה") if rng.random() < 0.85 else None,
            n["want_type"]: _weighted(rng, TYPES) if rng.random() < 0.7 else None,
            n["want"]: ("rent" if english else "השכרה") if rent else ("buy" if english else "קנייה"),
            "status": "עסקה נסגרה" if rng.random() < 0.05 else rng.choice(["קונה חדש", "פולואפ", "נקבעה פגישה"]),
            "budget": amount if rng.random() < 0.95 else None,
        }
        if pairing == "brokerage" and row["city"] is None:
            row["city"] = ""  # what the office's form sends
    else:
        row = {
            "city": city if rng.random() < 0.97 else None,
            n["area"]: area,
            n["rooms"]: rooms if rng.random() < 0.99 else "שלושה",
            n["type"]: _weighted(rng, TYPES),
            n["deal"]: ("rent" if english else "השכרה") if rent else ("sale" if english else "מכירה"),
            "status": "נסגר" if rng.random() < 0.05 else rng.choice(["נכס חדש", "נכס גויס", "נכס פורסם"]),
            "price": amount if rng.random() < 0.97 else None,
        }
        if pairing == "brokerage":
            row["contact_id"] = "bench-owner"
    row.update({name: rng.random() < (0.3 if kind == "client" else 0.5) for name in n["amenities"]})
    return row


def _models(pairing: str) -> tuple[Any, Any, Any]:
    from backend.models import ENTITY_MODELS

    n = NAMES[pairing]
    return ENTITY_MODELS[n["seek"]], ENTITY_MODELS[n["offer"]], ENTITY_MODELS[n["result"]]


def _seed(clients: int, properties: int, pairing: str) -> None:
    from sqlalchemy import insert, text

    from backend.database import get_engine
    from backend.models.base import new_id, utcnow

    rng = random.Random(6)
    now = utcnow()
    seek, offer, _ = _models(pairing)
    builtins = {"created_by": "bench@example.com", "is_sample": False, "version": 1, "extra": {}}
    with get_engine().begin() as conn:
        for model, kind, count in ((seek, "client", clients), (offer, "property", properties)):
            rows = [
                {**_record(rng, kind, pairing), **builtins, "id": new_id(), "created_date": now, "updated_date": now,
                 "deleted_at": now if rng.random() < 0.03 else None}
                for _ in range(count)
            ]  # fmt: skip
            for start in range(0, count, 5000):
                conn.execute(insert(model), rows[start : start + 5000])
    with get_engine().begin() as conn:
        conn.execute(text("ANALYZE"))


def _quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _full(name: str, pairing: str) -> dict[str, Any]:
    from sqlalchemy import func, select, text

    from backend.database import get_sessionmaker
    from backend.models import MatchAlert
    from backend.services.matching import generate_matches

    base_rss = _rss_mb()
    _, _, result_model = _models(pairing)
    seek_id = getattr(result_model, NAMES[pairing]["seek_id"])
    with get_sessionmaker()() as session:
        backend_pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db_cpu, our_cpu, started = _cpu_of(backend_pid), _own_cpu(), time.perf_counter()
        result = generate_matches(session, dry_run=name == "dry", pairing=pairing)
        session.commit()
        seconds = time.perf_counter() - started
        db_cpu, our_cpu = _cpu_of(backend_pid) - db_cpu, _own_cpu() - our_cpu
        per_buyer = (
            select(func.count().label("n"))
            .where(result_model.status == NAMES[pairing]["new"], result_model.deleted_at.is_(None))
            .group_by(seek_id)
            .subquery()
        )
        most_new = session.scalar(select(func.max(per_buyer.c.n))) or 0
        stored = session.scalar(select(func.count()).select_from(result_model)) or 0
        alerts = session.scalar(select(func.count()).select_from(MatchAlert)) or 0
    result.pop("matches")
    # On this shared 2-core box other jobs take some of the CPU, so wall time is also reported as the CPU
    # time the run itself used: Python's plus its PostgreSQL backend's (they take turns, never overlap).
    return {"phase": name, "pairing": pairing, "wall_s": round(seconds, 1), "cpu_python_s": round(our_cpu, 1),
            "cpu_postgres_s": round(db_cpu, 1), "peak_rss_mb": round(_rss_mb()), "rss_at_start_mb": round(base_rss),
            "stored_matches": stored, "most_new_per_buyer": most_new, "alerts_recorded": alerts,
            "load_avg": os.getloadavg()[0], **result}  # fmt: skip


def _one(kind: str, pairing: str, count: int = 60) -> dict[str, Any]:
    """New records one at a time, each re-matched through the after-write hook exactly as the outbox runs it.
    Every fifth buyer has no city (the brokerage form's default), the costliest case."""
    from sqlalchemy import insert, select

    from backend.config import get_settings
    from backend.database import get_sessionmaker
    from backend.models.base import new_id, utcnow
    from backend.services.matching import rematch_after_write

    get_settings().auto_match = True
    rng = random.Random(kind)
    seek, offer, result_model = _models(pairing)
    model = offer if kind == "property" else seek
    column = result_model.property_id if kind == "property" else getattr(result_model, NAMES[pairing]["seek_id"])
    factory = get_sessionmaker()
    timings, created, no_city = [], [], []
    with factory() as session:  # warm the connection pool and the imports, as a running server would be
        session.execute(select(model.id).limit(1))
    for i in range(count):
        cityless = kind == "client" and i % 5 == 4
        values = {**_record(rng, kind, pairing, no_city=cityless), "id": new_id(), "created_date": utcnow(),
                  "updated_date": utcnow(), "is_sample": False, "version": 1, "extra": {}}  # fmt: skip
        if kind == "client":
            values["status"] = "קונה חדש"
        with factory() as session:
            session.execute(insert(model), values)
            session.commit()
        started = time.perf_counter()
        rematch_after_write(model.__name__, [values["id"]])
        elapsed = (time.perf_counter() - started) * 1000
        timings.append(elapsed)
        if cityless:
            no_city.append(elapsed)
        with factory() as session:
            created.append(len(session.scalars(select(result_model.id).where(column == values["id"])).all()))
    answer = {"phase": f"one new {'listing' if kind == 'property' else 'buyer'} (hook)", "pairing": pairing,
              "n": count, "p50_ms": round(statistics.median(timings), 1), "p99_ms": round(_quantile(timings, 99), 1),
              "max_ms": round(max(timings), 1), "matches_per_record_max": max(created),
              "matches_per_record_median": statistics.median(created), "load_avg": os.getloadavg()[0]}  # fmt: skip
    if no_city:
        answer["no_city_ms"] = [round(t) for t in no_city]
    return answer


def _bulk(pairing: str, count: int = 1000) -> dict[str, Any]:
    """A Base44 bulkCreate of `count` listings through the app, auto-matching on and the in-app drainer running."""
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from backend.config import get_settings
    from backend.database import get_sessionmaker
    from backend.main import create_app
    from backend.models import OutboxEntry
    from backend.services.security import create_access_token
    from backend.services.users import create_user

    settings = get_settings()
    settings.auto_match, settings.jobs_inapp = True, True
    _, offer, _ = _models(pairing)
    with get_sessionmaker()() as session:
        user = create_user(session, {"email": f"bench{time.time_ns()}@example.com", "password": "bench-password-1"})
        session.commit()
        token, _ = create_access_token(user.id, user.email, user.role, user.token_version)
    rng = random.Random("bulk")
    items = [_record(rng, "property", pairing) for _ in range(count)]
    url = f"/api/apps/bench/entities/{offer.__name__}/bulk"
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app()) as client:
        warm = client.get(f"/api/apps/bench/entities/{offer.__name__}", params={"limit": 1}, headers=headers)
        assert warm.status_code == 200, warm.text
        started = time.perf_counter()
        response = client.post(url, json=items, headers=headers)
        answered = time.perf_counter() - started
        assert response.status_code == 201, response.text
        while True:  # the matching that follows, by the in-app drainer
            with get_sessionmaker()() as session:
                left = session.scalar(
                    select(func.count()).select_from(OutboxEntry).where(OutboxEntry.entity == offer.__name__)
                )
            if not left:
                break
            time.sleep(0.05)
        matched = time.perf_counter() - started
    return {"phase": f"bulkCreate of {count} listings (Base44 surface, AUTO_MATCH on)", "pairing": pairing,
            "answered_ms": round(answered * 1000), "matched_after_s": round(matched, 1),
            "load_avg": os.getloadavg()[0]}  # fmt: skip


def _alerts() -> dict[str, Any]:
    """The alert job after the first full run: every new match's alert settled (digests composed; without
    SMTP configured here they end `not_sent`, which costs the same bookkeeping)."""
    from sqlalchemy import func, select

    from backend.database import get_sessionmaker
    from backend.models import MatchAlert
    from backend.services.matching import alerts

    started = time.perf_counter()
    settled = alerts.send_pending()
    seconds = time.perf_counter() - started
    with get_sessionmaker()() as session:
        by_status = dict(session.execute(select(MatchAlert.status, func.count()).group_by(MatchAlert.status)).all())
    return {"phase": "alert job (the full run's backlog)", "settled": settled, "wall_s": round(seconds, 1),
            "by_status": by_status, "peak_rss_mb": round(_rss_mb()), "load_avg": os.getloadavg()[0]}  # fmt: skip


def _phase(name: str, pairing: str) -> dict[str, Any]:
    """Runs in a child process; returns one JSON-able result."""
    if name in ("full", "again", "dry"):
        return _full(name, pairing)
    if name == "alerts":
        return _alerts()
    if name == "bulk":
        return _bulk(pairing)
    return _one(name, pairing)


def _run_child(url: str, phase: str, pairing: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--url", url, "--phase", phase, "--pairing", pairing],
        check=True,
        capture_output=True,
        text=True,
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
    parser.add_argument("--pairing", choices=sorted(NAMES), default="brokerage")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.url or DEFAULT_URL
    _configure(url)
    if args.phase:
        print(json.dumps(_phase(args.phase, args.pairing), ensure_ascii=False))
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
    _seed(args.clients, args.properties, args.pairing)
    seeded = time.perf_counter() - started
    print(f"seeded {args.clients:,} seekers × {args.properties:,} offers ({args.pairing}) in {seeded:.1f} s")
    try:
        for phase in ("dry", "full", "again", "alerts", "property", "client", "bulk"):
            print(json.dumps(_run_child(url, phase, args.pairing), ensure_ascii=False))
    finally:
        if scratch and not args.keep:
            _drop_database(url)


if __name__ == "__main__":
    main()
