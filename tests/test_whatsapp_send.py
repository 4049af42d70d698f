"""API.md §6.2: POST /api/whatsapp/send — console and meta providers, idempotency, hostile input."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.database import get_session, get_sessionmaker, unit_of_work
from backend.models import MarketingLead, MarketingLog
from backend.models.whatsapp import WhatsAppOptOut
from backend.services.whatsapp.providers import ConsoleProvider, get_provider
from backend.services.whatsapp.records import today_text
from tests.conftest import assert_error, make_user
from tests.whatsapp_support import fake_fixture, logs, make_lead, meta_fixture  # noqa: F401

URL = "/api/whatsapp/send"


def test_console_send_to_a_phone_records_and_logs(client: Any, manager: dict[str, Any]) -> None:
    response = client.post(
        URL, headers=manager["headers"], json={"to": "\u200f+972 52-555-1234\u200e", "message": "שלום"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "sent" and body["provider"] == "console"
    assert body["phone_e164"] == "+972525551234" and body["phone_number"] == "+972 52-555-1234"
    assert body["message_content"] == "שלום" and body["provider_message_id"].startswith("console.")
    assert body["sent_date"] and json.loads(body["response_data"])["console"] is True
    assert body["created_by"] == manager["email"] and len(body["id"]) == 24
    [row] = logs()
    assert (row.id, row.status, row.attempts) == (body["id"], "sent", 1)
    provider = get_provider()
    assert isinstance(provider, ConsoleProvider) and provider.records[-1]["to"] == "+972525551234"


def test_console_provider_opens_no_socket(
    client: Any, manager: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    real_connect = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> Any:
        opened.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, address: opened.append(address) or 1)
    response = client.post(URL, headers=manager["headers"], json={"to": "+972525551234", "message": "hi"})
    assert response.status_code == 200 and response.json()["status"] == "sent"
    url = make_url(get_settings().database_url)  # the database's own connections are not the provider's
    database = {(url.host, url.port or 5432), ("localhost", url.port or 5432), ("::1", url.port or 5432)}
    assert [address for address in opened if tuple(address[:2]) not in database] == []
    assert not hasattr(get_provider(), "client")


def test_send_to_lead_fills_placeholders_and_touches_lead(client: Any, manager: dict[str, Any]) -> None:
    lead_id = make_lead("052-555-0001", first_name="רונית", last_name="כהן")
    message = {"lead_id": lead_id, "message": "שלום {first_name} {last_name}, {full_name}!"}
    body = client.post(URL, headers=manager["headers"], json=message).json()
    assert body["status"] == "sent" and body["lead_id"] == lead_id
    assert body["message_content"] == "שלום רונית כהן, רונית כהן!"
    with get_sessionmaker()() as session:
        lead = session.get(MarketingLead, lead_id)
        assert lead is not None and lead.last_contacted == today_text() and lead.version == 2


@pytest.mark.parametrize("flag", ["כן", "YES", " true ", "1"])
def test_opted_out_lead_is_409_and_nothing_sent(client: Any, manager: dict[str, Any], flag: str) -> None:
    lead_id = make_lead("+972525550002", opt_out_whatsapp=flag)
    assert_error(
        client.post(URL, headers=manager["headers"], json={"lead_id": lead_id, "message": "x"}), 409, "conflict"
    )
    # the same number typed by hand is refused too
    assert_error(
        client.post(URL, headers=manager["headers"], json={"to": "0525550002", "message": "x"}), 409, "conflict"
    )
    assert logs() == []


def test_phone_in_opt_out_table_is_409(client: Any, manager: dict[str, Any]) -> None:
    with get_sessionmaker()() as session, session.begin():
        session.add(WhatsAppOptOut(phone_e164="+972525550003", reason="keyword"))
    assert_error(
        client.post(URL, headers=manager["headers"], json={"to": "+972525550003", "message": "x"}), 409, "conflict"
    )
    assert logs() == []


BAD = [
    {"to": "not a phone", "message": "x"},
    {"to": "050-123-4567", "message": "x"},  # the right shape, but not an allocated Israeli mobile
    {"to": "+972525551234", "message": ""},
    {"to": "+972525551234", "message": "   "},
    {"to": "+972525551234", "message": "א" * 5000},
    {"to": "+972525551234"},
    {"to": "+972525551234", "message": "x", "template": {"name": "promo"}},
    {"to": "+972525551234", "template": {"name": "promo", "params": ["Dana", ""]}},
    {"to": "+972525551234", "template": {"name": "promo", "params": [None]}},
    {"to": "+972525551234", "template": {"name": "Promo Name!"}},
    {"to": "+972525551234", "template": {"params": ["x"]}},
    {"lead_id": "0123456789abcdef01234567", "message": "x"},
    {"contact_id": "0123456789abcdef01234567", "message": "x"},
    {"to": "+972525551234", "lead_id": "0123456789abcdef01234567", "message": "x"},
    {"message": "x"},
    {"to": 972525551234, "message": "x"},
    {"to": ["+972525551234"], "message": "x"},
    {"to": "+972525551234", "message": "hi {frist_name}"},
    {"to": "+972525551234", "message": "x", "unknown_field": 1},
    {"to": "9" * 65, "message": "x"},
    ["a", "list"],
    {"to": "+972525551234", "message": "hi\u0000there"},
    {"to": "+97252555\u00001234", "message": "x"},
    {"to": "+972525551234", "template": {"name": "promo", "params": ["\u0000"]}},
    {"to": "+972525551234", "message": "hi {x}", "vars": {"x": "a\u0000b"}},
]


@pytest.mark.parametrize("field", ["message", "to"])
def test_nul_is_refused_naming_the_field(client: Any, manager: dict[str, Any], field: str) -> None:
    payload = {"to": "+972525551234", "message": "x", field: "a\u0000b"}
    body = assert_error(client.post(URL, headers=manager["headers"], json=payload), 422, "validation_error")
    assert body["detail"][0]["loc"][-1] == field and "NUL" in body["detail"][0]["msg"]
    assert logs() == []


@pytest.mark.parametrize("payload", BAD)
def test_bad_input_is_422_and_nothing_is_sent(client: Any, manager: dict[str, Any], payload: Any) -> None:
    body = assert_error(client.post(URL, headers=manager["headers"], json=payload), 422, "validation_error")
    assert isinstance(body["detail"], list) and body["detail"]
    assert logs() == []


def test_lead_without_valid_phone_is_422(client: Any, manager: dict[str, Any]) -> None:
    lead_id = make_lead("12")
    body = assert_error(
        client.post(URL, headers=manager["headers"], json={"lead_id": lead_id, "message": "x"}), 422, "validation_error"
    )
    assert body["detail"][0]["loc"] == ["body", "lead_id"]
    assert logs() == []


def test_idempotency_key_repeat_returns_first_result_and_sends_nothing(client: Any, manager: dict[str, Any]) -> None:
    headers = {**manager["headers"], "Idempotency-Key": "campaign-42/dana"}
    payload = {"to": "+972525551234", "message": "once"}
    first = client.post(URL, headers=headers, json=payload)
    before = len(get_provider().records)  # type: ignore[attr-defined]
    second = client.post(URL, headers=headers, json=payload)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert len(get_provider().records) == before  # type: ignore[attr-defined]
    assert len(logs()) == 1
    # the same key with another request is a client mistake
    other = client.post(URL, headers=headers, json={"to": "+972525551234", "message": "twice"})
    assert_error(other, 409, "conflict")
    assert len(logs()) == 1
    # keys are per user: another user's identical key is a new request
    other_user = make_user("other@example.com", app_role="office_manager")
    third = client.post(URL, headers={**other_user["headers"], "Idempotency-Key": "campaign-42/dana"}, json=payload)
    assert third.status_code == 200 and third.json()["id"] != first.json()["id"]
    assert len(logs()) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "bad key with spaces", "מפתח"])
def test_malformed_idempotency_key_is_422(client: Any, manager: dict[str, Any], key: str) -> None:
    headers = {**manager["headers"], "Idempotency-Key": key.encode()}
    response = client.post(URL, headers=headers, json={"to": "+972525551234", "message": "x"})
    assert_error(response, 422, "validation_error")
    assert logs() == []


def test_meta_send_goes_over_http_to_the_fake(client: Any, manager: dict[str, Any], meta: Any) -> None:
    body = client.post(URL, headers=manager["headers"], json={"to": "+972525551234", "message": "שלום"}).json()
    assert body["status"] == "sent" and body["provider"] == "meta"
    assert body["provider_message_id"] == "wamid.FAKE0000000001"
    [accepted] = meta.accepted
    assert accepted["to"] == "972525551234" and accepted["biz_opaque_callback_data"] == body["id"]
    assert accepted["body"]["text"]["body"] == "שלום"
    assert json.loads(body["response_data"])["messages"][0]["id"] == "wamid.FAKE0000000001"


def test_meta_template_payload(client: Any, manager: dict[str, Any], meta: Any) -> None:
    lead_id = make_lead("+972525550010", first_name="Dana")
    template = {"name": "new_listing", "language": "he", "params": ["{first_name}", "רמת גן"]}
    body = client.post(URL, headers=manager["headers"], json={"lead_id": lead_id, "template": template}).json()
    assert body["status"] == "sent" and body["template_name"] == "new_listing"
    assert body["template_params"] == ["Dana", "רמת גן"]
    sent = meta.accepted[0]["body"]["template"]
    assert sent["language"] == {"code": "he"} and sent["name"] == "new_listing"
    assert [p["text"] for p in sent["components"][0]["parameters"]] == ["Dana", "רמת גן"]


def test_template_param_empty_for_this_lead_is_422(client: Any, manager: dict[str, Any], meta: Any) -> None:
    lead_id = make_lead("+972525550011", first_name=None)
    template = {"name": "new_listing", "params": ["{first_name}"]}
    assert_error(
        client.post(URL, headers=manager["headers"], json={"lead_id": lead_id, "template": template}),
        422,
        "validation_error",
    )
    assert logs() == [] and meta.requests == []


@pytest.mark.parametrize(
    ("to", "status", "code"),
    [
        ("+972509990005", "failed", "131030"),  # sync refusal
        ("+972509990006", "failed", "130429"),  # a single send is not retried: the caller decides
        ("+972509990008", "failed", "131000"),
        ("+972509990009", "unknown", "timeout"),  # accepted, but the answer came after our timeout
    ],
)
def test_meta_refusals_are_200_with_the_code(
    client: Any, manager: dict[str, Any], meta: Any, to: str, status: str, code: str
) -> None:
    response = client.post(URL, headers=manager["headers"], json={"to": to, "message": "x"})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["error_code"]) == (status, code)
    assert [r.status for r in logs()] == [status]
    assert len(meta.requests) == 1  # exactly one request went out


def test_wrong_token_is_failed_190(
    client: Any, manager: dict[str, Any], meta: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "whatsapp_access_token", "expired")
    body = client.post(URL, headers=manager["headers"], json={"to": "+972525551234", "message": "x"}).json()
    assert (body["status"], body["error_code"]) == ("failed", "190")
    assert meta.accepted == []


def test_provider_down_is_failed_network(
    client: Any, manager: dict[str, Any], meta: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(get_settings(), "whatsapp_api_url", f"http://127.0.0.1:{port}")
    body = client.post(URL, headers=manager["headers"], json={"to": "+972525551234", "message": "x"}).json()
    assert (body["status"], body["error_code"]) == ("failed", "network")
    with get_sessionmaker()() as session:
        assert session.scalars(select(WhatsAppOptOut)).all() == []


def test_the_message_goes_out_only_after_its_row_is_committed(
    client: Any, manager: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reserve, commit, then deliver: when the provider is called, another connection already sees the row."""
    provider = get_provider()
    seen: list[Any] = []
    real_send = provider.send

    def spy(message: Any) -> Any:
        with get_sessionmaker()() as other:  # another connection: only committed rows
            seen.append(other.scalar(select(MarketingLog.status).where(MarketingLog.id == message.ref)))
        return real_send(message)

    monkeypatch.setattr(provider, "send", spy)
    body = client.post(URL, headers=manager["headers"], json={"to": "+972525551234", "message": "x"}).json()
    assert seen == ["sending"] and body["status"] == "sent"


def test_a_request_whose_commit_fails_sends_nothing(app: Any, client: Any, manager: dict[str, Any]) -> None:
    """The request's unit of work fails at its commit, after the message was reserved: nothing is sent, and
    nothing is kept (before, the service committed the row itself and sent before the request's commit)."""
    before = len(get_provider().records)  # type: ignore[attr-defined]

    def request_session_whose_commit_fails() -> Iterator[Session]:
        with unit_of_work() as session:
            yield session
            raise OperationalError("COMMIT", {}, Exception("database went away"))

    app.dependency_overrides[get_session] = request_session_whose_commit_fails
    try:
        response = client.post(URL, headers=manager["headers"], json={"to": "+972525551234", "message": "x"})
    finally:
        del app.dependency_overrides[get_session]
    assert_error(response, 503, "service_unavailable")
    assert len(get_provider().records) == before  # type: ignore[attr-defined]
    assert logs() == []


def test_the_same_key_at_once_sends_one_message(client: Any, manager: dict[str, Any]) -> None:
    """Two requests with one Idempotency-Key racing: the loser waits for the winner's commit and answers with
    its message; exactly one goes out."""
    before = len(get_provider().records)  # type: ignore[attr-defined]
    headers = {**manager["headers"], "Idempotency-Key": "race/1"}
    payload = {"to": "+972525551234", "message": "once"}
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: client.post(URL, headers=headers, json=payload), range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert len(get_provider().records) == before + 1  # type: ignore[attr-defined]
    assert [row.status for row in logs()] == ["sent"]
