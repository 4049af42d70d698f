"""Pure pieces: phone normalisation, WHATSAPP.md's error table, the Meta client's reading of answers,
back-off growth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backend.errors import NotConfigured
from backend.services.whatsapp.pacing import Timing, retry_delay
from backend.services.whatsapp.phones import from_wa_id, normalize, strip_bidi
from backend.services.whatsapp.providers import MetaProvider, Outgoing, Template, classify, meta_payload
from backend.services.whatsapp.webhooks import is_opt_out


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+972 52-555-1234", "+972525551234"),
        ("052-555-1234", "+972525551234"),
        ("\u200f052-555-1234\u200e", "+972525551234"),
        ("\u202b+972525551234\u202c", "+972525551234"),
        ("00972525551234", "+972525551234"),
        ("+1 212 555 0123", "+12125550123"),  # other countries with their prefix
        ("+44 20 7946 0958", "+442079460958"),
        ("050-123-4567", None),
        ("12345", None),
        ("", None),
        ("\u200e", None),
        ("phone", None),
        ("5" * 65, None),
        (None, None),
        (972525551234, None),
    ],
)
def test_normalize(raw: Any, e164: str | None) -> None:
    assert normalize(raw) == e164


def test_region_and_wa_ids() -> None:
    assert normalize("020 7946 0958", region="GB") == "+442079460958"
    assert strip_bidi("\u200e\u200f\u202a\u202b\u202c\u202d\u202ex") == "x"
    assert from_wa_id("972525551234") == "+972525551234"
    assert from_wa_id("+972525551234") is None and from_wa_id(None) is None


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (130429, 429, ("retry", "throttle")),
        (130429, 400, ("retry", "throttle")),  # by code, never by HTTP status
        (131056, 400, ("retry", "recipient")),
        (131000, 500, ("retry", "transient")),
        (1, 400, ("retry", "transient")),
        (2, 503, ("retry", "transient")),
        (131026, 400, ("failed", None)),
        (131049, 400, ("failed", None)),
        (131047, 400, ("failed", None)),
        (131050, 400, ("opted_out", None)),
        (100, 400, ("failed", None)),
        (131008, 400, ("failed", None)),
        (131009, 400, ("failed", None)),
        (132000, 400, ("failed", None)),
        (132001, 404, ("failed", None)),
        (132018, 400, ("failed", None)),
        (131030, 400, ("failed", None)),
        (190, 401, ("pause", None)),
        (999999, 400, ("failed", None)),
        (999999, 502, ("retry", "transient")),
        (None, 500, ("retry", "transient")),
    ],
)
def test_error_table(code: int | None, status: int, expected: tuple[str, str | None]) -> None:
    assert classify(code, status) == expected


def _provider(handler: Any) -> MetaProvider:
    return MetaProvider("http://meta.invalid", "v21.0", "123", "token", transport=httpx.MockTransport(handler))


MESSAGE = Outgoing(to="+972525551234", text="hi", ref="log1")


@pytest.mark.parametrize(
    ("answer", "outcome", "code"),
    [
        (httpx.Response(200, json={"messages": [{"id": "wamid.1"}]}), "sent", None),
        (httpx.Response(200, json={"messaging_product": "whatsapp"}), "unknown", "no_message_id"),
        (httpx.Response(200, text="<html>ok</html>"), "unknown", "no_message_id"),
        (httpx.Response(502, text="Bad Gateway"), "retry", "http_502"),
        (httpx.Response(404, text="nope"), "failed", "http_404"),
        (
            httpx.Response(400, json={"error": {"code": 131008, "message": "param", "error_data": {"details": "x"}}}),
            "failed",
            "131008",
        ),
        (httpx.Response(400, json={"error": "flat string"}), "failed", "http_400"),
        (httpx.Response(400, json={"error": {"code": "weird"}}), "failed", "weird"),
    ],
)
def test_meta_reads_answers(answer: httpx.Response, outcome: str, code: str | None) -> None:
    result = _provider(lambda request: answer).send(MESSAGE)
    assert (result.outcome, result.code) == (outcome, code)


def test_meta_network_errors_before_and_after_sending() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    assert _provider(refuse).send(MESSAGE).outcome == "retry"  # never left: safe to retry
    assert _provider(silent).send(MESSAGE).outcome == "unknown"  # may have been accepted: never resend
    assert _provider(dropped).send(MESSAGE).outcome == "unknown"


def test_meta_request_shape() -> None:
    seen: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"messages": [{"id": "wamid.1"}]})

    _provider(capture).send(MESSAGE)
    assert str(seen[0].url) == "http://meta.invalid/v21.0/123/messages"
    assert seen[0].headers["authorization"] == "Bearer token"
    template = meta_payload(Outgoing(to="+972525551234", template=Template("promo", "he", ("Dana",)), ref="x"))
    assert template["to"] == "972525551234" and template["biz_opaque_callback_data"] == "x"
    assert template["template"]["components"] == [{"type": "body", "parameters": [{"type": "text", "text": "Dana"}]}]


def test_meta_needs_its_settings() -> None:
    with pytest.raises(NotConfigured):
        MetaProvider("https://graph.facebook.com", "v21.0", "", "")


def test_backoff_grows_and_respects_the_recipient_gap() -> None:
    timing = Timing()
    busy = [retry_delay("recipient", n, timing) for n in range(1, 6)]
    assert busy[0] >= 6 and busy == sorted(busy) and busy[1] > busy[0]
    transient = [retry_delay("transient", n, Timing(max_backoff=1000)) for n in (1, 3, 5)]
    assert transient[0] < transient[1] < transient[2] <= 1000 * 1.25
    assert retry_delay("throttle", 50, timing) <= timing.max_backoff * 1.25


@pytest.mark.parametrize(
    ("text", "out"), [("STOP", True), ("הסר", True), ("stop it now", False), ("x" * 200, False), (None, False)]
)
def test_opt_out_keyword(text: Any, out: bool) -> None:
    assert is_opt_out(text) is out
