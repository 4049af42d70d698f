"""Meeting reminders on both databases: scheduled by Meeting writes through either surface, moved and
cancelled with the meeting, sent once through the durable sender (even with two schedulers at once), and
recorded as not sent — with the reason — when there is no valid phone, an opt-out, or nothing to remind of."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import MarketingLog, MeetingReminder
from backend.models.base import utcnow
from backend.services import reminders
from backend.services.outbox import drain_all
from backend.services.whatsapp.records import add_opt_out
from tests.matching_support import B44, b44, rest
from tests.whatsapp_support import VALID, drain, fake_fixture, meta_fixture, senders_fixture  # noqa: F401

TZ = ZoneInfo("Asia/Jerusalem")


def local(delta: dt.timedelta) -> str:
    """A datetime-local value as MeetingForm sends it: office time, no zone, to the minute."""
    return (dt.datetime.now(TZ) + delta).strftime("%Y-%m-%dT%H:%M")


def reminder(meeting_id: str) -> MeetingReminder | None:
    with get_sessionmaker()() as session:
        return session.get(MeetingReminder, meeting_id)


def messages() -> list[MarketingLog]:
    with get_sessionmaker()() as session:
        return list(session.scalars(select(MarketingLog).order_by(MarketingLog.created_date)))


def contact(client: Any, headers: dict[str, str], phone: str | None = VALID[5], name: str = "דנה כהן") -> str:
    return rest(client, headers, "contacts", {"full_name": name, "phone": phone})


def meeting(client: Any, headers: dict[str, str], **fields: Any) -> str:
    body = {"meeting_type": "פרונטאלי", "status": "נקבעה", "handler": "דני", "location": "רוטשילד 1", **fields}
    return rest(client, headers, "meetings", body)


def edit(client: Any, headers: dict[str, str], meeting_id: str, **fields: Any) -> None:
    response = client.put(f"{B44}/Meeting/{meeting_id}", json=fields, headers=headers)  # the office's form
    assert response.status_code == 200, response.text
    drain_all()


def test_a_due_reminder_is_sent_once_through_the_durable_sender(
    client: Any, agent: dict[str, Any], meta: Any, senders: Any
) -> None:
    h = agent["headers"]
    who = contact(client, h)
    start = local(dt.timedelta(days=1))
    mid = b44(client, h, "Meeting", {"contact_id": who, "start_date": start, "reminder_date": local(-dt.timedelta(hours=1)),
                                     "meeting_type": "תצוגת נכס", "status": "נקבעה"})  # fmt: skip
    assert reminder(mid) is None  # scheduled after the commit, by the outbox
    drain_all()
    row = reminder(mid)
    assert row is not None and row.status == "scheduled" and row.remind_at is not None and row.remind_at < utcnow()

    assert reminders.send_due() == {"sent": 1}
    [message] = messages()
    day, hour = start[8:10] + "/" + start[5:7] + "/" + start[:4], start[11:16]
    assert message.message_content == f"שלום דנה כהן, תזכורת לפגישה (תצוגת נכס) ב-{day} בשעה {hour}."
    assert (message.phone_e164, message.contact_id, message.status) == (VALID[5], who, "queued")
    row = reminder(mid)
    assert row is not None
    assert (row.status, row.phone, row.marketing_log_id, row.sent_for) == ("sent", VALID[5], message.id, row.remind_at)

    assert reminders.send_due() == {}  # once
    edit(client, h, mid, notes="להביא חוזה")  # edited, not moved: still sent, not sent again
    assert reminders.send_due() == {} and len(messages()) == 1
    drain(senders())
    assert meta.accepted_to() == [VALID[5].lstrip("+")]


def test_without_a_reminder_date_it_is_due_hours_before_the_start_in_office_time(
    client: Any, agent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = agent["headers"]
    mid = meeting(client, h, contact_id=contact(client, h), start_date="2031-07-01T10:00")  # summer: UTC+3
    drain_all()
    row = reminder(mid)
    assert row is not None and (row.status, row.remind_at) == ("scheduled", dt.datetime(2031, 6, 30, 7, 0))
    edit(client, h, mid, start_date="2031-12-01T10:00:00Z")  # an explicit zone is taken as given
    row = reminder(mid)
    assert row is not None and row.remind_at == dt.datetime(2031, 11, 30, 10, 0)
    monkeypatch.setattr(get_settings(), "meeting_reminder_hours", 2.5)
    edit(client, h, mid, location="אחר")
    row = reminder(mid)
    assert row is not None and row.remind_at == dt.datetime(2031, 12, 1, 7, 30)
    assert reminders.send_due() == {} and messages() == []


def test_a_moved_meeting_moves_its_reminder_and_a_cancelled_one_sends_nothing(
    client: Any, agent: dict[str, Any], admin: dict[str, Any]
) -> None:
    h = agent["headers"]
    who = contact(client, h)
    mid = meeting(client, h, contact_id=who, start_date=local(dt.timedelta(days=5)))
    drain_all()
    first = reminder(mid)
    assert first is not None and first.status == "scheduled"
    edit(client, h, mid, start_date=local(dt.timedelta(days=9)))
    moved = reminder(mid)
    assert moved is not None and moved.remind_at is not None and first.remind_at is not None
    assert (moved.status, (moved.remind_at - first.remind_at).days) == ("scheduled", 4)

    edit(client, h, mid, reminder_date=local(-dt.timedelta(minutes=5)))  # due now
    edit(client, h, mid, status="בוטלה")  # ... but cancelled before the scheduler came round
    row = reminder(mid)
    assert row is not None and (row.status, row.reason) == ("cancelled", "the meeting's status is 'בוטלה'")
    assert reminders.send_due() == {} and messages() == []

    edit(client, h, mid, status="נקבעה")  # back on: due, sent
    assert reminders.send_due() == {"sent": 1}
    edit(client, h, mid, reminder_date=local(dt.timedelta(days=2)))  # moved after it went out: again later
    row = reminder(mid)
    assert row is not None and row.status == "scheduled" and row.sent_for is not None
    assert client.delete(f"/api/meetings/{mid}", headers=h).status_code == 204
    drain_all()
    row = reminder(mid)
    assert row is not None and (row.status, row.reason) == ("cancelled", "the meeting was deleted")
    assert len(messages()) == 1


def test_a_meeting_changed_while_due_is_rescheduled_not_sent(client: Any, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    mid = meeting(client, h, contact_id=contact(client, h), start_date=local(dt.timedelta(days=1)),
                  reminder_date=local(-dt.timedelta(minutes=1)))  # fmt: skip
    drain_all()
    response = client.put(f"/api/meetings/{mid}", json={"reminder_date": local(dt.timedelta(hours=3))}, headers=h)
    assert response.status_code == 200  # committed, but its hook has not run yet
    assert reminders.send_due() == {"rescheduled": 1}
    row = reminder(mid)
    assert row is not None and row.status == "scheduled" and row.remind_at is not None and row.remind_at > utcnow()
    assert messages() == []


def test_two_schedulers_at_once_send_each_reminder_once(client: Any, agent: dict[str, Any]) -> None:
    h = agent["headers"]
    who = contact(client, h)
    ids = [meeting(client, h, contact_id=who, start_date=local(dt.timedelta(days=1, minutes=i)),
                   reminder_date=local(-dt.timedelta(minutes=1))) for i in range(12)]  # fmt: skip
    drain_all()
    start = threading.Barrier(2)
    outcomes: list[dict[str, int]] = []

    def scheduler() -> None:
        start.wait()
        outcomes.append(reminders.send_due())

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(o.get("sent", 0) for o in outcomes) == 12
    sent = [m.id for m in messages()]
    assert len(sent) == 12
    assert {r.marketing_log_id for r in map(reminder, ids) if r is not None} == set(sent)
    # A claim whose lease ran out is taken again, but the send is conditional: still nothing twice.
    row = reminder(ids[0])
    assert row is not None and row.remind_at is not None
    with get_sessionmaker()() as session:
        assert reminders._send_one(session, ids[0], row.remind_at, utcnow()) == "skipped"
        session.commit()
    assert len(messages()) == 12


def test_reminders_that_cannot_go_out_are_recorded_with_the_reason(client: Any, manager: dict[str, Any]) -> None:
    h = manager["headers"]  # the do-not-call list is the managers'

    due = {"start_date": local(dt.timedelta(days=1)), "reminder_date": local(-dt.timedelta(minutes=1))}
    cases = {
        "no contact": meeting(client, h, **due),
        "bad phone": meeting(client, h, contact_id=contact(client, h, phone="050-123-4567"), **due),
        "opted out": meeting(client, h, contact_id=contact(client, h, phone=VALID[7]), **due),
        "do not call": meeting(client, h, contact_id=contact(client, h, phone=VALID[8]), **due),
        "started": meeting(
            client,
            h,
            contact_id=contact(client, h),
            start_date=local(-dt.timedelta(minutes=30)),
            reminder_date=local(-dt.timedelta(hours=2)),
        ),
    }
    rest(client, h, "do_not_call_list", {"phone_number": "052-555-0008", "reason": "ביקש"})
    with get_sessionmaker()() as session:
        add_opt_out(session, VALID[7], "keyword")
        session.commit()
    drain_all()
    assert reminders.send_due() == {"not_sent": 5}
    reasons = {}
    for name, mid in cases.items():
        row = reminder(mid)
        assert row is not None
        reasons[name] = (row.status, row.reason)
    assert reasons["no contact"] == ("not_sent", "no valid phone: the meeting has no contact")
    assert reasons["bad phone"][0] == "not_sent" and reasons["bad phone"][1].startswith("no valid phone: contact ")
    assert reasons["opted out"] == ("not_sent", f"{VALID[7]} opted out of WhatsApp messages")
    assert reasons["do not call"] == ("not_sent", f"{VALID[8]} on the do-not-call list")
    assert reasons["started"] == ("not_sent", "the meeting had already started")
    assert messages() == [] and reminders.send_due() == {}  # never retried


def test_a_meeting_of_a_brokerage_client_reminds_that_clients_contact_with_the_template(
    client: Any, agent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "meeting_reminder_template", "meeting_reminder")
    h = agent["headers"]
    who = contact(client, h, phone=VALID[9], name="אבי")
    buyer = rest(client, h, "buyers_brokerage", {"contact_id": who, "request_category": "קנייה"})
    start = local(dt.timedelta(days=1))
    meeting(client, h, client_id=buyer, start_date=start, reminder_date=local(-dt.timedelta(hours=1)))
    drain_all()
    assert reminders.send_due() == {"sent": 1}
    [message] = messages()
    assert (message.phone_e164, message.contact_id, message.template_name) == (VALID[9], who, "meeting_reminder")
    day = f"{start[8:10]}/{start[5:7]}/{start[:4]}"
    assert message.extra == {"template_language": "he", "template_params": ["אבי", day, start[11:16], "רוטשילד 1"]}


def test_meetings_imported_without_hooks_are_picked_up_by_the_scheduler(
    client: Any, agent: dict[str, Any], admin: dict[str, Any]
) -> None:
    who = contact(client, agent["headers"])
    due = {"id": "imported-1", "contact_id": who, "start_date": local(dt.timedelta(days=1)),
           "reminder_date": local(-dt.timedelta(hours=1)), "created_date": "2025-01-01T00:00:00.000000"}  # fmt: skip
    later = {"id": "imported-2", "contact_id": who, "start_date": local(dt.timedelta(days=3)),
             "created_date": "2025-01-01T00:00:00.000000"}  # fmt: skip
    response = client.post("/api/admin/import/Meeting", json=[due, later], headers=admin["headers"])
    assert response.status_code == 200 and response.json()["created"] == 2, response.text
    drain_all()
    with get_sessionmaker()() as session:
        assert list(session.scalars(select(MeetingReminder))) == []  # the admin import runs no hooks
    assert reminders.send_due() == {"sent": 1}
    with get_sessionmaker()() as session:
        assert sorted(r.status for r in session.scalars(select(MeetingReminder))) == ["scheduled", "sent"]
    assert reminders.send_due() == {} and len(messages()) == 1
