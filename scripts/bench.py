"""List-speed benchmark: the app against a bare reference handler, same data, same load, one run.

    BENCH_DATABASE_URL=postgresql+psycopg2://postgres@127.0.0.1/crm_bench python scripts/bench.py [--rows 100000]

Seeds N contacts into the scratch database (dropped and re-created), starts the app (one uvicorn
worker) and the reference (Starlette + asyncpg + orjson, no auth) side by side, drives both with wrk
(or a bounded Python load generator when wrk is missing) and prints requests/s, p50, p99 and the
app/reference ratio per scenario, then bulk create, count and whole-collection figures and the app's
peak memory. Without BENCH_DATABASE_URL it uses a local PostgreSQL database `crm_bench`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECRET = "bench-secret-key-bench-secret-key-bench-secret-key"
CITIES = ["תל אביב", "רמת גן", "גבעתיים", "חולון", "הרצליה", "פתח תקווה", "ירושלים", "חיפה", "נתניה", "ראשון לציון"]
FIRST = ["דנה", "יוסי", "מיכל", "אבי", "נועה", "רון", "שירה", "עומר", "תמר", "איתי", "Dana", "Yossi"]
LAST = ["כהן", "לוי", "מזרחי", "פרץ", "ביטון", "אברהם", "פרידמן", "שפירא", "Cohen", "Levi"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(url: str, rows: int) -> None:
    import psycopg2
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{u.database}"')
    admin.close()
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development", "SECRET_KEY": SECRET}
    subprocess.run([sys.executable, "scripts/migrate.py"], cwd=ROOT, env=env, check=True, capture_output=True)
    conn = psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database)
    rnd = random.Random(7)
    start = time.perf_counter()
    with conn, conn.cursor() as cur:
        import io

        buf = io.StringIO()
        base = time.time() - rows * 60
        for i in range(rows):
            ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(base + i * 60)) + f".{rnd.randrange(10**6):06d}"
            oid = f"{int(base + i * 60):08x}{rnd.getrandbits(64):016x}"
            name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
            phone = f"+97252{rnd.randrange(10**7):07d}"
            city = rnd.choice(CITIES) if rnd.random() > 0.05 else "\\N"
            extra = f'{{"source": "bench", "score": {rnd.randrange(100)}}}' if i % 3 == 0 else "{}"
            buf.write(
                f"{oid}\t{name}\t{phone}\tuser{i}@example.com\t\\N\t\\N\tרחוב {i % 300}\t{city}\tהערה {i}\t"
                f"{ts}\t{ts}\tagent@office.co.il\tbench0000000000000000000\tf\t\\N\t1\t{extra}\n"
            )
        buf.seek(0)
        cur.copy_expert(
            "COPY contacts (id, full_name, phone, email, whatsapp_id, whatsapp_link, address, city, notes, "
            "created_date, updated_date, created_by, created_by_id, is_sample, deleted_at, version, extra) FROM STDIN",
            buf,
        )
        cur.execute("ANALYZE contacts")
    conn.close()
    print(f"seeded {rows:,} contacts in {time.perf_counter() - start:.1f} s")


def start_server(args: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *args, "--port", str(port), "--workers", "1", "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    import httpx

    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server {args} did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def rss_peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _ms(text: str) -> float:
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for unit in ("us", "ms", "s"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def load(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    if shutil.which("wrk"):
        cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
        for key, value in headers.items():
            cmd += ["-H", f"{key}: {value}"]
        out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
        result: dict[str, float] = {}
        for line in out.splitlines():
            parts = line.split()
            if line.startswith("Requests/sec:"):
                result["rps"] = float(parts[1])
            elif parts[:1] == ["50%"]:
                result["p50"] = _ms(parts[1])
            elif parts[:1] == ["99%"]:
                result["p99"] = _ms(parts[1])
            elif "Non-2xx" in line:
                result["errors"] = float(parts[-1])
        return result
    return python_load(url, headers, seconds, connections)


def python_load(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    """Fallback when wrk is missing: threads with keep-alive clients, bounded in time and count."""
    import threading

    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        with httpx.Client(headers=headers, timeout=10) as client:
            for _ in range(200_000):
                if time.monotonic() > stop:
                    return
                t = time.perf_counter()
                ok = client.get(url).status_code == 200
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
                    errors += not ok

    threads = [threading.Thread(target=worker) for _ in range(min(connections, 16))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p50": latencies[len(latencies) // 2],
            "p99": latencies[int(len(latencies) * 0.99)], "errors": float(errors)}  # fmt: skip


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-seed", action="store_true", help="reuse the data of the previous run")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/crm_bench")
    if not url.startswith("postgresql"):
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL (the reference handler uses asyncpg)")
    if not args.no_seed:
        prepare_database(url, args.rows)

    import httpx
    from sqlalchemy import create_engine, text

    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development", "SECRET_KEY": SECRET,
           "LOG_LEVEL": "WARNING", "AUTO_MATCH": "false", "WHATSAPP_INAPP_SENDER": "false",
           "BENCH_REF_DSN": url.replace("postgresql+psycopg2://", "postgresql://")}  # fmt: skip
    app_port, ref_port = free_port(), free_port()
    app = start_server(["backend.main:app"], app_port, env)
    ref = start_server(["scripts.bench_reference:app"], ref_port, env)
    try:
        app_url, ref_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{ref_port}"
        token = httpx.post(
            f"{app_url}/api/auth/login", data={"username": "admin@test.com", "password": "test123"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        engine = create_engine(url)
        with engine.connect() as conn:
            deep = conn.execute(
                text("SELECT created_date, id FROM contacts ORDER BY created_date DESC, id DESC OFFSET 89999 LIMIT 1")
            ).one()
            one_id = conn.execute(text("SELECT id FROM contacts ORDER BY random() LIMIT 1")).scalar_one()
        os.environ["SECRET_KEY"] = SECRET
        from backend.services.query.params import ListParams, encode_cursor, fingerprint

        cursor = encode_cursor(
            [deep[0].isoformat(timespec="microseconds"), deep[1]], fingerprint("Contact", ListParams(), False)
        )
        city = quote("תל אביב")
        q = quote('{"city":"תל אביב"}')
        scenarios = [
            ("list page of 50", f"{app_url}/api/contacts?limit=50", f"{ref_url}/contacts?limit=50"),
            ("filtered (q) + sorted page", f"{app_url}/api/contacts?limit=50&q={q}&sort=full_name",
             f"{ref_url}/contacts?limit=50&city={city}"),
            ("deep page skip=90000", f"{app_url}/api/contacts?limit=50&skip=90000",
             f"{ref_url}/contacts?limit=50&skip=90000"),
            ("page 1,800 by cursor", f"{app_url}/api/contacts?limit=50&cursor={cursor}",
             f"{ref_url}/contacts?limit=50&after_date={deep[0].isoformat()}&after_id={deep[1]}"),
            ("GET one record", f"{app_url}/api/contacts/{one_id}", f"{ref_url}/contacts/{one_id}"),
        ]  # fmt: skip
        print(f"\nload: {'wrk' if shutil.which('wrk') else 'python'} {args.connections} connections, "
              f"{args.seconds} s each, one uvicorn worker each\n")  # fmt: skip
        print(f"{'scenario':32} {'app req/s':>10} {'p50 ms':>8} {'p99 ms':>8} | {'ref req/s':>10} {'p50 ms':>8}"
              f" {'p99 ms':>8} | {'ratio':>6}")  # fmt: skip
        figures: dict[str, dict[str, float]] = {}
        for name, a_url, r_url in scenarios:
            # A 2 s warm-up, not counted, for each side: prepared statements and caches get made, and the
            # previous run's last slow requests (a deep page takes a second) finish before measuring.
            load(a_url, auth, 2, args.connections)
            a = load(a_url, auth, args.seconds, args.connections)
            load(r_url, {}, 2, args.connections)
            r = load(r_url, {}, args.seconds, args.connections)
            figures[name] = a
            bad = f"  ({int(a['errors'])} non-2xx!)" if a.get("errors") else ""
            print(f"{name:32} {a['rps']:>10.0f} {a['p50']:>8.2f} {a['p99']:>8.2f} | {r['rps']:>10.0f} {r['p50']:>8.2f}"
                  f" {r['p99']:>8.2f} | {a['rps'] / r['rps']:>6.0%}{bad}")  # fmt: skip

        client = httpx.Client(headers=auth, timeout=60)
        print()
        first, deep_p50 = figures["list page of 50"]["p50"], figures["page 1,800 by cursor"]["p50"]
        print(f"cursor page 1,800 p50 / page 1 p50: {deep_p50 / first:.2f}x")
        plain = timed(lambda: client.get(f"{app_url}/api/contacts?limit=50"), 30)
        counted = timed(lambda: client.get(f"{app_url}/api/contacts?limit=50&count=true"), 30)
        added = counted[15] - plain[15]
        print(f"count=true on {args.rows:,} rows adds: {added:.1f} ms (p50 {plain[15]:.1f} → {counted[15]:.1f} ms)")
        batch = [{"full_name": f"בדיקה {i}", "phone": f"+97254{i:07d}", "city": "חולון", "tag": i} for i in range(1000)]
        bulk = timed(lambda: client.post(f"{app_url}/api/contacts/bulk", json=batch).raise_for_status(), 5)
        print(f"bulk create of 1,000 records: p50 {bulk[2]:.0f} ms, max {bulk[-1]:.0f} ms")
        # Reset the high-water mark first (writing 5 to clear_refs), so the peak is this step's alone and
        # not the load scenarios' above.
        Path(f"/proc/{app.pid}/clear_refs").write_text("5")
        before = rss_kb(app.pid)
        whole = timed(lambda: client.get(f"{app_url}/api/contacts").raise_for_status(), 10)
        peak = rss_peak_kb(app.pid)
        size = len(client.get(f"{app_url}/api/contacts").content)
        mb = size / 1e6
        print(f"Contact.list() without limit (5,000 rows, {mb:.1f} MB): p50 {whole[5]:.0f} ms, max {whole[-1]:.0f} ms")
        print(f"app process memory: RSS before whole-list {before / 1024:.0f} MB, peak (VmHWM) {peak / 1024:.0f} MB, "
              f"growth {max(0, peak - before) / 1024:.0f} MB")  # fmt: skip
    finally:
        for proc in (app, ref):
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
