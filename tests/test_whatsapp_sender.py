"""The durable sender against the fake Meta API over real sockets: outcomes, retries, pause, safety."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import MarketingLead, MarketingLog
from backend.models.base import utcnow
from backend.services.whatsapp import queue
from backend.services.whatsapp.pacing import Timing
from backend.services.whatsapp.records import today_text
from tests.conftest import IS_POSTGRES
from tests.whatsapp_support import (  # noqa: F401
    FAST,
    VALID,
    active_count,
    bulk,
    by_phone,
    drain,
    fake_fixture,
    logs,
    make_lead,
    meta_fixture,
    senders_fixture,
    wait_for,
)

MAGIC = [
    "+972509990001",
    "+972509990004",
    "+972509990005",
    "+972509990006",
    "+972509990007",
    "+972509990008",
    "+972509990009",
]


def test_each_magic_number_outcome_and_retry_count(
    client: Any, manager: dict[str, Any], meta: Any, senders: Any
) -> None:
    lead_id = make_lead(VALID[0], first_name="Dana")
    batch_id = bulk(client, manager["headers"], [{"lead_id": lead_id}, *MAGIC]).json()["batch_id"]
    drain(senders())
    rows = by_phone(batch_id)
    outcome = {phone: (row.status, row.attempts, row.error_code) for phone, row in rows.items()}
    assert outcome == {
        VALID[0]: ("sent", 1, None),
        "+972509990001": ("sent", 1, None),  # accepted; its 131026 arrives later by webhook
        "+972509990004": ("sent", 1, None),
        "+972509990005": ("failed", 1, "131030"),  # not in the allowed list: never retried
        "+972509990006": ("sent", 2, None),  # 130429 once, retried
        "+972509990007": ("sent", 3, None),  # 131056 twice, retried
        "+972509990008": ("sent", 2, None),  # HTTP 500 131000 once, retried
        "+972509990009": ("unknown", 1, "timeout"),  # accepted, answer after our timeout: not resent
    }
    requests = Counter(r["to"] for r in meta.requests)
    assert requests == {VALID[0][1:]: 1, **{m[1:]: n for m, n in zip(MAGIC, [1, 1, 1, 2, 3, 2, 1], strict=True)}}
    accepted = Counter(meta.accepted_to())
    assert accepted == {p[1:]: 1 for p in [VALID[0], *MAGIC] if p != "+972509990005"}  # nothing twice
    sent = rows[VALID[0]]
    assert sent.message_content == "שלום Dana" and sent.sent_date and sent.provider == "meta"
    assert meta.accepted[0]["biz_opaque_callback_data"] == sent.id
    with get_sessionmaker()() as session:
        assert session.get(MarketingLead, lead_id).last_contacted == today_text()  # type: ignore[union-attr]
    batch = client.get(f"/api/whatsapp/batches/{batch_id}", headers=manager["headers"]).json()
    assert (batch["status"], batch["sent"], batch["failed"], batch["unknown"], batch["queued"]) == (
        "finished",
        6,
        1,
        1,
        0,
    )
    assert batch["finished_date"]


def test_retries_are_bounded(client: Any, manager: dict[str, Any], meta: Any, senders: Any) -> None:
    batch_id = bulk(client, manager["headers"], ["+972509990007"]).json()["batch_id"]
    drain(senders(timing=Timing(**{**FAST.__dict__, "max_attempts": 2})))
    [row] = logs(batch_id=batch_id)
    assert (row.status, row.attempts, row.error_code) == ("failed", 2, "131056")
    assert row.error_message.startswith("gave up after 2 attempts") and row.failed_date
    assert meta.accepted == []


def test_code_190_pauses_the_batch_until_resumed(
    client: Any, manager: dict[str, Any], meta: Any, senders: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "whatsapp_access_token", "expired-token")
    batch_id = bulk(client, manager["headers"], VALID[:4]).json()["batch_id"]
    assert senders().run_until_idle() == 1
    assert len(meta.requests) == 1 and meta.requests[0]["code"] == 190  # no further requests
    batch = client.get(f"/api/whatsapp/batches/{batch_id}", headers=manager["headers"]).json()
    assert batch["status"] == "paused" and "190" in batch["pause_reason"] and batch["queued"] == 4
    monkeypatch.setattr(get_settings(), "whatsapp_access_token", meta.token)
    resumed = client.post(f"/api/whatsapp/batches/{batch_id}/resume", headers=manager["headers"])
    assert resumed.status_code == 200 and resumed.json()["status"] == "queued"
    drain(senders())
    assert sorted(meta.accepted_to()) == sorted(p[1:] for p in VALID[:4])
    assert {r.status for r in logs(batch_id=batch_id)} == {"sent"}


def test_recipient_gap_passes_over_a_phone_messaged_moments_ago(client: Any, manager: dict[str, Any]) -> None:
    first = bulk(client, manager["headers"], [VALID[0]]).json()["batch_id"]
    second = bulk(client, manager["headers"], [VALID[0], VALID[1]]).json()["batch_id"]
    with get_sessionmaker()() as session, session.begin():
        row = session.scalars(select(MarketingLog).where(MarketingLog.batch_id == first)).one()
        row.status, row.sent_date = "sent", utcnow().isoformat(timespec="microseconds")
    claims = []
    for timing in (Timing(), Timing(), Timing(recipient_gap=0)):
        with get_sessionmaker()() as session, session.begin():
            claims.append(queue.claim(session, timing, "console"))
    # VALID[0] is first in line but was messaged a moment ago: the other recipient goes first, then
    # nothing is due within the 6 s gap; without a gap the message is there, untouched
    assert [c.phone if c else None for c in claims] == [VALID[1], None, VALID[0]]
    assert {r.phone_e164: r.attempts for r in logs(batch_id=second)} == {VALID[0]: 1, VALID[1]: 1}


def test_stale_sending_rows_become_unknown_fresh_ones_are_left(
    client: Any, manager: dict[str, Any], senders: Any
) -> None:
    batch_id = bulk(client, manager["headers"], VALID[:3]).json()["batch_id"]
    with get_sessionmaker()() as session, session.begin():
        rows = session.scalars(
            select(MarketingLog).where(MarketingLog.batch_id == batch_id).order_by(MarketingLog.next_attempt_at)
        ).all()
        rows[0].status, rows[0].updated_date = "sending", utcnow() - dt.timedelta(minutes=5)
        rows[1].status, rows[1].updated_date = "sending", utcnow()  # another live worker's message
    sender = senders(timing=Timing(**{**FAST.__dict__, "stale_after": 60}))
    sender.maintain(force=True)
    statuses = {r.phone_e164: (r.status, r.error_code) for r in logs(batch_id=batch_id)}
    assert statuses == {VALID[0]: ("unknown", "interrupted"), VALID[1]: ("sending", None), VALID[2]: ("queued", None)}


def test_a_retry_after_cancel_is_cancelled(client: Any, manager: dict[str, Any], meta: Any) -> None:
    batch_id = bulk(client, manager["headers"], ["+972509990008"]).json()["batch_id"]
    with get_sessionmaker()() as session, session.begin():
        claimed = queue.claim(session, FAST, "meta")
    assert claimed is not None
    assert client.post(f"/api/whatsapp/batches/{batch_id}/cancel", headers=manager["headers"]).json()["sending"] == 1
    from backend.services.whatsapp.providers import build_provider

    provider = build_provider()
    result = provider.send(claimed.outgoing())  # HTTP 500, 131000: retryable
    provider.close()
    with get_sessionmaker()() as session, session.begin():
        assert queue.record(session, claimed, result, FAST) == "cancelled"
    assert [r.status for r in logs(batch_id=batch_id)] == ["cancelled"]


def test_two_workers_never_send_the_same_message(client: Any, manager: dict[str, Any], meta: Any, senders: Any) -> None:
    batch_id = bulk(client, manager["headers"], VALID[:150]).json()["batch_id"]
    workers = [senders(name=f"w{i}", rate=1000.0) for i in range(2)]
    for worker in workers:
        worker.start()
    wait_for(lambda: active_count() == 0, timeout=60, what="both workers to finish")
    for worker in workers:
        worker.stop()
    assert sorted(meta.accepted_to()) == sorted(p[1:] for p in VALID[:150])  # each exactly once
    assert {(r.status, r.attempts) for r in logs(batch_id=batch_id)} == {("sent", 1)}
    assert all(w.sent_count > 0 for w in workers) or not IS_POSTGRES  # on PostgreSQL both really worked


@pytest.mark.skipif(not IS_POSTGRES, reason="row locks: PostgreSQL only (SQLite runs one worker)")
def test_skip_locked_claims_are_disjoint_while_held(client: Any, manager: dict[str, Any]) -> None:
    bulk(client, manager["headers"], VALID[:3])
    maker = get_sessionmaker()
    with maker() as first, maker() as second:
        a = queue.claim(first, Timing(), "console")  # transaction still open: its row stays locked
        b = queue.claim(second, Timing(), "console")  # does not wait for it, takes another
        assert a is not None and b is not None and a.id != b.id
        second.commit()
        first.rollback()
    assert Counter(r.status for r in logs()) == {"sending": 1, "queued": 2}


def test_in_app_sender_starts_and_stops_with_the_app(manager: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from backend.main import create_app
    from backend.services.whatsapp import sender as sender_module

    monkeypatch.setattr(get_settings(), "whatsapp_inapp_sender", True)
    monkeypatch.setattr(get_settings(), "whatsapp_send_rate", 200.0)
    with TestClient(create_app()) as app_client:
        running = sender_module._inapp
        assert running is not None and running._thread is not None and running._thread.is_alive()
        batch_id = bulk(app_client, manager["headers"], VALID[:5]).json()["batch_id"]
        wait_for(lambda: active_count() == 0, what="the in-app sender")
    assert sender_module._inapp is None and not running._thread
    assert {r.status for r in logs(batch_id=batch_id)} == {"sent"}
