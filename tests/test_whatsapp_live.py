"""End to end over real sockets: the fake posts signed status webhooks to the app on a live port."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.database import get_sessionmaker
from backend.models.whatsapp import WhatsAppOptOut
from tests.whatsapp_support import (  # noqa: F401
    VALID,
    bulk,
    by_phone,
    drain,
    fake_fixture,
    live_app_fixture,
    meta_fixture,
    senders_fixture,
    wait_for,
)


@pytest.fixture
def wired(meta: Any, live_app: str) -> Any:
    meta.webhook_url = f"{live_app}/api/whatsapp/webhook"
    return meta


def _run(
    client: Any, manager: dict[str, Any], fake: Any, senders: Any, phones: list[str], webhooks: int
) -> dict[str, Any]:
    batch_id = bulk(client, manager["headers"], phones).json()["batch_id"]
    drain(senders())
    wait_for(lambda: len(fake.webhooks) >= webhooks, what=f"{webhooks} webhooks")
    fake.wait_idle()
    return by_phone(batch_id)


def test_statuses_arrive_signed_and_move_logs_forward(
    client: Any, manager: dict[str, Any], wired: Any, senders: Any
) -> None:
    rows = _run(client, manager, wired, senders, [VALID[0], "+972509990001", "+972509990004"], webhooks=6)
    assert {w["status"] for w in wired.webhooks} == {200}
    assert (rows[VALID[0]].status, rows[VALID[0]].provider_message_id) == ("delivered", "wamid.FAKE0000000001")
    assert rows[VALID[0]].delivered_date and rows[VALID[0]].sent_date
    assert (rows["+972509990001"].status, rows["+972509990001"].error_code) == ("failed", "131026")
    assert (rows["+972509990004"].status, rows["+972509990004"].error_code) == ("failed", "131050")
    with get_sessionmaker()() as session:
        assert session.scalars(select(WhatsAppOptOut.phone_e164)).all() == ["+972509990004"]


@pytest.mark.parametrize("mode", ["duplicate", "reverse"])
def test_repeated_and_reordered_deliveries(
    client: Any, manager: dict[str, Any], wired: Any, senders: Any, mode: str
) -> None:
    wired.webhook_mode = mode
    expected = 8 if mode == "duplicate" else 4
    rows = _run(client, manager, wired, senders, VALID[:2], webhooks=expected)
    assert len(wired.webhooks) == expected and {w["status"] for w in wired.webhooks} == {200}
    assert {r.status for r in rows.values()} == {"delivered"}
    assert all(r.sent_date and r.delivered_date and r.provider_message_id for r in rows.values())


@pytest.mark.parametrize(("mode", "answer"), [("unsigned", 401), ("wrong", 403)])
def test_badly_signed_webhooks_are_refused(
    client: Any, manager: dict[str, Any], wired: Any, senders: Any, mode: str, answer: int
) -> None:
    wired.webhook_mode = mode
    rows = _run(client, manager, wired, senders, [VALID[0]], webhooks=2)
    assert {w["status"] for w in wired.webhooks} == {answer}
    assert rows[VALID[0]].status == "sent"


def test_ambiguous_message_is_resolved_by_its_webhook_not_resent(
    client: Any, manager: dict[str, Any], wired: Any, senders: Any
) -> None:
    batch_id = bulk(client, manager["headers"], ["+972509990009"]).json()["batch_id"]
    drain(senders())
    [row] = by_phone(batch_id).values()
    assert (row.status, row.provider_message_id) == ("unknown", None)
    wait_for(lambda: len(wired.webhooks) >= 2, timeout=30, what="the late webhooks")
    wired.wait_idle()
    [row] = by_phone(batch_id).values()
    assert (row.status, row.provider_message_id) == ("delivered", "wamid.FAKE0000000001")  # tied by our id
    assert wired.accepted_to() == ["972509990009"]


def test_control_surface_over_http(client: Any, manager: dict[str, Any], wired: Any, live_app: str) -> None:
    with httpx.Client(base_url=wired.url) as control:
        assert control.post("/_fake/config", json={"limit": 5, "webhook_mode": "signed"}).json()["limit"] == 5
        assert control.post("/_fake/inbound", json={"from": "972525550042", "text": "הסר"}).status_code == 200
        wait_for(lambda: wired.webhooks, what="the inbound webhook")
        wired.wait_idle()
        assert wired.webhooks[0]["status"] == 200
        assert control.get("/_fake/accepted").json() == [] and control.get("/_fake/requests").json() == []
        assert control.post("/_fake/reset").json() == {"ok": True}
    body = bulk(client, manager["headers"], ["052-555-0042"]).json()
    assert body["queued"] == 0 and body["skipped"][0]["reason"] == "opted_out"
