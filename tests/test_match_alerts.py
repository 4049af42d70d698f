"""Match alerts on both databases: GenerateAndAlertMatches (and auto-matching) tell whoever should act, once
per new match, one digest per person per run — by e-mail through a real SMTP exchange on loopback, or by a
WhatsApp template through the durable sender and the fake Meta API — and record what was (not) sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.models import MarketingLog, MatchAlert, OutboxEntry, User
from backend.models.base import utcnow
from backend.services.matching import alerts
from backend.services.outbox import drain_all
from backend.services.whatsapp.records import add_opt_out
from tests.conftest import make_user
from tests.fake_smtp import FakeSMTP
from tests.matching_support import BUYER, FUNCTIONS, LISTING, auto_match_fixture, pairs, post, rest  # noqa: F401
from tests.whatsapp_support import VALID, drain, fake_fixture, meta_fixture, senders_fixture  # noqa: F401


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSMTP]:
    server = FakeSMTP().start()
    settings = get_settings()
    for name, value in {"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_starttls": False,
                        "smtp_from": "crm@example.com", "match_alert_delay_seconds": 0.0}.items():  # fmt: skip
        monkeypatch.setattr(settings, name, value)
    yield server
    server.stop()


def alert_rows() -> list[MatchAlert]:
    with get_sessionmaker()() as session:
        return list(session.scalars(select(MatchAlert).order_by(MatchAlert.id)))


def generate_and_alert(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    """What the office's button calls after its own bulkCreate (MatchesBrokerage.jsx:146), with `{}`."""
    return post(client, headers, f"{FUNCTIONS}/GenerateAndAlertMatches", {}, status=200)  # type: ignore[no-any-return]


def office(client: Any, headers: dict[str, str]) -> dict[str, str]:
    """Three buyers — one handled by דני by name, one by his e-mail, one by nobody — and two listings."""
    ids = {
        "by_name": rest(client, headers, "buyers_brokerage", {**BUYER, "handler": " דני "}),
        "by_email": rest(client, headers, "buyers_brokerage", {**BUYER, "handler": "Dani@Example.com"}),
        "nobody": rest(client, headers, "buyers_brokerage", BUYER),
        "flat": rest(client, headers, "property_brokerage", LISTING),
        "other": rest(client, headers, "property_brokerage", {**LISTING, "rooms": "4", "street": "הרצל"}),
    }
    return ids


def test_one_digest_per_person_and_never_twice_for_a_match(client: Any, agent: dict[str, Any], smtp: FakeSMTP) -> None:
    make_user("manager@example.com", app_role="office_manager", full_name="רונית")
    make_user("dani@example.com", full_name="דני")
    h = agent["headers"]
    ids = office(client, h)
    # The browser's own matching stored one pair first (it only ever pairs rentals; here by hand).
    third = rest(client, h, "property_brokerage", {**LISTING, "price": 2_100_000})
    pair = {"property_id": third, "buyer_id": ids["nobody"], "match_score": 85, "status": "הותאם"}
    post(client, h, "/api/apps/app123/entities/MatchesBrokerage/bulk", [pair])

    answer = generate_and_alert(client, h)
    # 3 buyers × 3 listings (85, 75, 65); the browser's pair is updated in place, not created again.
    assert answer["pairings"]["brokerage"]["created"] == 8 and answer["pairings"]["renters"]["created"] == 0
    assert (answer["created"], answer["updated"], answer["queued"]) == (8, 1, False)  # generate-matches' shape
    assert [m["match_score"] for m in answer["matches"]] == sorted(
        (m["match_score"] for m in answer["matches"]), reverse=True
    )
    assert {m["pairing"] for m in answer["matches"]} == {"brokerage"} and len(answer["matches"]) == 9
    assert smtp.messages == []  # sent after the commit, by the outbox — not in the request
    drain_all()
    mails = {m["to"][0]: m for m in smtp.messages}
    assert sorted(mails) == ["dani@example.com", "manager@example.com"] and len(smtp.messages) == 2
    dani, manager = mails["dani@example.com"], mails["manager@example.com"]
    assert dani["subject"] == "6 התאמות חדשות" and dani["body"].startswith("שלום דני,")
    assert dani["body"].count("• ") == 6 and "• 85% — דירה תל אביב, פלורנטין, 3 חד', 1,900,000 ₪" in dani["body"]
    assert "http://localhost:5173/MatchesBrokerage" in dani["body"]
    assert manager["subject"] == "3 התאמות חדשות" and manager["body"].count("• ") == 3  # the browser's pair too
    rows = alert_rows()
    assert len(rows) == 9 and {r.status for r in rows} == {"sent"} and {r.channel for r in rows} == {"email"}
    assert len({r.digest_id for r in rows if r.recipient == "dani@example.com"}) == 1
    assert {r.recipient for r in rows if r.seek_id == ids["nobody"]} == {"manager@example.com"}

    # Again: nothing new, nothing sent. A new listing: only its matches, in a new digest each.
    generate_and_alert(client, h)
    drain_all()
    assert len(smtp.messages) == 2
    rest(client, h, "property_brokerage", {**LISTING, "area": "יפו"})  # 40 + 20 = 60 for every buyer
    generate_and_alert(client, h)
    drain_all()
    assert len(smtp.messages) == 4
    assert sorted(m["subject"] for m in smtp.messages[2:]) == ["2 התאמות חדשות", "התאמה חדשה"]
    assert len(alert_rows()) == 12


def test_auto_matching_alerts_too_and_the_delay_gathers_a_burst(
    client: Any, agent: dict[str, Any], smtp: FakeSMTP, auto_match: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "match_alert_delay_seconds", 60.0)
    make_user("manager@example.com", app_role="office_manager")
    h = agent["headers"]
    rest(client, h, "buyers_brokerage", BUYER)
    for rooms in ("3", "4", "2"):
        rest(client, h, "property_brokerage", {**LISTING, "rooms": rooms})
    drain_all()
    assert len(pairs()) == 3 and smtp.messages == []  # held back: more may follow
    with get_sessionmaker()() as session:
        session.execute(update(OutboxEntry).values(run_after=utcnow()))
        session.commit()
    drain_all()
    assert len(smtp.messages) == 1 and smtp.messages[0]["subject"] == "3 התאמות חדשות"


def test_alerts_that_cannot_be_sent_are_recorded_with_the_reason_and_not_retried(
    client: Any, agent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "match_alert_delay_seconds", 0.0)
    h = agent["headers"]
    ids = office(client, h)
    generate_and_alert(client, h)  # SMTP_HOST is empty, and no one is an office manager
    drain_all()
    first = alert_rows()
    assert len(first) == 6 and {r.seek_id for r in first} == {ids["by_name"], ids["by_email"], ids["nobody"]}
    assert {(r.status, r.reason) for r in first} == {
        ("not_sent", "no recipient: the seeker's handler is no user, and no user is an office manager")
    }
    make_user("manager@example.com", app_role="office_manager")
    make_user("dani@example.com", full_name="דני")
    rest(client, h, "property_brokerage", {**LISTING, "area": "יפו"})
    generate_and_alert(client, h)
    drain_all()
    fresh = [r for r in alert_rows() if r.id not in {f.id for f in first}]
    assert len(fresh) == 3
    assert {(r.status, r.reason) for r in fresh} == {("not_sent", "e-mail is not configured (SMTP_HOST is empty)")}
    assert alerts.send_pending() == 0  # nothing is left to try again


def test_a_mail_server_refusing_for_now_is_retried_a_few_times_then_given_up(
    client: Any, agent: dict[str, Any], smtp: FakeSMTP
) -> None:
    make_user("manager@example.com", app_role="office_manager")
    h = agent["headers"]
    rest(client, h, "buyers_brokerage", BUYER)
    rest(client, h, "property_brokerage", LISTING)
    smtp.refuse = True
    generate_and_alert(client, h)
    for attempt in range(1, alerts.MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):  # the outbox keeps the job and runs it again later
            alerts.send_pending()
        [row] = alert_rows()
        assert (row.status, row.attempts) == ("pending", attempt) and "e-mail to manager@example.com" in row.reason
    with pytest.raises(RuntimeError):
        alerts.send_pending()
    [row] = alert_rows()
    assert (row.status, row.attempts) == ("failed", alerts.MAX_ATTEMPTS)
    smtp.refuse = False
    assert alerts.send_pending() == 0 and smtp.messages == []


def test_whatsapp_digests_go_through_the_durable_sender_once(
    client: Any, agent: dict[str, Any], meta: Any, senders: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    for name, value in {"match_alerts": "whatsapp", "match_alert_whatsapp_template": "new_matches",
                        "match_alert_delay_seconds": 0.0}.items():  # fmt: skip
        monkeypatch.setattr(settings, name, value)
    make_user("manager@example.com", app_role="office_manager", full_name="רונית", phone="052-555-0001")
    make_user("dani@example.com", full_name="דני")  # no phone
    make_user("yael@example.com", full_name="יעל", phone=VALID[2])
    with get_sessionmaker()() as session:
        assert session.scalar(select(User.extra).where(User.email == "manager@example.com")) == {
            "phone": "052-555-0001"
        }
        add_opt_out(session, VALID[2], "keyword")
        session.commit()
    h = agent["headers"]
    ids = office(client, h)
    yael = rest(client, h, "buyers_brokerage", {**BUYER, "handler": "יעל"})
    generate_and_alert(client, h)
    drain_all()
    by_seeker = {}
    for row in alert_rows():
        by_seeker.setdefault(row.seek_id, set()).add((row.status, row.reason, row.recipient))
    assert by_seeker[ids["nobody"]] == {("sent", None, VALID[1])}
    assert by_seeker[ids["by_name"]] == {
        ("not_sent", "no valid phone for dani@example.com (set `phone` on the user)", None)
    }
    assert by_seeker[yael] == {("not_sent", f"{VALID[2]} opted out of WhatsApp messages", None)}
    with get_sessionmaker()() as session:
        [message] = session.scalars(select(MarketingLog))
        assert (message.phone_e164, message.template_name, message.status) == (VALID[1], "new_matches", "queued")
        assert message.extra["template_params"] == ["רונית", "2", "http://localhost:5173/MatchesBrokerage"]
    drain(senders())
    assert meta.accepted_to() == [VALID[1].lstrip("+")]
    generate_and_alert(client, h)
    drain_all()
    drain(senders())
    assert len(meta.accepted_to()) == 1  # never twice


def test_with_alerts_off_nothing_is_recorded(
    client: Any, agent: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "match_alerts", "off")
    make_user("manager@example.com", app_role="office_manager")
    office(client, agent["headers"])
    assert generate_and_alert(client, agent["headers"])["pairings"]["brokerage"]["created"] == 6
    drain_all()
    assert alert_rows() == []
