"""The sender sends only what the server itself queued, re-checked at send time — even against someone who can
write every MarketingLog column (the rows are forged straight into the database here).

The issue: through `/api/marketing_logs` a non-admin set `status=queued`, `batch_id`, `phone_e164` and
`next_attempt_at`; the sender then delivered to an opted-out number, a foreign number and `not-a-phone`,
re-sent an already sent message, and a batch reported 502 sent of 502 for 500 real messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, update

from backend.database import get_sessionmaker
from backend.models import MarketingLog
from backend.models.base import new_id, utcnow
from backend.services.whatsapp.phones import wa_digits
from backend.services.whatsapp.records import add_opt_out, now_text
from tests.whatsapp_support import (  # noqa: F401
    VALID,
    bulk,
    by_phone,
    fake_fixture,
    meta_fixture,
    senders_fixture,
)

M = MarketingLog
FOREIGN = "+14155550100"  # a valid number nobody queued


def _forge(batch_id: str, phone: str, **columns: Any) -> str:
    """A queue row as an attacker with column access would write it."""
    now = utcnow()
    row_id = new_id()
    values = {
        "id": row_id, "created_date": now, "updated_date": now, "is_sample": False, "version": 1, "extra": {},
        "status": "queued", "batch_id": batch_id, "phone_e164": phone, "phone_number": phone,
        "message_content": "forged", "next_attempt_at": now_text(now - dt.timedelta(minutes=1)), "attempts": 0,
        **columns,
    }  # fmt: skip
    with get_sessionmaker()() as session, session.begin():
        session.execute(insert(M), [values])
    return row_id


def _set(row_id: str, **columns: Any) -> None:
    with get_sessionmaker()() as session, session.begin():
        session.execute(update(M).where(M.id == row_id).values(**columns))


def _sent_to(fake: Any) -> list[str]:
    return sorted(r["to"] for r in fake.accepted)


def test_forged_rows_are_never_sent_and_never_counted(
    client: Any, manager: dict[str, Any], meta: Any, senders: Any
) -> None:
    h = manager["headers"]
    batch = bulk(client, h, VALID[:4]).json()
    batch_id = batch["batch_id"]
    assert batch["queued"] == 4
    rows = by_phone(batch_id)
    with get_sessionmaker()() as session, session.begin():
        add_opt_out(session, VALID[0], "keyword")  # opted out after the batch was queued
        add_opt_out(session, "+972525559999", "keyword")
    _forge(batch_id, FOREIGN)  # a foreign number, into a real, active batch
    _forge(batch_id, "+972525559999")  # an opted-out number
    _forge(batch_id, "not-a-phone")
    copied = rows[VALID[1]]
    _forge(batch_id, VALID[1], message_content=copied.message_content, extra=copied.extra)  # a copy of a real one
    _set(rows[VALID[2]].id, phone_e164=FOREIGN)  # a queued message pointed at another phone
    _set(rows[VALID[3]].id, message_content="changed text")  # ... or given another text

    senders().run_until_idle()

    assert _sent_to(meta) == [wa_digits(VALID[1])]
    assert len(meta.requests) == 1  # nothing else reached the provider at all
    after = {row.id: row for row in by_phone(batch_id).values()}
    assert after[rows[VALID[0]].id].error_code == "opted_out" and after[rows[VALID[0]].id].status == "failed"
    assert after[rows[VALID[1]].id].status == "sent"
    view = client.get(f"/api/whatsapp/batches/{batch_id}", headers=h).json()
    assert view["total"] == 4 and view["sent"] == 1 and view["failed"] == 3 and view["queued"] == 0, view
    assert view["status"] == "finished", view


def test_a_sent_message_put_back_in_the_queue_is_not_sent_again(
    client: Any, manager: dict[str, Any], meta: Any, senders: Any
) -> None:
    h = manager["headers"]
    first_batch = bulk(client, h, VALID[:2]).json()["batch_id"]
    senders().run_until_idle()
    assert _sent_to(meta) == sorted(wa_digits(p) for p in VALID[:2])
    first, second = (row.id for row in by_phone(first_batch).values())
    active = bulk(client, h, VALID[5:6]).json()["batch_id"]  # a batch that is still sending
    requeue = {"status": "queued", "next_attempt_at": now_text(utcnow() - dt.timedelta(minutes=1)), "attempts": 0}
    _set(first, **requeue)  # as it was, provider id and all
    _set(second, **requeue, provider_message_id=None, sent_date=None)  # every trace of the send wiped
    for row_id in (first, second):  # ... and into the active batch
        _set(row_id, batch_id=active)
    meta.reset()

    senders().run_until_idle()

    assert _sent_to(meta) == [wa_digits(VALID[5])]  # only the active batch's own message
    view = client.get(f"/api/whatsapp/batches/{active}", headers=h).json()
    assert view["total"] == 1 and view["sent"] == 1 and view["queued"] == 0, view  # the two are not its own


def test_a_forged_row_cannot_keep_a_cancelled_or_finished_batch_busy(
    client: Any, manager: dict[str, Any], meta: Any, senders: Any
) -> None:
    batch_id = bulk(client, manager["headers"], VALID[:1]).json()["batch_id"]
    senders().run_until_idle()
    _forge(batch_id, FOREIGN)
    sender = senders()
    sender.maintain(force=True)
    assert sender.run_until_idle() == 0 and meta.requests[-1]["body"]["to"] == wa_digits(VALID[0])
    view = client.get(f"/api/whatsapp/batches/{batch_id}", headers=manager["headers"]).json()
    assert view["status"] == "finished" and view["sent"] == 1 and view["queued"] == 0, view


def test_the_migration_adopts_only_what_send_bulk_queued(client: Any, manager: dict[str, Any]) -> None:
    """Messages queued before the outbox existed keep going out after the upgrade; forged ones do not."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import select

    from backend.models.whatsapp import WhatsAppOutbox
    from tests.conftest import ROOT

    batch_id = bulk(client, manager["headers"], VALID[:3]).json()["batch_id"]
    real = {row.id for row in by_phone(batch_id).values()}
    forged = _forge(batch_id, FOREIGN, created_by_id=manager["id"])
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["skip_logging"] = True
    command.downgrade(config, "0005")
    command.upgrade(config, "head")
    with get_sessionmaker()() as session:
        adopted = {row.log_id: row for row in session.scalars(select(WhatsAppOutbox))}
    assert set(adopted) == real and forged not in adopted
    assert all(row.armed and row.batch_id == batch_id and row.fingerprint is None for row in adopted.values())


def test_the_senders_fields_are_not_writable_through_either_entity_surface(client: Any, admin: dict[str, Any]) -> None:
    """The sending state is the server's: sent on create or update through /api/marketing_logs or the Base44
    surface, `batch_id`, `phone_e164`, `next_attempt_at`, ... are ignored like built-ins (the forms send whole
    records back), and the app's own fields are kept."""
    forged = {
        "batch_id": "b" * 24, "phone_e164": "+15550000000", "next_attempt_at": "2020-01-01T00:00:00",
        "provider_message_id": "wamid.X", "attempts": 0, "error_code": "x",
    }  # fmt: skip
    h = admin["headers"]
    made = client.post("/api/marketing_logs", json={"phone_number": "0521234567", **forged}, headers=h)
    assert made.status_code == 201, made.text
    assert made.json()["phone_number"] == "0521234567"
    assert all(made.json().get(name) is None for name in forged)
    b44 = "/api/apps/app123/entities/MarketingLog"
    other = client.post(b44, json={"message_content": "היי", **forged}, headers=h).json()
    for record_id in (made.json()["id"], other["id"]):
        client.put(f"{b44}/{record_id}", json={**forged, "status": "queued"}, headers=h)
        stored = client.get(f"/api/marketing_logs/{record_id}", headers=h).json()
        assert all(stored.get(name) is None for name in forged), stored
