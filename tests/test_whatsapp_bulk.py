"""API.md §6.3: send-bulk screening and queueing, audiences, batches, cancel, hostile input."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.database import get_sessionmaker
from backend.models import Contact, MarketingLog
from backend.models.whatsapp import WhatsAppBatch, WhatsAppOptOut
from tests.conftest import assert_error
from tests.whatsapp_support import VALID, bulk, by_phone, logs, make_lead

URL = "/api/whatsapp/send-bulk"


def _formats(e164: str, variant: int) -> str:
    national = "0" + e164[4:]  # +972525550001 -> 0525550001
    return [
        e164,
        f"{national[:3]}-{national[3:6]}-{national[6:]}",
        f"\u200f{national[:3]} {national[3:]}\u200e",
        f"\u202b+972 {e164[4:6]}-{e164[6:9]}-{e164[9:]}\u202c",
    ][variant % 4]


def test_thousand_recipients_with_duplicates_invalid_and_bidi_marks(client: Any, manager: dict[str, Any]) -> None:
    recipients = [_formats(VALID[i], i) for i in range(900)]
    recipients += [_formats(VALID[i], i + 1) for i in range(60)]  # the same people, written differently
    invalid = ["12345", "abc", "050-123-4567", "", "+1 555", "\u200f\u200e", "0" * 40, "+972 52-555"]
    recipients += [invalid[i % len(invalid)] for i in range(40)]
    response = bulk(client, manager["headers"], recipients)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["queued"] == 900 and body["total"] == 1000 and body["dry_run"] is False
    assert Counter(s["reason"] for s in body["skipped"]) == {"duplicate": 60, "invalid_phone": 40}
    assert body["skipped"][0] == {"recipient": {"phone": recipients[900]}, "reason": "duplicate"}
    assert response.headers["location"] == f"/api/whatsapp/batches/{body['batch_id']}"
    rows = by_phone(body["batch_id"])
    assert set(rows) == set(VALID[:900])
    assert {r.status for r in rows.values()} == {"queued"} and {r.attempts for r in rows.values()} == {0}
    assert rows[VALID[2]].phone_number == "052 5550002"  # bidi marks gone, the rest as written
    batch = client.get(f"/api/whatsapp/batches/{body['batch_id']}", headers=manager["headers"]).json()
    assert (batch["status"], batch["total"], batch["queued"], batch["skipped"]) == ("queued", 1000, 900, 100)
    assert batch["skipped_reasons"] == {"duplicate": 60, "invalid_phone": 40}


def test_leads_contacts_opt_outs_and_placeholders(client: Any, manager: dict[str, Any]) -> None:
    dana = make_lead("052-555-0001", first_name="דנה")
    yossi = make_lead("+972525550002", first_name="יוסי")
    stopped = make_lead("+972525550003", opt_out_whatsapp="כן")
    broken = make_lead("123")
    twin = make_lead("0525550001", first_name="תאומה")
    make_lead("+972525550006", opt_out_whatsapp="Yes")  # not a recipient; its number typed by hand is skipped
    with get_sessionmaker()() as session, session.begin():
        session.add(WhatsAppOptOut(phone_e164="+972525550004", reason="keyword"))
        contact = Contact(full_name="Avi Levi", phone="+972525550005")
        session.add(contact)
        session.flush()
        contact_id = contact.id
    recipients = [
        {"lead_id": dana},
        {"lead_id": yossi, "vars": {"first_name": "Yossi", "deal": 3}},
        {"lead_id": stopped},
        {"lead_id": broken},
        {"lead_id": twin},
        {"lead_id": "0123456789abcdef01234567"},
        {"phone": "+972525550004"},
        {"phone": "052-555-0006"},  # an opted-out lead's number typed by hand
        {"phone": "+972525550003"},  # seen above: a duplicate first
        {"contact_id": contact_id},
    ]
    body = bulk(client, manager["headers"], recipients, message="{first_name}: {deal} דירות").json()
    assert body["queued"] == 3
    assert [(s["recipient"], s["reason"]) for s in body["skipped"]] == [
        ({"lead_id": stopped}, "opted_out"),
        ({"lead_id": broken}, "invalid_phone"),
        ({"lead_id": twin}, "duplicate"),
        ({"lead_id": "0123456789abcdef01234567"}, "not_found"),
        ({"phone": "+972525550004"}, "opted_out"),
        ({"phone": "052-555-0006"}, "opted_out"),
        ({"phone": "+972525550003"}, "duplicate"),
    ]
    rows = by_phone(body["batch_id"])
    assert rows["+972525550001"].message_content == "דנה:  דירות" and rows["+972525550001"].lead_id == dana
    assert rows["+972525550002"].message_content == "Yossi: 3 דירות"
    assert rows["+972525550005"].message_content == "Avi:  דירות" and rows["+972525550005"].contact_id == contact_id


def test_audience_query_selects_leads(client: Any, manager: dict[str, Any]) -> None:
    inside = [make_lead(VALID[i], neighborhood="רמת גן") for i in range(3)]
    make_lead(VALID[10], neighborhood="חולון")
    make_lead(VALID[11], neighborhood="רמת גן", opt_out_whatsapp="yes")
    audience = {"entity": "MarketingLead", "q": {"neighborhood": "רמת גן"}}
    response = client.post(URL, headers=manager["headers"], json={"audience": audience, "message": "שלום {first_name}"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["queued"] == 3 and [s["reason"] for s in body["skipped"]] == ["opted_out"]
    assert {r.lead_id for r in logs(batch_id=body["batch_id"])} == set(inside)


def test_bad_audience_query_is_4xx_and_nothing_queued(client: Any, manager: dict[str, Any]) -> None:
    audience = {"entity": "MarketingLead", "q": {"$where": "1"}}
    response = client.post(URL, headers=manager["headers"], json={"audience": audience, "message": "x"})
    assert response.status_code in (400, 422) and response.json()["code"] in ("bad_request", "validation_error")
    assert logs() == []


def test_dry_run_reports_and_queues_nothing(client: Any, manager: dict[str, Any]) -> None:
    body = bulk(client, manager["headers"], [VALID[0], VALID[0], "nope"], dry_run=True).json()
    assert body == {
        "batch_id": None,
        "queued": 1,
        "total": 3,
        "dry_run": True,
        "skipped": [
            {"recipient": {"phone": VALID[0]}, "reason": "duplicate"},
            {"recipient": {"phone": "nope"}, "reason": "invalid_phone"},
        ],
    }
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(WhatsAppBatch)) == 0
    assert logs() == []


def test_10001_recipients_is_413_and_nothing_queued(client: Any, manager: dict[str, Any]) -> None:
    recipients = [f"+97252{n:07d}" for n in range(10_001)]
    assert_error(bulk(client, manager["headers"], recipients), 413, "payload_too_large")
    assert logs() == []


BAD = [
    {"recipients": [{"phone": VALID[0]}], "message": ""},
    {"recipients": [{"phone": VALID[0]}], "message": " \n "},
    {"recipients": [{"phone": VALID[0]}], "message": "x" * 5000},
    {"recipients": [{"phone": VALID[0]}], "template": {"name": "promo", "params": [""]}},
    {
        "recipients": [{"phone": VALID[0]}],
        "template": {"name": "promo", "params": ["{first_name}"]},
    },  # empty for a phone
    {"recipients": [{"phone": VALID[0]}], "message": "x", "template": {"name": "promo"}},
    {"recipients": [{"phone": VALID[0]}]},
    {"message": "x"},
    {"recipients": [{"phone": VALID[0]}], "audience": {"entity": "MarketingLead"}, "message": "x"},
    {"recipients": "everyone", "message": "x"},
    {"recipients": [{"phone": VALID[0], "lead_id": "0123456789abcdef01234567"}], "message": "x"},
    {"recipients": [{}], "message": "x"},
    {"recipients": [{"phone": 972525550000}], "message": "x"},
    {"recipients": [{"lead_id": "x" * 65}], "message": "x"},
    {"recipients": [{"phone": VALID[0]}], "message": "hi {frist_name}"},
    {"audience": {"entity": "User"}, "message": "x"},
    {"recipients": [{"phone": VALID[0], "vars": {"a": [1]}}], "message": "x"},
    {"recipients": [{"phone": VALID[0] + "\u0000"}], "message": "x"},
    {"recipients": [{"phone": VALID[0], "vars": {"a\u0000": "v"}}], "message": "x"},
    {"recipients": [{"phone": VALID[0]}], "message": "\u0000"},
]


@pytest.mark.parametrize("payload", BAD)
def test_bad_input_is_422_and_nothing_queued(client: Any, manager: dict[str, Any], payload: Any) -> None:
    assert_error(client.post(URL, headers=manager["headers"], json=payload), 422, "validation_error")
    assert logs() == []
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(WhatsAppBatch)) == 0


def test_template_param_empty_for_one_lead_rejects_the_whole_request(client: Any, manager: dict[str, Any]) -> None:
    named, unnamed = make_lead(VALID[0], first_name="Dana"), make_lead(VALID[1], first_name=None)
    template = {"name": "promo", "params": ["{first_name}"]}
    response = client.post(
        URL,
        headers=manager["headers"],
        json={"recipients": [{"lead_id": named}, {"lead_id": unnamed}], "template": template},
    )
    body = assert_error(response, 422, "validation_error")
    assert body["detail"][0]["loc"] == ["body", "recipients.1"]
    assert logs() == []


def test_everything_skipped_is_a_finished_batch(client: Any, manager: dict[str, Any]) -> None:
    body = bulk(client, manager["headers"], ["nope", "0" * 10]).json()
    assert body["queued"] == 0 and body["batch_id"]
    batch = client.get(f"/api/whatsapp/batches/{body['batch_id']}", headers=manager["headers"]).json()
    assert batch["status"] == "finished" and batch["finished_date"] and batch["skipped"] == 2


def test_cancel_stops_the_rest(client: Any, manager: dict[str, Any]) -> None:
    batch_id = bulk(client, manager["headers"], VALID[:5]).json()["batch_id"]
    with get_sessionmaker()() as session, session.begin():  # one message is already with the provider
        row = session.scalars(select(MarketingLog).where(MarketingLog.phone_e164 == VALID[0])).one()
        row.status = "sending"
    url = f"/api/whatsapp/batches/{batch_id}/cancel"
    body = client.post(url, headers=manager["headers"]).json()
    assert (body["status"], body["cancelled"], body["sending"], body["queued"]) == ("cancelled", 4, 1, 0)
    assert body["finished_date"]
    again = client.post(url, headers=manager["headers"]).json()
    assert again == body
    assert Counter(r.status for r in logs(batch_id=batch_id)) == {"cancelled": 4, "sending": 1}


def test_unknown_batch_is_404(client: Any, manager: dict[str, Any]) -> None:
    assert_error(
        client.get("/api/whatsapp/batches/0123456789abcdef01234567", headers=manager["headers"]), 404, "not_found"
    )
    assert_error(client.post("/api/whatsapp/batches/nope/cancel", headers=manager["headers"]), 404, "not_found")
    assert_error(client.post("/api/whatsapp/batches/nope/resume", headers=manager["headers"]), 404, "not_found")
    assert_error(client.get("/api/whatsapp/batches/" + "x" * 65, headers=manager["headers"]), 422, "validation_error")


def test_resume_needs_a_paused_batch(client: Any, manager: dict[str, Any]) -> None:
    batch_id = bulk(client, manager["headers"], VALID[:1]).json()["batch_id"]
    assert_error(client.post(f"/api/whatsapp/batches/{batch_id}/resume", headers=manager["headers"]), 409, "conflict")


def test_awkward_characters_are_stored_exactly(client: Any, manager: dict[str, Any]) -> None:
    lead_id = make_lead(VALID[0], first_name="\\N")  # COPY's NULL marker, as a name
    message = "שורה\tאחת\nשתיים\r\\ {first_name} \\N \u200f"
    body = client.post(
        URL, headers=manager["headers"], json={"recipients": [{"lead_id": lead_id}], "message": message}
    ).json()
    [row] = logs(batch_id=body["batch_id"])
    assert row.message_content == "שורה\tאחת\nשתיים\r\\ \\N \\N \u200f"
    assert row.extra == {} and row.sent_date is None and row.is_sample is False and row.version == 1
    template = {"name": "promo", "params": ["{first_name}", 'ציטוט "כפול"\t']}
    body = client.post(
        URL, headers=manager["headers"], json={"recipients": [{"lead_id": lead_id}], "template": template}
    ).json()
    [row] = logs(batch_id=body["batch_id"])
    assert row.extra == {"template_language": "he", "template_params": ["\\N", 'ציטוט "כפול"']}
