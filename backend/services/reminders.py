"""Meeting reminders: a WhatsApp message to the meeting's contact before it, once, through the durable sender.

When: the meeting's `reminder_date`, else MEETING_REMINDER_HOURS before its `start_date` (0: only explicit
reminder dates). Dates without a zone (the form's datetime-local) are the office's time, OFFICE_TIMEZONE.
Every write of a Meeting (either surface, from the outbox) brings its row in `meeting_reminders` up to date:
scheduled at the new time, moved, or cancelled (deleted, cancelled/postponed/held, no dates). A scheduler —
the outbox drainer's every round, in the app (JOBS_INAPP) or `scripts/worker.py` — claims due rows (FOR
UPDATE SKIP LOCKED on PostgreSQL, a lease everywhere) and, in one transaction, re-checks the row, queues the
message and marks it `sent`; the mark is conditional on the row still being scheduled for that time, so two
workers, or a meeting moved at that moment, never produce a second message. No valid phone, an opt-out or a
meeting already begun ends the row `not_sent` with the reason; nothing is retried forever.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.database import dialect_insert, unit_of_work
from backend.models import ENTITY_MODELS, MeetingReminder
from backend.models.base import utcnow
from backend.services import hooks, outbox
from backend.services.matching.values import norm
from backend.services.whatsapp.notify import opt_out_reason, queue_message
from backend.services.whatsapp.phones import normalize
from backend.services.whatsapp.providers import Template

log = logging.getLogger(__name__)
Meeting: Any = ENTITY_MODELS["Meeting"]
Contact: Any = ENTITY_MODELS["Contact"]
Buyer: Any = ENTITY_MODELS["BuyersBrokerage"]  # a meeting's client_id (MeetingForm / Meetings.jsx)
NO_REMINDER_STATUSES = {"בוטלה", "נדחתה", "התקיימה", "cancelled", "canceled", "postponed", "done"}
LEASE = dt.timedelta(minutes=5)
BATCH = 100
MAX_ATTEMPTS = 5  # a reminder whose sending keeps failing (not a missing phone: an error) is given up
SWEEP = 500  # meetings without a reminder row scheduled per round
R = MeetingReminder


def parse_when(value: Any) -> dt.datetime | None:
    """A date-time field as naive UTC: ISO text with or without seconds, zone or time; no zone = office time.
    Raises ValueError for text that is no date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    text = value.strip().replace(" ", "T", 1)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not a date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(get_settings().office_timezone))
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class _Plan:
    status: str  # scheduled | cancelled | not_sent
    remind_at: dt.datetime | None = None
    reason: str | None = None


def plan_for(meeting: Any | None) -> _Plan:
    """What the reminder of `meeting` (a row, or None when purged) should be now."""
    settings = get_settings()
    if meeting is None or meeting.deleted_at is not None:
        return _Plan("cancelled", reason="the meeting was deleted")
    if not settings.meeting_reminders:
        return _Plan("cancelled", reason="meeting reminders are off (MEETING_REMINDERS=false)")
    if norm(meeting.status) in NO_REMINDER_STATUSES:
        return _Plan("cancelled", reason=f"the meeting's status is {meeting.status!r}")
    try:
        explicit = parse_when(meeting.reminder_date)
    except ValueError as exc:
        return _Plan("not_sent", reason=f"reminder_date: {exc}")
    if explicit is not None:
        return _Plan("scheduled", remind_at=explicit)
    try:
        start = parse_when(meeting.start_date)
    except ValueError as exc:
        return _Plan("not_sent", reason=f"start_date: {exc}")
    if start is None:
        return _Plan("cancelled", reason="the meeting has no start_date or reminder_date")
    if settings.meeting_reminder_hours <= 0:
        return _Plan("cancelled", reason="no reminder_date, and MEETING_REMINDER_HOURS is 0")
    return _Plan("scheduled", remind_at=start - dt.timedelta(hours=settings.meeting_reminder_hours))


def _meeting(session: Session, meeting_id: str) -> Any | None:
    columns = [Meeting.id, Meeting.deleted_at, Meeting.status, Meeting.reminder_date, Meeting.start_date,
               Meeting.contact_id, Meeting.client_id, Meeting.meeting_type, Meeting.location]  # fmt: skip
    return session.execute(select(*columns).where(Meeting.id == meeting_id)).first()


def schedule(session: Session, meeting_id: str) -> str:
    """Bring one meeting's reminder row up to date (caller commits); answers its status."""
    plan = plan_for(_meeting(session, meeting_id))
    now = utcnow()
    session.execute(
        dialect_insert(session)(R)
        .values(meeting_id=meeting_id, status="new", attempts=0, created_date=now, updated_date=now)
        .on_conflict_do_nothing(index_elements=["meeting_id"])
    )
    row = session.execute(select(R).where(R.meeting_id == meeting_id).with_for_update()).scalar_one()
    if row.status == "sent" and plan.status == "scheduled" and row.sent_for == plan.remind_at:
        return row.status  # already sent for exactly this time (the meeting was edited, not moved)
    if row.status == plan.status and row.remind_at == plan.remind_at and row.reason == plan.reason:
        return row.status
    row.status, row.remind_at, row.reason, row.updated_date = plan.status, plan.remind_at, plan.reason, now
    row.attempts, row.lease_until = 0, None
    return row.status


def after_meeting_write(_entity: str, ids: list[str], _kind: hooks.WriteKind) -> None:
    """The Meeting after-write hook (outbox): create, move or cancel each meeting's reminder."""
    with unit_of_work() as session:
        for meeting_id in ids:
            schedule(session, meeting_id)


# ---- the scheduler --------------------------------------------------------------------------------------


def _claim(session: Session, now: dt.datetime) -> list[tuple[str, dt.datetime, int]]:
    due = (
        select(R.meeting_id)
        .where(R.status == "scheduled", R.remind_at <= now, or_(R.lease_until.is_(None), R.lease_until < now))
        .order_by(R.remind_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = session.execute(
        update(R)
        .where(R.meeting_id.in_(due))
        .values(lease_until=now + LEASE, attempts=R.attempts + 1)
        .returning(R.meeting_id, R.remind_at, R.attempts)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows if row[1] is not None]


def _phone(session: Session, meeting: Any) -> tuple[str | None, str | None, str]:
    """(E.164 phone, contact id, the contact's name) of the meeting's contact, else of its client's contact."""
    contact_id = meeting.contact_id
    if not contact_id and meeting.client_id:
        contact_id = session.scalar(select(Buyer.contact_id).where(Buyer.id == meeting.client_id))
    if not contact_id:
        return None, None, ""
    found = session.execute(
        select(Contact.phone, Contact.full_name).where(Contact.id == contact_id, Contact.deleted_at.is_(None))
    ).first()
    if found is None:
        return None, contact_id, ""
    return normalize(found[0]), contact_id, str(found[1] or "")


def _content(meeting: Any, name: str) -> tuple[str | None, Template | None]:
    settings = get_settings()
    start = parse_when(meeting.start_date)
    local = start.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(settings.office_timezone)) if start else None
    day = local.strftime("%d/%m/%Y") if local else ""
    hour = local.strftime("%H:%M") if local else ""
    place = str(meeting.location or meeting.meeting_type or "").strip()
    if settings.meeting_reminder_template:
        params = tuple(p or "-" for p in (name.strip() or "שלום", day, hour, place))
        return None, Template(settings.meeting_reminder_template, settings.meeting_reminder_language, params)
    kind = f" ({meeting.meeting_type})" if meeting.meeting_type else ""
    where = f", {meeting.location}" if meeting.location else ""
    text = f"שלום {name.strip()}, תזכורת לפגישה{kind} ב-{day} בשעה {hour}{where}.".replace("שלום ,", "שלום,")
    return text, None


def _finish(session: Session, meeting_id: str, remind_at: dt.datetime, **values: Any) -> bool:
    """Settle a claimed reminder, only if it is still scheduled for the time it was claimed at."""
    result = session.execute(
        update(R)
        .where(R.meeting_id == meeting_id, and_(R.status == "scheduled", R.remind_at == remind_at))
        .values(lease_until=None, updated_date=utcnow(), **values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _send_one(session: Session, meeting_id: str, remind_at: dt.datetime, now: dt.datetime) -> str:
    meeting = _meeting(session, meeting_id)
    plan = plan_for(meeting)
    if meeting is None or plan.status != "scheduled" or plan.remind_at != remind_at:  # changed (or the settings)
        schedule(session, meeting_id)
        return "rescheduled"
    start = parse_when(meeting.start_date)
    if start is not None and start <= now:
        return "not_sent" if _finish(session, meeting_id, remind_at, status="not_sent",
                                     reason="the meeting had already started") else "skipped"  # fmt: skip
    phone, contact_id, name = _phone(session, meeting)
    if phone is None:
        reason = "no valid phone: " + ("the meeting has no contact" if not contact_id else f"contact {contact_id}")
        return "not_sent" if _finish(session, meeting_id, remind_at, status="not_sent", reason=reason) else "skipped"
    refused = opt_out_reason(session, phone)
    if refused is not None:
        ok = _finish(session, meeting_id, remind_at, status="not_sent", phone=phone, reason=f"{phone} {refused}")
        return "not_sent" if ok else "skipped"
    # Settled first, queued second, in one transaction: a reminder another worker settled meanwhile queues nothing.
    if not _finish(session, meeting_id, remind_at, status="sent", sent_for=remind_at, phone=phone, reason=None):
        return "skipped"
    text, template = _content(meeting, name)
    log_id = queue_message(session, phone, text=text, template=template, contact_id=contact_id, created_by="reminders")
    session.execute(update(R).where(R.meeting_id == meeting_id).values(marketing_log_id=log_id))
    return "sent"


def sweep(limit: int = SWEEP) -> int:
    """Schedule live meetings that have no reminder row yet — written without hooks (the import script, the
    admin import) — a few hundred per round; answers how many."""
    missing = ~exists().where(R.meeting_id == Meeting.id)
    with unit_of_work() as session:
        ids = list(session.scalars(select(Meeting.id).where(Meeting.deleted_at.is_(None), missing).limit(limit)))
        for meeting_id in ids:
            schedule(session, meeting_id)
    return len(ids)


def _anything_due(session: Session, now: dt.datetime) -> bool:
    """A cheap read first, so an idle round writes nothing."""
    stmt = select(R.meeting_id).where(R.status == "scheduled", R.remind_at <= now).limit(1)
    return session.execute(stmt).first() is not None


def send_due() -> dict[str, int]:
    """Send every reminder due now; answers counts by outcome. Safe with any number of workers."""
    counts: dict[str, int] = {}
    if get_settings().meeting_reminders:
        swept = sweep()
        if swept:
            log.info("meeting reminders: scheduled %d meeting(s) written without hooks", swept)
    with unit_of_work() as session:
        if not _anything_due(session, utcnow()):
            return {}
    while True:
        now = utcnow()
        with unit_of_work() as session:
            claimed = _claim(session, now)
        if not claimed:
            break
        for meeting_id, remind_at, attempts in claimed:
            try:
                with unit_of_work() as session:
                    outcome = _send_one(session, meeting_id, remind_at, now)
            except Exception as exc:  # the lease runs out and the row is due again, a few times
                log.exception("meeting reminder %s failed (attempt %d)", meeting_id, attempts)
                outcome = "error"
                if attempts >= MAX_ATTEMPTS:
                    reason = f"gave up after {attempts} attempts: {type(exc).__name__}: {exc}"[:2000]
                    with unit_of_work() as session:
                        _finish(session, meeting_id, remind_at, status="not_sent", reason=reason)
            counts[outcome] = counts.get(outcome, 0) + 1
        if len(claimed) < BATCH:
            break
    if counts.get("sent"):  # the in-app sender was woken as each one committed (notify.queue_message)
        log.info("meeting reminders: %s", counts)
    return counts


def register() -> None:
    hooks.on_write("Meeting", after_meeting_write)
    outbox.every_round(send_due)
