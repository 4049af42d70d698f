"""API.md §6.4: handshake, raw-body signatures, status progression, repeats, inbound opt-out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from backend.database import get_sessionmaker
from backend.models import MarketingLog
from backend.models.base import new_id, utcnow
from backend.models.whatsapp import WhatsAppOptOut
from tests.conftest import assert_error
from tests.whatsapp_support import VALID, bulk, fake_fixture, logs, make_lead, meta_fixture  # noqa: F401

URL = "/api/whatsapp/webhook"


def post(client: Any, fake: Any, payload: Any, *, raw: bytes | None = None, signature: str | None = "auto") -> Any:
    body, good = fake.signed(payload) if raw is None else (raw, fake.sign(raw))
    headers = {"Content-Type": b"application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = (good if signature == "auto" else signature).encode()
    return client.post(URL, content=body, headers=headers)


def make_log(status: str = "sent", wamid: str | None = "wamid.T1", phone: str = VALID[0], **fields: Any) -> str:
    with get_sessionmaker()() as session, session.begin():
        row = MarketingLog(
            id=new_id(), created_date=utcnow(), status=status, provider_message_id=wamid, phone_e164=phone, **fields
        )
        session.add(row)
        return row.id


def state(log_id: str) -> MarketingLog:
    [row] = [r for r in logs() if r.id == log_id]
    return row


def test_handshake_without_verify_token_is_403(client: Any) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert_error(client.get(URL, params=params), 403, "forbidden")


def test_handshake(client: Any, meta: Any) -> None:
    ok = client.get(
        URL, params={"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    )
    assert ok.status_code == 200 and ok.text == "1158201444" and ok.headers["content-type"].startswith("text/plain")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {},
    ):
        assert_error(client.get(URL, params=params), 403, "forbidden")


def test_signature_missing_401_wrong_403(client: Any, meta: Any) -> None:
    log_id = make_log()
    payload = meta.status_payload("wamid.T1", "delivered", VALID[0][1:])
    assert_error(post(client, meta, payload, signature=None), 401, "unauthorized")
    assert_error(post(client, meta, payload, signature="sha256=" + "0" * 64), 403, "forbidden")
    assert_error(post(client, meta, payload, signature="sha1=abc"), 403, "forbidden")
    assert_error(post(client, meta, payload, signature="sha256=זה"), 403, "forbidden")
    assert state(log_id).status == "sent"
    assert post(client, meta, payload).status_code == 200
    assert state(log_id).status == "delivered"


def test_hebrew_body_is_verified_on_the_raw_bytes(client: Any, meta: Any) -> None:
    lead = make_lead("+972525550077")
    payload = meta.inbound_payload("972525550077", "הסר")
    escaped, signature = meta.signed(payload)  # as Meta sends it: \u05d4\u05e1\u05e8
    assert b"\\u05d4" in escaped
    raw_utf8 = json.dumps(payload, ensure_ascii=False).encode()
    # the signature of the escaped bytes does not fit the same JSON written differently: no re-serialising
    assert_error(post(client, meta, None, raw=raw_utf8, signature=signature), 403, "forbidden")
    assert post(client, meta, None, raw=raw_utf8).status_code == 200  # UTF-8 bytes, signed as they are
    response = post(client, meta, payload)
    assert response.status_code == 200 and response.json()["opt_outs"] == 1
    with get_sessionmaker()() as session:
        [opt_out] = session.scalars(select(WhatsAppOptOut)).all()
        assert (opt_out.phone_e164, opt_out.reason, opt_out.detail) == ("+972525550077", "keyword", "הסר")
    assert lead


JUNK = [
    b"not json",
    b"",
    b"[1, 2]",
    b'{"entry": "x"}',
    b'{"object": "whatsapp_business_account"}',
    b'{"entry": [5]}',
    b'{"entry": [{"changes": [{"value": 5}]}]}',
    b'{"entry": [{"changes": [{"value": {"statuses": "x"}}]}]}',
    # a valid status first, then junk: nothing of it may apply
    b'{"entry": [{"changes": [{"value": {"statuses": [{"id": "wamid.T1", "status": "read", "timestamp": "1"}]}},'
    b' {"value": {"messages": [7]}}]}]}',
    b'{"entry": [{"changes": [{"value": {"statuses": [{"id": "wamid.T1", "status": "read"}]}}]}]',
]


@pytest.mark.parametrize("raw", JUNK)
def test_junk_is_400_and_changes_nothing(client: Any, meta: Any, raw: bytes) -> None:
    log_id = make_log()
    assert_error(post(client, meta, None, raw=raw), 400, "bad_request")
    assert state(log_id).status == "sent" and state(log_id).read_date is None


def test_status_never_goes_backward_and_repeats_act_once(client: Any, meta: Any) -> None:
    log_id = make_log(status="sending", wamid=None)  # the send answer has not been written yet
    send = lambda status, **kw: post(client, meta, meta.status_payload("wamid.T9", status, VALID[0][1:], log_id, **kw))  # noqa: E731
    first = send("read")  # out of order: read arrives first
    assert first.json()["changed"] == 1
    row = state(log_id)
    assert (row.status, row.provider_message_id) == ("read", "wamid.T9")
    assert row.read_date and row.delivered_date == row.read_date and row.sent_date == row.read_date
    for late in ("delivered", "sent", "read", "failed"):
        assert send(late, error={"code": 131026, "title": "x"} if late == "failed" else None).json()["changed"] == 0
    assert state(log_id).status == "read" and state(log_id).version == 2


def test_failed_with_code_then_late_delivered(client: Any, meta: Any) -> None:
    log_id = make_log()
    error = {"code": 131026, "title": "Message undeliverable"}
    assert (
        post(client, meta, meta.status_payload("wamid.T1", "failed", VALID[0][1:], error=error)).json()["changed"] == 1
    )
    assert (
        post(client, meta, meta.status_payload("wamid.T1", "failed", VALID[0][1:], error=error)).json()["changed"] == 0
    )
    assert post(client, meta, meta.status_payload("wamid.T1", "delivered", VALID[0][1:])).json()["changed"] == 0
    row = state(log_id)
    assert (row.status, row.error_code, row.error_message) == ("failed", "131026", "Message undeliverable")
    assert row.failed_date


def test_unknown_status_and_unmatched_ids_are_ignored(client: Any, meta: Any) -> None:
    log_id = make_log()
    assert post(client, meta, meta.status_payload("wamid.OTHER", "delivered", "1")).json()["changed"] == 0
    assert post(client, meta, meta.status_payload("wamid.T1", "deleted", "1")).json()["changed"] == 0
    # someone else's log id as callback data cannot take over a row that has its own message id
    assert post(client, meta, meta.status_payload("wamid.OTHER", "delivered", "1", log_id)).json()["changed"] == 0
    assert state(log_id).status == "sent"


@pytest.mark.parametrize(
    "event",
    [
        {"id": "wamid.\u0000", "status": "delivered"},  # NUL: PostgreSQL refuses it in any text
        {"id": "wamid.T1", "status": ["delivered"]},  # a status that is not a word
        {"id": "wamid.T1", "status": {"s": 1}},
        {"id": ["wamid.T1"], "status": "read"},
        {"id": "w" * 5000, "status": "read"},
        {"id": "wamid.OTHER", "status": "read", "biz_opaque_callback_data": "x\u0000"},
        {"id": "wamid.OTHER", "status": "read", "biz_opaque_callback_data": ["x"]},
    ],
)
def test_a_malformed_signed_status_is_ignored_not_an_error(client: Any, meta: Any, event: dict[str, Any]) -> None:
    """Signed by the provider yet malformed: ignored with 200 (an error would only make it send again)."""
    log_id = make_log()
    answer = post(client, meta, {"entry": [{"changes": [{"value": {"statuses": [event]}}]}]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed"] == 0 and state(log_id).status == "sent"


def test_a_failure_text_with_nul_is_stored_without_it(client: Any, meta: Any) -> None:
    log_id = make_log()
    error = {"code": "13\u00001", "title": "Message\u0000 undeliverable"}
    answer = post(client, meta, meta.status_payload("wamid.T1", "failed", VALID[0][1:], error=error))
    assert answer.status_code == 200, answer.text
    row = state(log_id)
    assert (row.status, row.error_code, row.error_message) == ("failed", "131", "Message undeliverable")


def test_inbound_keyword_opt_out_and_next_bulk_skips_the_lead(client: Any, manager: dict[str, Any], meta: Any) -> None:
    lead = make_lead("052-555-0042", first_name="רות")
    other = make_lead("052-555-0043")
    for text in ("please stop calling me about the flat", "STOP sending"):
        assert post(client, meta, meta.inbound_payload("972525550043", text)).json()["opt_outs"] == 0
    assert post(client, meta, meta.inbound_payload("972525550042", "\u200fהסר.\u200f")).json()["opt_outs"] == 1
    assert post(client, meta, meta.inbound_payload("972525550042", "הסר")).status_code == 200  # a repeat: no error
    body = bulk(client, manager["headers"], [{"lead_id": lead}, {"lead_id": other}]).json()
    assert body["queued"] == 1 and body["skipped"] == [{"recipient": {"lead_id": lead}, "reason": "opted_out"}]
    assert_error(
        client.post("/api/whatsapp/send", headers=manager["headers"], json={"lead_id": lead, "message": "x"}),
        409,
        "conflict",
    )


@pytest.mark.parametrize("word", ["STOP", "stop!", "Unsubscribe", "הסרה", " הסירו אותי "])
def test_opt_out_keywords(client: Any, meta: Any, word: str) -> None:
    assert post(client, meta, meta.inbound_payload("972525550050", word)).json()["opt_outs"] == 1


def test_failed_131050_opts_the_phone_out(client: Any, manager: dict[str, Any], meta: Any) -> None:
    make_log(phone="+972509990004")
    error = {"code": 131050, "title": "User has stopped marketing messages"}
    assert (
        post(client, meta, meta.status_payload("wamid.T1", "failed", "972509990004", error=error)).json()["changed"]
        == 1
    )
    body = bulk(client, manager["headers"], ["+972509990004", VALID[1]]).json()
    assert body["queued"] == 1 and body["skipped"][0]["reason"] == "opted_out"


def test_no_app_secret_is_501(client: Any, meta: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.config import get_settings

    monkeypatch.setattr(get_settings(), "whatsapp_app_secret", "")
    assert_error(post(client, meta, meta.inbound_payload("972525550050", "STOP")), 501, "not_configured")
