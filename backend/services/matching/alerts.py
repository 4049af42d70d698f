"""Match alerts: whoever should act on a new match hears about it once, in one digest per person per run.

A new match of a pairing with `alerts: true` (made by the engine, or by a person or the office's browser
with the new status) gets one `match_alerts` row per channel of MATCH_ALERTS, `pending`, in the same
transaction as the match — unique per pair, so never twice. A job in the outbox (`match-alerts`, held back
MATCH_ALERT_DELAY_SECONDS so a burst of writes becomes one digest) claims every pending row, works out the
recipients — the seeker's `handler` when it names a user (e-mail or full name), otherwise the office
managers (app_role `office_manager`, or role/app_role `admin`) — and sends each recipient one digest per
channel: an e-mail through SMTP, or a WhatsApp template queued for the durable sender. A row without a
recipient, address or phone, or whose channel is not configured, ends `not_sent` with the reason and is
never retried; a channel that fails (SMTP down) is retried with the job, at most MAX_ATTEMPTS times.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, Text, and_, bindparam, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.database import dialect_insert, unit_of_work
from backend.errors import DomainError
from backend.models import ENTITY_MODELS, MatchAlert, User
from backend.models.base import new_id, utcnow
from backend.services import hooks, mail, outbox
from backend.services.matching.bound import Bound, bind
from backend.services.matching.pairings import Pairing, pairings
from backend.services.matching.search import chunks
from backend.services.matching.values import norm
from backend.services.whatsapp.notify import opt_out_reason, queue_message
from backend.services.whatsapp.phones import normalize
from backend.services.whatsapp.providers import Template

log = logging.getLogger(__name__)
ALERT_JOB = "match-alerts"  # the outbox entry of a send (not an entity name: those are PascalCase)
MAX_ATTEMPTS = 5
LEASE = dt.timedelta(minutes=10)  # a claimed row is the claimer's this long; then another drainer may take it
MAX_LINES = 30  # matches listed in one e-mail; the rest are counted
MANAGER_ROLES = {"office_manager", "admin"}
PHONE_KEYS = ("phone", "phone_number", "whatsapp", "mobile")  # where a user's own phone may be kept (`extra`)
ALERTS: Table = MatchAlert.__table__  # type: ignore[assignment]


def _insert(session: Session) -> Any:
    return dialect_insert(session)(ALERTS).on_conflict_do_nothing(
        index_elements=["pairing", "seek_id", "offer_id", "channel"]
    )


def _insert_unnest(pairing: str, channel: str, matches: list[tuple[str, str, str]], now: dt.datetime) -> Any:
    """PostgreSQL: one INSERT ... SELECT FROM unnest(arrays) — a full run records a hundred thousand alerts."""
    arrays = {name: [m[i] for m in matches] for i, name in enumerate(("match_id", "seek_id", "offer_id"))}
    rows = (
        func.unnest(*(bindparam(f"a_{name}", data, type_=postgresql.ARRAY(Text)) for name, data in arrays.items()))
        .table_valued(*arrays)
        .render_derived(name="a")
    )
    source = select(
        literal(pairing), rows.c.match_id, rows.c.seek_id, rows.c.offer_id, literal(channel), literal("pending"),
        literal(0), literal(now),
    )  # fmt: skip
    target = ["pairing", "match_id", "seek_id", "offer_id", "channel", "status", "attempts", "created_date"]
    return (
        postgresql.insert(ALERTS)
        .from_select(target, source)
        .on_conflict_do_nothing(index_elements=["pairing", "seek_id", "offer_id", "channel"])
    )


def record_pairs(session: Session, bound: Bound, matches: Iterable[tuple[str, str, str]]) -> int:
    """Pending alerts for new matches `(match id, seeker id, offer id)`, in the caller's transaction, once per
    pair and channel; queues the send. Answers how many pairs were offered."""
    channels = get_settings().alert_channels
    pairing = bound.pairing
    matches = list(matches)
    if not channels or not pairing.alerts or not matches:
        return 0
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        for channel in channels:
            for start in range(0, len(matches), 20_000):
                session.execute(_insert_unnest(pairing.name, channel, matches[start : start + 20_000], now))
    else:
        rows = [
            {"pairing": pairing.name, "match_id": match_id, "seek_id": seek_id, "offer_id": offer_id,
             "channel": channel, "status": "pending", "attempts": 0, "created_date": now}
            for match_id, seek_id, offer_id in matches
            for channel in channels
        ]  # fmt: skip
        for start in range(0, len(rows), 5000):
            session.execute(_insert(session), rows[start : start + 5000])
    outbox.record(session, ALERT_JOB, ["send"], delay=get_settings().match_alert_delay_seconds)
    return len(matches)


def record_new(session: Session, bound: Bound, ids: list[str]) -> int:
    """Pending alerts for those of `ids` (result records written by anyone) that are new, live matches."""
    res = bound.result
    t = res.table
    found: list[tuple[str, str, str]] = []
    for part in chunks(ids):
        stmt = select(t.c.id, res.seek, res.offer).where(
            t.c.id.in_(part), res.status == res.new_status, t.c.deleted_at.is_(None), res.seek.is_not(None),
            res.offer.is_not(None),
        )  # fmt: skip
        found.extend((row[0], row[1], row[2]) for row in session.execute(stmt))
    return record_pairs(session, bound, found)


# ---- sending ------------------------------------------------------------------------------------------


@dataclass
class _Alert:
    id: int
    pairing: Pairing
    match_id: str
    seek_id: str
    offer_id: str
    channel: str
    attempts: int
    line: str = ""
    score: int = 0
    ok: list[str] = field(default_factory=list)  # recipients it reached
    refused: list[str] = field(default_factory=list)  # why it did not reach someone (final)
    retry: list[str] = field(default_factory=list)  # transient failures
    digest_id: str | None = None
    log_id: str | None = None


def _claim(session: Session) -> list[_Alert]:
    now = utcnow()
    due = (
        select(MatchAlert.id)
        .where(or_(MatchAlert.status == "pending", and_(MatchAlert.status == "sending", MatchAlert.lease_until < now)))
        .order_by(MatchAlert.id)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = session.execute(
        update(MatchAlert)
        .where(MatchAlert.id.in_(due))
        .values(status="sending", lease_until=now + LEASE, attempts=MatchAlert.attempts + 1)
        .returning(
            MatchAlert.id, MatchAlert.pairing, MatchAlert.match_id, MatchAlert.seek_id, MatchAlert.offer_id,
            MatchAlert.channel, MatchAlert.attempts,
        )
    ).all()  # fmt: skip
    by_name = {p.name: p for p in pairings()}
    claimed, orphans = [], []
    for r in sorted(rows):
        pairing = by_name.get(r[1])
        if pairing is None:  # a pairing removed from MATCH_PAIRINGS since: nothing to describe it with
            orphans.append(r[0])
        else:
            claimed.append(_Alert(r[0], pairing, r[2], r[3], r[4], r[5], r[6]))
    if orphans:
        session.execute(
            update(MatchAlert)
            .where(MatchAlert.id.in_(orphans))
            .values(status="not_sent", reason="its pairing is no longer configured (MATCH_PAIRINGS)")
        )
    return claimed


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _amount(value: Any) -> str:
    return f"{value:,} ₪" if isinstance(value, int) and not isinstance(value, bool) else _text(value)


def _seekers(session: Session, bound: Bound, alerts: list[_Alert]) -> dict[str, dict[str, Any]]:
    return _rows(session, bound.seek.model, [bound.seek.model.id, *_seeker_columns(bound)], [a.seek_id for a in alerts])


def _describe(session: Session, bound: Bound, alerts: list[_Alert], seekers: dict[str, dict[str, Any]]) -> None:
    """Each alert's line (score, the listing, the seeker) and whether its match is still new and live."""
    res = bound.result
    t = res.table
    matches: dict[str, Any] = {}
    for part in chunks([a.match_id for a in alerts]):
        stmt = select(t.c.id, res.score, res.status, t.c.deleted_at).where(t.c.id.in_(part))
        matches.update({row[0]: row for row in session.execute(stmt)})
    offers = _rows(session, bound.offer.model, bound.offer.select, [a.offer_id for a in alerts])
    names = _contact_names(session, [s.get("contact_id") for s in seekers.values()])
    for alert in alerts:
        match = matches.get(alert.match_id)
        if match is None or match[3] is not None:
            alert.refused.append("the match was removed before the alert went out")
            continue
        if match[2] != res.new_status:
            alert.refused.append("an agent already acted on the match")
            continue
        alert.score = int(match[1] or 0)
        offer = offers.get(alert.offer_id, {})
        seeker = seekers.get(alert.seek_id, {})
        place = " ".join(filter(None, (_text(offer.get("property_type")), _text(offer.get("city")))))
        details = ", ".join(filter(None, (
            place, _text(offer.get("area")),
            f"{_text(offer.get('rooms'))} חד'" if offer.get("rooms") else "", _amount(offer.get("price")),
        )))  # fmt: skip
        who = names.get(_text(seeker.get("contact_id"))) or f"#{alert.seek_id}"
        budget = f" (תקציב {_amount(seeker.get('budget'))})" if seeker.get("budget") is not None else ""
        alert.line = f"• {alert.score}% — {details or '#' + alert.offer_id} ← {who}{budget}"


def _seeker_columns(bound: Bound) -> list[Any]:
    model, fields = bound.seek.model, bound.seek.side.spec.fields
    picked = [
        getattr(model, name).label(role)
        for role, name in bound.seek.side.fields.items()
        if role in ("handler", "budget")
    ]
    if "contact_id" in fields:
        picked.append(model.contact_id.label("contact_id"))
    return picked


def _rows(session: Session, model: Any, columns: list[Any], ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(sorted(set(ids))):
        for row in session.execute(select(*columns).where(model.id.in_(part))):
            found[row[0]] = dict(row._mapping)
    return found


def _contact_names(session: Session, ids: list[Any]) -> dict[str, str]:
    contact = ENTITY_MODELS["Contact"]
    wanted = sorted({i for i in ids if isinstance(i, str) and i})
    names: dict[str, str] = {}
    for part in chunks(wanted):
        for cid, name in session.execute(select(contact.id, contact.full_name).where(contact.id.in_(part))):
            if name:
                names[cid] = str(name)
    return names


@dataclass(frozen=True)
class _Person:
    id: str
    email: str
    name: str
    phone: str | None


def _people(session: Session) -> tuple[list[_Person], dict[str, _Person]]:
    """(the office managers, every enabled user by lower-cased e-mail and by normalised full name)."""
    managers: list[_Person] = []
    lookup: dict[str, _Person] = {}
    for user in session.scalars(select(User).where(User.disabled.is_(False)).order_by(User.email)):
        extra = user.extra or {}
        raw_phone = next((extra[k] for k in PHONE_KEYS if isinstance(extra.get(k), str) and extra[k].strip()), None)
        person = _Person(user.id, user.email, user.full_name or user.email, normalize(raw_phone))
        lookup[user.email.lower()] = person
        if user.full_name and norm(user.full_name):
            lookup.setdefault(norm(user.full_name) or "", person)
        if user.app_role in MANAGER_ROLES or user.role == "admin":
            managers.append(person)
    return managers, lookup


def _recipients(handler: Any, managers: list[_Person], lookup: dict[str, _Person]) -> list[_Person]:
    key = norm(handler)
    if key and key in lookup:
        return [lookup[key]]
    return managers


def send_pending() -> int:
    """Claim every pending alert and send the digests; answers how many alerts were settled. Raises when a
    channel failed for a reason that may pass (the outbox then runs the job again later)."""
    with unit_of_work() as session:
        claimed = _claim(session)
    if not claimed:
        return 0
    with unit_of_work() as session:
        managers, lookup = _people(session)
        handlers: dict[tuple[str, str], Any] = {}
        for pairing in {a.pairing for a in claimed}:
            mine = [a for a in claimed if a.pairing is pairing]
            bound = bind(pairing)
            seekers = _seekers(session, bound, mine)
            _describe(session, bound, mine, seekers)
            handlers.update({(pairing.name, sid): row.get("handler") for sid, row in seekers.items()})
    digests: dict[tuple[str, str], tuple[_Person, list[_Alert]]] = {}
    for alert in claimed:
        if alert.refused:
            continue
        people = _recipients(handlers.get((alert.pairing.name, alert.seek_id)), managers, lookup)
        if not people:
            alert.refused.append("no recipient: the seeker's handler is no user, and no user is an office manager")
        for person in people:
            digests.setdefault((person.id, alert.channel), (person, []))[1].append(alert)
    for (_, channel), (person, alerts) in digests.items():
        alerts.sort(key=lambda a: (-a.score, a.match_id))
        if channel == "email":
            _email(person, alerts)
        else:
            _whatsapp(person, alerts)
    _settle(claimed)
    if any(a.retry and not a.ok for a in claimed):
        raise RuntimeError("some match alerts could not be sent yet; they are tried again later")
    return len(claimed)


def _link(alerts: list[_Alert]) -> str:
    base = get_settings().frontend_url.rstrip("/")
    page = next((a.pairing.page for a in alerts if a.pairing.page), "")
    return f"{base}/{page}" if page else base


def _email(person: _Person, alerts: list[_Alert]) -> None:
    address = person.email
    if not mail.is_configured():
        _refuse(alerts, "e-mail is not configured (SMTP_HOST is empty)")
        return
    if not address or "@" not in address or any(ch in address for ch in "\r\n "):
        _refuse(alerts, f"no valid e-mail address for user {person.id}")
        return
    count = len(alerts)
    lines = [a.line for a in alerts[:MAX_LINES]]
    if count > MAX_LINES:
        lines.append(f"ועוד {count - MAX_LINES} התאמות.")
    body = f"שלום {person.name},\n\nנמצאו {count} התאמות חדשות:\n\n" + "\n".join(lines)
    body += f"\n\nלצפייה ולטיפול: {_link(alerts)}\n"
    subject = "התאמה חדשה" if count == 1 else f"{count} התאמות חדשות"
    try:
        mail.send_mail(address, subject, body)
    except DomainError as exc:  # the server refused or did not answer: may pass
        for alert in alerts:
            alert.retry.append(f"e-mail to {address}: {exc.message}")
        return
    digest = new_id()
    for alert in alerts:
        alert.ok.append(address)
        alert.digest_id = alert.digest_id or digest


def _whatsapp(person: _Person, alerts: list[_Alert]) -> None:
    settings = get_settings()
    if person.phone is None:
        _refuse(alerts, f"no valid phone for {person.email} (set `phone` on the user)")
        return
    params = (person.name, str(len(alerts)), _link(alerts))
    template = Template(settings.match_alert_whatsapp_template, settings.match_alert_whatsapp_language, params)
    digest = new_id()
    with unit_of_work() as session:
        refused = opt_out_reason(session, person.phone)
        if refused is not None:
            _refuse(alerts, f"{person.phone} {refused}")
            return
        log_id = queue_message(session, person.phone, template=template, created_by="match-alerts")
        # The message and the alerts' `sent` commit together: a digest is queued once or not at all.
        session.execute(
            update(MatchAlert)
            .where(MatchAlert.id.in_([a.id for a in alerts]))
            .values(status="sent", recipient=person.phone, recipient_user_id=person.id, digest_id=digest,
                    marketing_log_id=log_id, sent_date=utcnow(), lease_until=None)
        )  # fmt: skip
    for alert in alerts:
        alert.ok.append(person.phone)
        alert.digest_id, alert.log_id = digest, log_id


def _refuse(alerts: list[_Alert], reason: str) -> None:
    for alert in alerts:
        alert.refused.append(reason)


def _settle(claimed: list[_Alert]) -> None:
    """Write each claimed alert's outcome: sent to anyone → sent; else a passing failure → pending again (or
    failed after MAX_ATTEMPTS); else not_sent with every reason. Alerts with the same outcome (a digest's)
    are written by one statement."""
    now = utcnow()
    outcomes: dict[tuple[tuple[str, Any], ...], list[int]] = {}
    for alert in claimed:
        if alert.ok:
            if alert.channel == "whatsapp":
                continue  # written with the queued message
            values: dict[str, Any] = {"status": "sent", "recipient": ", ".join(alert.ok)[:320],
                                      "digest_id": alert.digest_id, "sent_date": now,
                                      "reason": "; ".join(alert.refused + alert.retry)[:2000] or None}  # fmt: skip
        elif alert.retry:
            final = alert.attempts >= MAX_ATTEMPTS
            values = {"status": "failed" if final else "pending", "reason": "; ".join(alert.retry)[:2000]}
        else:
            values = {"status": "not_sent", "reason": "; ".join(alert.refused)[:2000]}
        outcomes.setdefault(tuple(sorted(values.items())), []).append(alert.id)
    with unit_of_work() as session:
        for key, ids in outcomes.items():
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                session.execute(
                    update(MatchAlert)
                    .where(MatchAlert.id.in_(part), MatchAlert.status == "sending")
                    .values(lease_until=None, **dict(key))
                )


def send_after_write(_entity: str, _ids: list[str], _kind: hooks.WriteKind) -> None:
    """The outbox hook of ALERT_JOB."""
    settled = send_pending()
    if settled:
        log.info("match alerts: %d settled", settled)


def register() -> None:
    hooks.on_write(ALERT_JOB, send_after_write)
