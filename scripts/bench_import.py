"""Import and export benchmark on PostgreSQL (issue 8's targets).

    python scripts/bench_import.py [--database-url postgresql+psycopg2://postgres@127.0.0.1/crm_bench_import]
                                   [--records 100000] [--export-rows 1000000]

The database is emptied (schema dropped) and migrated first. Then:

1. Import: writes `--records` records across 7 entities (modelled and document store, CSV and JSON, with
   Hebrew, `'+972` phones, JSON cells, multi-line text) into a folder, runs `scripts/import_base44.py` on it
   as its own process and reports the wall time (target: 100,000 records in under 60 s) and the process's
   peak RSS; then runs it again (everything unchanged) and reports that time too.
2. Export: fills Contact up to `--export-rows` rows (SQL `generate_series`), starts one uvicorn worker and
   streams `GET /api/admin/export/Contact` as CSV and as JSON; reports time, size and the server's peak RSS
   above its level before the request (VmHWM reset through /proc/PID/clear_refs, plus a 10 ms RSS poll).
   Target: growth under 100 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
IMPORT_TARGET_S = 60
EXPORT_TARGET_MB = 100
ADMIN = ("bench-admin@example.com", "bench-admin-password-1")
SHARES = {"Contact": 0.3, "Property": 0.2, "Client": 0.15, "Task": 0.1, "MarketingLead": 0.1, "Lead": 0.1, "Deal": 0.05}


def oid(prefix: int, n: int) -> str:
    return f"68{prefix:02x}{n:020x}"


def builtins(n: int) -> dict[str, Any]:
    day = 1 + n % 28
    return {
        "id": None,
        "created_date": f"2025-11-{day:02d}T06:45:{n % 60:02d}.{n % 1_000_000:06d}",
        "updated_date": f"2025-12-{day:02d}T08:00:00.000000",
        "created_by_id": "68012f0a1b2c3d4e5f601001",
        "created_by": "dana@office.co.il",
        "is_sample": "false",
    }


def record(entity: str, n: int, counts: dict[str, int]) -> dict[str, Any]:
    contact = oid(1, n % counts["Contact"])
    if entity == "Contact":
        return {"full_name": f"דנה לוי {n}", "phone": f"'+9725{n:08d}", "city": "תל אביב",
                "notes": f"שורה ראשונה {n}\nשורה שנייה", "tags": '["VIP","משקיעה"]'}  # fmt: skip
    if entity == "Property":
        return {"contact_id": contact, "status": "נכס חדש", "listing_type": "מכירה", "price": str(1_000_000 + n),
                "rooms": "3.5", "parking": "TRUE" if n % 2 else "FALSE", "square_meters": str(60 + n % 90),
                "image_urls": json.dumps([f"https://media.base44.com/p{n}.jpg"]), "description": "דירה"}  # fmt: skip
    if entity == "Client":
        return {"contact_id": contact, "request_category": "קנייה", "budget": 2_000_000 + n, "rooms": "3",
                "elevator": n % 3 == 0, "wishes": {"floor": "גבוה", "notes": ["שקט", "חניה"]}}  # fmt: skip
    if entity == "Task":
        return {"title": f"להתקשר ללקוח {n}", "status": "חדשה", "due_date": "2025-12-30", "contact_id": contact}
    if entity == "MarketingLead":
        return {"phone_number": f"'+9725{n:08d}", "first_name": "רון", "rooms_min": str(n % 5), "budget": "2,500,000"}
    if entity == "Lead":
        return {"name": f"ליד {n}", "score": n % 100, "tags": ["hot"], "source": "אתר"}
    return {"property_id": oid(2, n % counts["Property"]), "price": str(n * 1000), "stage": "נחתם", "notes": "@ok"}


def write_export(folder: Path, total: int) -> dict[str, int]:
    counts = {entity: int(total * share) for entity, share in SHARES.items()}
    counts["Contact"] += total - sum(counts.values())
    for index, (entity, count) in enumerate(counts.items(), start=1):
        rows = []
        for n in range(count):
            row = {**record(entity, n, counts), **builtins(n)}
            row["id"] = oid(index, n)
            rows.append(row)
        if entity in ("Client", "Lead"):  # the JSON API's shape: typed values
            for row in rows:
                row["is_sample"] = False
            (folder / f"{entity}.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
            continue
        with (folder / f"{entity}_export.csv").open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL)
            writer.writeheader()
            writer.writerows(rows)
    return counts


def reset_database(url: str, env: dict[str, str]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    subprocess.run([sys.executable, "scripts/migrate.py"], cwd=ROOT, env=env, check=True, capture_output=True)


def run_import(folder: Path, env: dict[str, str]) -> tuple[float, dict[str, int]]:
    """Wall time of the whole command (interpreter start included) and the per-entity totals of its report."""
    report = folder.parent / f"{folder.name}-report.json"
    command = [sys.executable, "scripts/import_base44.py", str(folder), "--report", str(report)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    totals = dict.fromkeys(("read", "created", "updated", "unchanged", "rejected"), 0)
    for entity in json.loads(report.read_text(encoding="utf-8"))["entities"]:
        for key in totals:
            totals[key] += entity[key]
    report.unlink()
    return seconds, totals


def fill_contacts(url: str, rows: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        have = conn.scalar(text("SELECT count(*) FROM contacts"))
        conn.execute(
            text(
                """INSERT INTO contacts (id, full_name, phone, city, notes, created_date, updated_date, created_by,
                       created_by_id, is_sample, version, extra)
                   SELECT 'b' || lpad(to_hex(g), 23, '0'), 'איש קשר ' || g, '+9725' || lpad(g::text, 8, '0'),
                          'תל אביב', E'שורה ראשונה\\nשורה שנייה', now() - g * interval '1 second', now(),
                          'dana@office.co.il', '68012f0a1b2c3d4e5f601001', false, 1,
                          jsonb_build_object('tags', jsonb_build_array('VIP', 'משקיעה'), 'score', g % 100)
                   FROM generate_series(1, :n) AS g"""
            ),
            {"n": max(0, rows - int(have or 0))},
        )
        conn.execute(text("ANALYZE contacts"))
    engine.dispose()


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def stream_export(base: str, token: str, fmt: str, pid: int) -> bool:
    before = status_kb(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := current RSS
    polled, stop = [before], threading.Event()

    def poll() -> None:
        while not stop.wait(0.01):
            polled[0] = max(polled[0], status_kb(pid, "VmRSS"))

    threading.Thread(target=poll, daemon=True).start()
    size = lines = 0
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{base}/api/admin/export/Contact?format={fmt}"
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(600, connect=10)) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    stop.set()
    peak = max(status_kb(pid, "VmHWM"), polled[0])
    growth = (peak - before) / 1024
    ok = growth < EXPORT_TARGET_MB
    print(
        f"export {fmt:<4} {size / 2**20:8.1f} MiB, {lines:,} lines in {seconds:6.1f} s | server RSS before "
        f"{before / 1024:6.1f} MB, peak {peak / 1024:6.1f} MB | growth {growth:5.1f} MB "
        f"[{'OK' if ok else 'OVER'} < {EXPORT_TARGET_MB} MB]"
    )
    return ok


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def export_phase(env: dict[str, str]) -> bool:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "1", "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env
    )
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        login = httpx.post(f"{base}/api/auth/login", data={"username": ADMIN[0], "password": ADMIN[1]})
        token = login.json()["access_token"]
        print(f"one uvicorn worker (pid {server.pid})")
        return all([stream_export(base, token, "csv", server.pid), stream_export(base, token, "json", server.pid)])
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg2://postgres@127.0.0.1/crm_bench_import")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": args.database_url, "ENVIRONMENT": "development", "AUTO_MATCH": "false"}
    env |= {"ADMIN_EMAIL": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1], "LOG_LEVEL": "WARNING"}
    env |= {"WHATSAPP_INAPP_SENDER": "false"}
    reset_database(args.database_url, env)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        counts = write_export(folder, args.records)
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"import of {sum(counts.values()):,} records ({size / 2**20:.1f} MiB): {counts}")
        seconds, totals = run_import(folder, env)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        ok = seconds < IMPORT_TARGET_S and totals["created"] == sum(counts.values())
        print(f"first import   {seconds:6.1f} s  ({sum(counts.values()) / seconds:,.0f} records/s) {totals}, "
              f"importer peak RSS {peak:.0f} MB  [{'OK' if ok else 'OVER'} < {IMPORT_TARGET_S} s]")  # fmt: skip
        again, totals = run_import(folder, env)
        ok = ok and totals["unchanged"] == sum(counts.values())
        print(f"second import  {again:6.1f} s  {totals}")
    fill_contacts(args.database_url, args.export_rows)
    print(f"\nexport of {args.export_rows:,} Contact rows")
    ok = export_phase(env) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
