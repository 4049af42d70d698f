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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_seed import copy_rows  # this script's own folder is on sys.path

SECRET = "bench-secret-key-bench-secret-key-bench-secret-key"
APP_ID = "bench0app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _connect(url: str, database: str | None = None) -> Any:
    import psycopg2
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg2.connect(
        host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=database or u.database
    )


def recreate_database(url: str) -> None:
    """A scratch database (dropped and created again), migrated by the real migrations."""
    from sqlalchemy.engine import make_url

    admin = _connect(url, "postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        name = make_url(url).database
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development", "SECRET_KEY": SECRET}
    subprocess.run([sys.executable, "scripts/migrate.py"], cwd=ROOT, env=env, check=True, capture_output=True)


def prepare_database(url: str, rows: int, listings: int) -> None:
    recreate_database(url)
    conn = _connect(url)
    print(f"seeded {rows:,} contacts in {copy_rows(conn, 'contacts', rows):.1f} s, "
          f"{listings:,} brokerage listings in {copy_rows(conn, 'property_brokerage', listings):.1f} s")  # fmt: skip
    conn.close()


def start_server(
    args: list[str], port: int, env: dict[str, str], *, ready_seconds: float = 10.0
) -> subprocess.Popen[bytes]:
    """uvicorn serving `args` (one worker, warnings only), once it answers HTTP. Its stderr goes to a file
    (a pipe nobody reads could fill and stall the server) and is shown if it does not start. The other
    benches (bench_files.py, bench_realtime.py) start their servers here too."""
    import httpx

    errors = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it for as long as it runs
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *args, "--port", str(port), "--workers", "1", "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors,
    )  # fmt: skip
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    errors.seek(0)
    raise SystemExit(f"server {args} did not start: {errors.read().decode(errors='replace')}")


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


HEADER = (
    f"{'scenario':36} {'app req/s':>10} {'p50 ms':>8} {'p99 ms':>8} | {'ref req/s':>10} {'p50 ms':>8}"
    f" {'p99 ms':>8} | {'ratio':>6}"
)


def measure(name: str, app_url: str, ref_url: str, auth: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    """One scenario, the app then the reference, each after a 2 s warm-up that is not counted (prepared
    statements and caches get made, the previous scenario's slow tail finishes)."""
    load(app_url, auth, 2, args.connections)
    a = load(app_url, auth, args.seconds, args.connections)
    load(ref_url, {}, 2, args.connections)
    r = load(ref_url, {}, args.seconds, args.connections)
    bad = f"  ({int(a['errors'])} non-2xx!)" if a.get("errors") else ""
    ratio = f"{a['rps'] / r['rps']:>6.0%}" if r["rps"] else "   n/a"
    print(f"{name:36} {a['rps']:>10.0f} {a['p50']:>8.2f} {a['p99']:>8.2f} | {r['rps']:>10.0f} {r['p50']:>8.2f}"
          f" {r['p99']:>8.2f} | {ratio}{bad}", flush=True)  # fmt: skip
    return a


class Servers:
    """The app and the reference, one uvicorn worker each, on one database."""

    def __init__(self, url: str) -> None:
        self.env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "development", "SECRET_KEY": SECRET,
                    "LOG_LEVEL": "WARNING", "AUTO_MATCH": "false", "WHATSAPP_INAPP_SENDER": "false",
                    "BENCH_REF_DSN": url.replace("postgresql+psycopg2://", "postgresql://")}  # fmt: skip
        app_port, ref_port = free_port(), free_port()
        self.app = start_server(["backend.main:app"], app_port, self.env)
        self.ref = start_server(["scripts.bench_reference:app"], ref_port, self.env)
        self.app_url, self.ref_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{ref_port}"
        import httpx

        token = httpx.post(
            f"{self.app_url}/api/auth/login", data={"username": "admin@test.com", "password": "test123"}
        ).json()["access_token"]
        self.auth = {"Authorization": f"Bearer {token}"}

    def stop(self) -> None:
        for proc in (self.app, self.ref):
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=20_000, help="PropertyBrokerage records")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-seed", action="store_true", help="reuse the data of the previous run's steady phase")
    parser.add_argument("--skip-fresh", action="store_true", help="leave out the fresh bulk-load phase")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/crm_bench")
    if not url.startswith("postgresql"):
        raise SystemExit("BENCH_DATABASE_URL must be a PostgreSQL URL (the reference handler uses asyncpg)")
    if not args.no_seed:
        prepare_database(url, args.rows, args.listings)
    print(f"\nload: {'wrk' if shutil.which('wrk') else 'python'} {args.connections} connections, "
          f"{args.seconds} s each, one uvicorn worker each\n")  # fmt: skip
    servers = Servers(url)
    try:
        steady(servers, url, args)
    finally:
        servers.stop()
    if not args.skip_fresh:
        fresh(url, args)


def steady(servers: Servers, url: str, args: argparse.Namespace) -> None:
    import httpx
    from sqlalchemy import create_engine, text

    app_url, ref_url, auth = servers.app_url, servers.ref_url, servers.auth
    with create_engine(url).connect() as conn:
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
    listings = f"{app_url}/api/apps/{APP_ID}/entities/PropertyBrokerage?sort=-created_date"
    scenarios = [
        ("list page of 50", f"{app_url}/api/contacts?limit=50", f"{ref_url}/contacts?limit=50"),
        ("filtered (q) + sorted page", f"{app_url}/api/contacts?limit=50&q={q}&sort=full_name",
         f"{ref_url}/contacts?limit=50&city={city}"),
        ("deep page skip=90000", f"{app_url}/api/contacts?limit=50&skip=90000",
         f"{ref_url}/contacts?limit=50&skip=90000"),
        ("page 1,800 by cursor", f"{app_url}/api/contacts?limit=50&cursor={cursor}",
         f"{ref_url}/contacts?limit=50&after_date={deep[0].isoformat()}&after_id={deep[1]}"),
        ("GET one record", f"{app_url}/api/contacts/{one_id}", f"{ref_url}/contacts/{one_id}"),
        ("PropertyBrokerage page of 50 (Base44)", f"{listings}&limit=50", f"{ref_url}/listings?limit=50"),
        ("PropertyBrokerage.list() (5,000 rows)", listings, f"{ref_url}/listings?limit=5000"),
    ]  # fmt: skip
    print(HEADER)
    figures = {name: measure(name, a_url, r_url, auth, args) for name, a_url, r_url in scenarios}
    agent_page(servers, figures["list page of 50"], args)

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
    pid = servers.app.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = rss_kb(pid)
    whole = timed(lambda: client.get(f"{app_url}/api/contacts").raise_for_status(), 10)
    peak = rss_peak_kb(pid)
    mb = len(client.get(f"{app_url}/api/contacts").content) / 1e6
    print(f"Contact.list() without limit (5,000 rows, {mb:.1f} MB): p50 {whole[5]:.0f} ms, max {whole[-1]:.0f} ms")
    print(f"app process memory: RSS before whole-list {before / 1024:.0f} MB, peak (VmHWM) {peak / 1024:.0f} MB, "
          f"growth {max(0, peak - before) / 1024:.0f} MB")  # fmt: skip


AGENT = "agent@office.co.il"  # bench_seed.py's contacts were all entered by this agent
AGENTS_OWN = {  # a real office's rule: managers see every contact, an agent the contacts they entered
    "name": "Contact",
    "type": "object",
    "properties": {},
    "rls": {"read": {"$or": [{"user_condition": {"data.app_role": "office_manager"}},
                             {"user_condition": {"data.app_role": "admin"}}, {"created_by": "{{user.email}}"}]}},
}  # fmt: skip


def agent_page(servers: Servers, admin_figures: dict[str, float], args: argparse.Namespace) -> None:
    """The same list page read by an agent with a read rule in force (compiled into the page's WHERE and
    evaluated on every row; every seeded row passes, so both pages hold the same 50 records)."""
    import httpx

    app = servers.app_url
    client = httpx.Client(headers=servers.auth, timeout=60)
    client.put(f"{app}/api/admin/schemas/Contact", json=AGENTS_OWN).raise_for_status()
    password = "bench-agent-password"
    made = client.post(f"{app}/api/users", json={"email": AGENT, "password": password, "app_role": "agent"})
    assert made.status_code in (201, 409), made.text
    token = httpx.post(f"{app}/api/auth/login", data={"username": AGENT, "password": password}).json()
    agent = {"Authorization": f"Bearer {token['access_token']}"}
    try:
        page, ref = f"{app}/api/contacts?limit=50", f"{servers.ref_url}/contacts?limit=50"
        a = measure("agent's list page (read rule)", page, ref, agent, args)
        shown = httpx.get(f"{app}/api/contacts?limit=50", headers=agent).json()
        assert len(shown) == 50, "the agent's page should hold 50 records"
        print(f"agent's page / admin's page (rps): {a['rps'] / admin_figures['rps']:.0%}")
    finally:
        client.delete(f"{app}/api/admin/schemas/Contact")


def fresh(url: str, args: argparse.Namespace) -> None:
    """Right after a bulk load: 100,000 records created through the API into an empty database, autovacuum
    held off, and the lists read at once — no ANALYZE has run (checked in pg_stat_user_tables)."""
    import httpx
    from sqlalchemy.engine import make_url

    print(f"\nfresh bulk load, no ANALYZE: {args.rows:,} records created through the API, read at once\n")
    # a database of its own, so that `--no-seed` finds the steady phase's data again next time
    u = make_url(url)
    url = u.set(database=f"{u.database}_fresh").render_as_string(hide_password=False)
    recreate_database(url)
    conn = _connect(url)
    with conn.cursor() as cur:
        for table in ("contacts", "documents"):
            cur.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    conn.commit()
    servers = Servers(url)
    try:
        client = httpx.Client(headers=servers.auth, timeout=120)
        docs = f"{servers.app_url}/api/apps/{APP_ID}/entities/Lead"
        started = time.perf_counter()
        for start in range(0, args.rows, 1000):
            contacts = [{"full_name": f"ליד {i}", "phone": f"+97253{i:07d}"} for i in range(start, start + 1000)]
            client.post(f"{servers.app_url}/api/contacts/bulk", json=contacts).raise_for_status()
            leads = [{"name": f"ליד {i}", "score": i % 100} for i in range(start, start + 1000)]
            client.post(f"{docs}/bulk", json=leads).raise_for_status()
        print(
            f"bulk-created {args.rows:,} contacts and {args.rows:,} documents in {time.perf_counter() - started:.0f} s"
        )
        print(HEADER)
        app, ref = servers.app_url, servers.ref_url
        measure("fresh: contacts page of 50", f"{app}/api/contacts?limit=50", f"{ref}/contacts?limit=50",
                servers.auth, args)  # fmt: skip
        measure("fresh: document store page of 50", f"{docs}?limit=50", f"{ref}/documents/Lead?limit=50",
                servers.auth, args)  # fmt: skip
        with conn.cursor() as cur:
            cur.execute(
                "SELECT relname, last_analyze, last_autoanalyze FROM pg_stat_user_tables"
                " WHERE relname IN ('contacts', 'documents') ORDER BY relname"
            )
            for name, manual, auto in cur.fetchall():
                print(f"  {name}: analysed {'never' if manual is None and auto is None else 'YES (not fresh!)'}")
    finally:
        servers.stop()
        conn.close()


if __name__ == "__main__":
    main()
