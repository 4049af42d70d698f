"""Data for scripts/bench.py: realistic Hebrew contacts and brokerage listings, loaded with COPY.

The tables are created by the real migrations (`scripts/migrate.py`); COPY skips the API so seeding
100,000 rows takes seconds. `analyze=False` leaves the table as a bulk load does: no statistics yet.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

CITIES = ["תל אביב", "רמת גן", "גבעתיים", "חולון", "הרצליה", "פתח תקווה", "ירושלים", "חיפה", "נתניה", "ראשון לציון"]
FIRST = ["דנה", "יוסי", "מיכל", "אבי", "נועה", "רון", "שירה", "עומר", "תמר", "איתי", "Dana", "Yossi"]
LAST = ["כהן", "לוי", "מזרחי", "פרץ", "ביטון", "אברהם", "פרידמן", "שפירא", "Cohen", "Levi"]
AREAS = ["צפון תל אביב", "נווה צדק", "פלורנטין", "מרכז העיר", "רמת אביב"]
STATUSES = ["נכס חדש", "אין מענה", "פולואפ", "נכס גויס", "נכס פורסם"]
TYPES = ["דירה", "בית פרטי", "משרד", "פנטהאוז", "דירת גן"]
NULL = "\\N"


def _stamp(base: float, i: int, rnd: random.Random) -> tuple[str, str]:
    seconds = base + i * 60
    ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{rnd.randrange(10**6):06d}"
    return ts, f"{int(seconds):08x}{rnd.getrandbits(64):016x}"


def _contact_rows(rows: int, rnd: random.Random) -> Iterator[str]:
    base = time.time() - rows * 60
    for i in range(rows):
        ts, oid = _stamp(base, i, rnd)
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        phone = f"+97252{rnd.randrange(10**7):07d}"
        city = rnd.choice(CITIES) if rnd.random() > 0.05 else NULL
        extra = f'{{"source": "bench", "score": {rnd.randrange(100)}}}' if i % 3 == 0 else "{}"
        yield (
            f"{oid}\t{name}\t{phone}\tuser{i}@example.com\t{NULL}\t{NULL}\tרחוב {i % 300}\t{city}\tהערה {i}\t"
            f"{ts}\t{ts}\tagent@office.co.il\tbench0000000000000000000\tf\t{NULL}\t1\t{extra}\n"
        )


CONTACT_COLUMNS = (
    "id, full_name, phone, email, whatsapp_id, whatsapp_link, address, city, notes, "
    "created_date, updated_date, created_by, created_by_id, is_sample, deleted_at, version, extra"
)


def _listing_rows(rows: int, rnd: random.Random) -> Iterator[str]:
    base = time.time() - rows * 60
    for i in range(rows):
        ts, oid = _stamp(base, i, rnd)
        sale = rnd.random() < 0.6
        price = rnd.randrange(1_200_000, 6_000_000, 10_000) if sale else rnd.randrange(3_500, 15_000, 100)
        images = json.dumps([f"https://media.example.com/p/{oid}/{n}.jpg" for n in range(rnd.randrange(0, 4))])
        flags = "\t".join(rnd.choice("tf") for _ in range(3))
        yield (
            f"{oid}\tbench0000000000000000c{i % 1000:03d}\t{rnd.choice(['מאגר', 'פייסבוק', 'פה לאוזן'])}\t"
            f"{rnd.choice(STATUSES)}\t{rnd.choice(['פרטי', 'פרטי', 'מסחרי'])}\t{'מכירה' if sale else 'השכרה'}\t"
            f"{rnd.choice(TYPES)}\t{price}\t{rnd.choice(CITIES)}\t{rnd.choice(AREAS)}\tרחוב {i % 200}\t"
            f"{rnd.randrange(1, 120)}\t{rnd.randrange(1, 40)}\t{rnd.randrange(1, 8)}\t{rnd.randrange(0, 20)}\t"
            f"{rnd.randrange(1, 30)}\t{flags}\t{images}\tagent{i % 7}@office.co.il\t"
            f"{ts}\t{ts}\tagent@office.co.il\tbench0000000000000000000\tf\t{NULL}\t1\t{{}}\n"
        )


LISTING_COLUMNS = (
    "id, contact_id, source, status, category, listing_type, property_type, price, city, area, street, "
    "building_number, apartment_number, rooms, floor, total_floors, parking, air_conditioning, storage, "
    "image_urls, handler, created_date, updated_date, created_by, created_by_id, is_sample, deleted_at, version, extra"
)
TABLES: dict[str, tuple[str, Callable[[int, random.Random], Iterator[str]]]] = {
    "contacts": (CONTACT_COLUMNS, _contact_rows),
    "property_brokerage": (LISTING_COLUMNS, _listing_rows),
}


def copy_rows(conn: Any, table: str, rows: int, *, analyze: bool = True, seed: int = 7) -> float:
    """COPY `rows` generated rows into `table`; answers the seconds it took."""
    columns, generate = TABLES[table]
    start = time.perf_counter()
    buf = io.StringIO("".join(generate(rows, random.Random(seed))))
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)
        if analyze:
            cur.execute(f"ANALYZE {table}")
    conn.commit()
    return time.perf_counter() - start
