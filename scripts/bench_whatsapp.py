"""WhatsApp targets of issue 7, measured against the fake Meta API (tests/fake_whatsapp.py) over sockets.

1. `POST /api/whatsapp/send-bulk` with 10,000 recipients answers 202 in under 2 s (the app on uvicorn).
2. Fake throttling at 20 msg/s, WHATSAPP_SEND_RATE=20: observed rate within ±10 %, no 130429 provoked.
3. Fake at 5 msg/s, ours at 20: the 130429s are retried and every message still ends `sent`, once.

python scripts/bench_whatsapp.py                         # a scratch SQLite database in a temp dir
python scripts/bench_whatsapp.py --database-url postgresql+psycopg2://postgres@127.0.0.1/crm_bench --reset
(--reset empties the WhatsApp and marketing tables of that database first: use a scratch database.)
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _configure(url: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "ENVIRONMENT": "development",
            "WHATSAPP_INAPP_SENDER": "false",
            "LOG_LEVEL": "WARNING",
            "WHATSAPP_PROVIDER": "console",
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--reset", action="store_true", help="empty the marketing and WhatsApp tables first")
    parser.add_argument("--bulk-runs", type=int, default=3)
    parser.add_argument("--rate-messages", type=int, default=300)
    parser.add_argument("--throttle-messages", type=int, default=100)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-wa-')) / 'bench.db'}"
    _configure(url)

    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["skip_logging"] = True
    command.upgrade(config, "head")
    from backend.database import get_engine

    print(f"database: {get_engine().dialect.name}  (cores: {os.cpu_count()})")
    _prepare(args.reset)
    bench_send_bulk(args.bulk_runs)
    bench_rate(args.rate_messages)
    bench_throttled(args.throttle_messages)


def _prepare(reset: bool) -> None:
    from sqlalchemy import delete, func, select

    from backend.database import get_sessionmaker
    from backend.models import MarketingLead, MarketingLog, WhatsAppBatch, WhatsAppOptOut, WhatsAppPacer
    from backend.models.whatsapp import WhatsAppOutbox

    with get_sessionmaker()() as session, session.begin():
        if reset:
            for model in (MarketingLog, MarketingLead, WhatsAppBatch, WhatsAppOptOut, WhatsAppPacer, WhatsAppOutbox):
                session.execute(delete(model))
        elif session.scalar(select(func.count()).select_from(MarketingLog)):
            sys.exit("marketing_logs is not empty: use a scratch database (and --reset)")


def _phones(count: int, offset: int = 0) -> list[str]:
    # +972 52-5xx-xxxx: valid Israeli mobiles, distinct
    return [f"+97252{5000000 + offset + n:07d}" for n in range(count)]


def bench_send_bulk(runs: int) -> None:
    from sqlalchemy import insert

    from backend.database import get_sessionmaker
    from backend.main import create_app
    from backend.models import MarketingLead
    from backend.models.base import new_id, utcnow
    from backend.services.security import create_access_token
    from backend.services.users import create_user
    from tests.live_server import LiveServer

    with get_sessionmaker()() as session:
        user = create_user(
            session, {"email": f"bench-{new_id()}@example.com", "password": "bench-password-1", "role": "admin"}
        )
        session.commit()
        token, _ = create_access_token(user.id, user.email, user.role, user.token_version)
    server = LiveServer(create_app()).start()
    headers = {"Authorization": f"Bearer {token}"}
    print("\n[1] send-bulk, 10,000 recipients, app on uvicorn over a loopback socket (target: 202 in < 2 s)")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for run in range(runs):
                phones = _phones(10_000, offset=run * 10_000)
                now = utcnow()
                base = {"created_date": now, "updated_date": now, "is_sample": False, "version": 1, "extra": {}}
                leads = [
                    {**base, "id": new_id(), "phone_number": "0" + p[4:], "first_name": f"ליד {n}"}
                    for n, p in enumerate(phones)
                ]
                with get_sessionmaker()() as session, session.begin():
                    session.execute(insert(MarketingLead), leads)
                for kind, recipients in (
                    ("lead ids", [{"lead_id": lead["id"]} for lead in leads]),
                    ("phones  ", [{"phone": p} for p in _phones(10_000, offset=500_000 + run * 10_000)]),
                ):
                    body = {"recipients": recipients, "message": "שלום {first_name}, דירה חדשה ברמת גן"}
                    started = time.perf_counter()
                    response = http.post("/api/whatsapp/send-bulk", json=body, headers=headers)
                    elapsed = time.perf_counter() - started
                    answer = response.json()
                    verdict = "OK" if response.status_code == 202 and elapsed < 2 else "MISSED"
                    print(
                        f"    run {run + 1} {kind}: HTTP {response.status_code} in {elapsed:.3f} s, "
                        f"queued {answer['queued']}, skipped {len(answer['skipped'])}  {verdict}"
                    )
                    http.post(f"/api/whatsapp/batches/{answer['batch_id']}/cancel", headers=headers)
    finally:
        server.stop()


@dataclass
class Campaign:
    batch_id: str
    elapsed: float
    accepted: list[dict[str, Any]]
    requests: list[dict[str, Any]]


def _start_fake(limit: float) -> tuple[subprocess.Popen[bytes], str]:
    """The fake in its own process, as the real provider is: it must not share our interpreter lock."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "tests.fake_whatsapp", "--port", str(port), "--limit", str(limit)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{url}/_fake/accepted", timeout=1).raise_for_status()
            return process, url
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.1)


def _run_campaign(count: int, fake_limit: float, rate: float, offset: int) -> Campaign:
    from sqlalchemy import text

    from backend.config import get_settings
    from backend.database import get_sessionmaker
    from backend.models.base import new_id
    from backend.schemas.whatsapp import SendBulkIn
    from backend.services.auth import AuthUser
    from backend.services.rules import Viewer
    from backend.services.whatsapp.bulk import send_bulk
    from backend.services.whatsapp.sender import Sender
    from tests.fake_whatsapp import FakeWhatsApp

    process, url = _start_fake(fake_limit)
    try:
        defaults = FakeWhatsApp()
        settings = get_settings()
        settings.whatsapp_provider = "meta"
        settings.whatsapp_api_url = url
        settings.whatsapp_phone_number_id = defaults.phone_number_id
        settings.whatsapp_access_token = defaults.token
        settings.whatsapp_send_rate = rate
        recipients = [{"phone": p} for p in _phones(count, offset)]
        body = SendBulkIn.model_validate({"recipients": recipients, "message": "בדיקה"})
        uid = new_id()
        viewer = Viewer(id=uid, email="bench@example.com", role="admin")
        user = AuthUser(id=uid, email=viewer.email, role="admin", claims=None, viewer=viewer)  # type: ignore[arg-type]
        with get_sessionmaker()() as session, session.begin():
            batch_id = str(send_bulk(session, body, user)["batch_id"])
            if session.get_bind().dialect.name == "postgresql":
                # fresh planner statistics after 60,000 rows came and went, as autovacuum would provide
                session.execute(text("ANALYZE marketing_logs, whatsapp_batches"))
        httpx.post(f"{url}/_fake/config", json={"limit": fake_limit})  # a full bucket to start with
        sender = Sender(rate=rate, name="bench")
        started = time.monotonic()
        sender.start()
        while _active(batch_id):
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        sender.stop()
        accepted = httpx.get(f"{url}/_fake/accepted").json()
        requests = httpx.get(f"{url}/_fake/requests").json()
    finally:
        process.terminate()
        process.wait(10)
    return Campaign(batch_id, elapsed, accepted, requests)


def _active(batch_id: str) -> int:
    from sqlalchemy import func, select

    from backend.database import get_sessionmaker
    from backend.models import MarketingLog

    with get_sessionmaker()() as session:
        stmt = select(func.count()).where(
            MarketingLog.batch_id == batch_id, MarketingLog.status.in_(("queued", "sending"))
        )
        return int(session.scalar(stmt) or 0)


def _statuses(batch_id: str) -> tuple[Counter[str], Counter[int]]:
    from sqlalchemy import select

    from backend.database import get_sessionmaker
    from backend.models import MarketingLog

    with get_sessionmaker()() as session:
        rows = session.execute(
            select(MarketingLog.status, MarketingLog.attempts).where(MarketingLog.batch_id == batch_id)
        ).all()
    return Counter(str(s) for s, _ in rows), Counter(int(a or 0) for _, a in rows)


def bench_rate(count: int) -> None:
    print(f"\n[2] rate accuracy: fake throttles at 20 msg/s, WHATSAPP_SEND_RATE=20, {count} messages")
    run = _run_campaign(count, fake_limit=20, rate=20, offset=2_000_000)
    times = sorted(m["time"] for m in run.accepted)
    observed = (len(times) - 1) / (times[-1] - times[0])
    gaps = [b - a for a, b in itertools.pairwise(times)]
    throttled = sum(1 for r in run.requests if r["code"] == 130429)
    statuses, _ = _statuses(run.batch_id)
    error = 100 * (observed - 20) / 20
    print(
        f"    observed {observed:.2f} msg/s over {times[-1] - times[0]:.2f} s (error {error:+.1f} %), "
        f"gap median {1000 * statistics.median(gaps):.1f} ms, min {1000 * min(gaps):.1f} ms"
    )
    verdict = "OK" if abs(error) <= 10 and throttled == 0 and statuses == {"sent": count} else "MISSED"
    print(f"    130429 answers: {throttled}; statuses {dict(statuses)}; wall {run.elapsed:.1f} s  {verdict}")


def bench_throttled(count: int) -> None:
    print(f"\n[3] fake throttles at 5 msg/s, ours at 20 msg/s, {count} messages")
    run = _run_campaign(count, fake_limit=5, rate=20, offset=3_000_000)
    throttled = sum(1 for r in run.requests if r["code"] == 130429)
    accepted = Counter(m["to"] for m in run.accepted)
    statuses, attempts = _statuses(run.batch_id)
    retried = sum(n for a, n in attempts.items() if a > 1)
    most = max(accepted.values())
    print(
        f"    130429 answers: {throttled}; messages retried: {retried}; "
        f"attempts histogram {dict(sorted(attempts.items()))}"
    )
    verdict = "OK" if statuses == {"sent": count} and len(accepted) == count and most == 1 else "MISSED"
    print(
        f"    statuses {dict(statuses)}; accepted by the fake: {len(accepted)} distinct, at most {most} per recipient; "
        f"{count / run.elapsed:.2f} msg/s effective over {run.elapsed:.1f} s  {verdict}"
    )


if __name__ == "__main__":
    main()
