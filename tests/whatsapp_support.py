"""Fixtures and helpers shared by the WhatsApp tests.

A test module imports the fixtures it uses as `<name>_fixture` (pytest registers them under `<name>`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import MarketingLead, MarketingLog
from backend.models.base import new_id, utcnow
from backend.services.whatsapp.pacing import Timing
from backend.services.whatsapp.sender import Sender
from tests.fake_whatsapp import FakeWhatsApp
from tests.live_server import LiveServer

# Test clocks: the rules are the same, the waits are milliseconds (the bench measures real time).
FAST = Timing(recipient_gap=0.05, backoff=0.01, throttle_backoff=0.01, max_backoff=0.2, poll=0.02, stale_after=60)
READ_TIMEOUT = 1.0  # the fake answers the ambiguous recipient only after 3 s
VALID = [f"+97252555{n:04d}" for n in range(10000)]  # valid Israeli mobiles (+972 52-555-xxxx)


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeWhatsApp]:
    server = FakeWhatsApp(ambiguous_delay=3.0).start()
    yield server
    server.release()
    server.wait_idle()
    server.stop()


def meta_settings(
    fake: FakeWhatsApp, read_timeout: float = READ_TIMEOUT, connect_timeout: float = 2.0
) -> dict[str, Any]:
    """The settings that point the `meta` provider at the fake, by setting name."""
    return {
        "whatsapp_provider": "meta",
        "whatsapp_api_url": fake.url,
        "whatsapp_phone_number_id": fake.phone_number_id,
        "whatsapp_access_token": fake.token,
        "whatsapp_app_secret": fake.app_secret,
        "whatsapp_verify_token": "verify-me",
        "whatsapp_read_timeout": read_timeout,
        "whatsapp_connect_timeout": connect_timeout,
        "whatsapp_send_rate": 500.0,
    }


@pytest.fixture(name="meta")
def meta_fixture(fake: FakeWhatsApp, monkeypatch: pytest.MonkeyPatch) -> FakeWhatsApp:
    """Settings pointing the `meta` provider at the fake (restored after the test)."""
    settings = get_settings()
    for name, value in meta_settings(fake).items():
        monkeypatch.setattr(settings, name, value)
    return fake


@pytest.fixture(name="live_app")
def live_app_fixture(app: Any) -> Iterator[str]:
    """The app on a real socket, so the fake can post webhooks to it."""
    server = LiveServer(app).start()
    yield server.url
    server.stop()


@pytest.fixture(name="senders")
def senders_fixture() -> Iterator[Callable[..., Sender]]:
    """Makes senders and always stops them, so no thread outlives its test."""
    made: list[Sender] = []

    def make(**kw: Any) -> Sender:
        sender = Sender(timing=kw.pop("timing", FAST), rate=kw.pop("rate", 500.0), **kw)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.stop(timeout=15)


def active_count() -> int:
    with get_sessionmaker()() as session:
        stmt = select(func.count()).select_from(MarketingLog).where(MarketingLog.status.in_(("queued", "sending")))
        return int(session.scalar(stmt) or 0)


def drain(sender: Sender, timeout: float = 60.0) -> None:
    """Step the sender until nothing is queued or sending (retries included). `timeout` only bounds a hang."""
    deadline = time.monotonic() + timeout
    sender.maintain(force=True)
    while active_count():
        if time.monotonic() > deadline:
            raise AssertionError(f"sender did not finish: {active_count()} message(s) still queued or sending")
        if not sender.step():
            time.sleep(0.01)
    sender.maintain(force=True)


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def make_lead(phone: str | None, first_name: str = "דנה", **fields: Any) -> str:
    with get_sessionmaker()() as session, session.begin():
        lead = MarketingLead(id=new_id(), phone_number=phone, first_name=first_name, created_date=utcnow(), **fields)
        session.add(lead)
        return lead.id


def logs(**where: Any) -> list[MarketingLog]:
    with get_sessionmaker()() as session:
        stmt = select(MarketingLog).order_by(MarketingLog.next_attempt_at, MarketingLog.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(MarketingLog, name) == value)
        return list(session.scalars(stmt))


def by_phone(batch_id: str) -> dict[str, MarketingLog]:
    return {row.phone_e164: row for row in logs(batch_id=batch_id) if row.phone_e164}


def bulk(client: Any, headers: dict[str, str], recipients: list[Any], **body: Any) -> Any:
    body.setdefault("message", "שלום {first_name}")
    items = [r if isinstance(r, dict) else {"phone": r} for r in recipients]
    return client.post("/api/whatsapp/send-bulk", headers=headers, json={"recipients": items, **body})
