"""Providers: `console` (records, sends nothing) and `meta` (a thin httpx client for the Cloud API).

A provider answers every send with a `SendResult` whose `outcome` tells the sender what to do, decided
by Meta's `error.code` as in WHATSAPP.md's table (never by the HTTP status, which Meta's tables
disagree on). The one rule that keeps messages from going out twice: once the request may have reached
the provider and no answer came back, the outcome is `unknown`, never `retry`.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx

from backend.config import Settings, get_settings
from backend.errors import NotConfigured
from backend.services.whatsapp.phones import wa_digits

log = logging.getLogger(__name__)

Outcome = Literal["sent", "retry", "failed", "opted_out", "pause", "unknown"]
RetryKind = Literal["throttle", "recipient", "transient"]

THROTTLE_CODES = {130429}
RECIPIENT_BUSY_CODES = {131056}
TRANSIENT_CODES = {131000, 1, 2}
OPT_OUT_CODES = {131050}
PAUSE_CODES = {190}
# Per-recipient refusals, bad requests, template problems, test-number allow list: fail, never retry.
FAIL_CODES = {131026, 131049, 131047, 100, 131008, 131009, 132000, 132001, 132018, 131030}


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outgoing:
    """One message: `to` in E.164, either `text` or `template`; `ref` is our MarketingLog id."""

    to: str
    text: str | None = None
    template: Template | None = None
    ref: str | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    message_id: str | None = None
    code: str | None = None
    error: str | None = None
    response: Any = None
    retry_kind: RetryKind | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def classify(code: int | None, http_status: int) -> tuple[Outcome, RetryKind | None]:
    """WHATSAPP.md's table: what the sender does with an error answer."""
    if code in THROTTLE_CODES:
        return "retry", "throttle"
    if code in RECIPIENT_BUSY_CODES:
        return "retry", "recipient"
    if code in TRANSIENT_CODES:
        return "retry", "transient"
    if code in OPT_OUT_CODES:
        return "opted_out", None
    if code in PAUSE_CODES:
        return "pause", None
    if code in FAIL_CODES:
        return "failed", None
    if http_status >= 500:  # an unlisted code with a server error: transient by Meta's own advice
        return "retry", "transient"
    return "failed", None


class Provider(Protocol):
    name: str

    def send(self, message: Outgoing) -> SendResult: ...

    def close(self) -> None: ...


class ConsoleProvider:
    """The default: logs and records what would have been sent. Opens no socket."""

    name = "console"

    def __init__(self, keep: int = 1000) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=keep)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> SendResult:
        with self._lock:
            message_id = f"console.{next(self._ids):010d}.{uuid.uuid4().hex[:8]}"
            record: dict[str, Any] = {"to": message.to, "text": message.text, "ref": message.ref, "id": message_id}
            if message.template is not None:
                record["template"] = {"name": message.template.name, "params": list(message.template.params)}
            self.records.append(record)
        log.info("whatsapp console provider: would send %s to %s", message_id, message.to)
        return SendResult("sent", message_id=message_id, response={"console": True, "messages": [{"id": message_id}]})

    def close(self) -> None:
        return None


def meta_payload(message: Outgoing) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa_digits(message.to),
    }
    if message.template is not None:
        template: dict[str, Any] = {"name": message.template.name, "language": {"code": message.template.language}}
        if message.template.params:
            parameters = [{"type": "text", "text": p} for p in message.template.params]
            template["components"] = [{"type": "body", "parameters": parameters}]
        payload.update(type="template", template=template)
    else:
        payload.update(type="text", text={"body": message.text or "", "preview_url": False})
    if message.ref:
        payload["biz_opaque_callback_data"] = message.ref
    return payload


class MetaProvider:
    """`POST {base}/{version}/{phone_number_id}/messages` with explicit connect and read timeouts."""

    name = "meta"

    def __init__(
        self,
        base_url: str,
        version: str,
        phone_number_id: str,
        token: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not (phone_number_id and token and base_url):
            raise NotConfigured(
                "WhatsApp provider `meta` needs WHATSAPP_API_URL, WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN"
            )
        self.url = f"{base_url.rstrip('/')}/{version.strip('/')}/{phone_number_id}/messages"
        timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout)
        # No automatic retries: a retry is the sender's decision, made by error code.
        self.client = httpx.Client(
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
            follow_redirects=False,
            transport=transport,
        )

    def send(self, message: Outgoing) -> SendResult:
        try:
            response = self.client.post(self.url, json=meta_payload(message))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached the provider: safe to try again later.
            return SendResult("retry", code="network", error=f"{type(exc).__name__}: {exc}", retry_kind="transient")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return SendResult("failed", code="config", error=f"{type(exc).__name__}: {exc}")
        except httpx.TransportError as exc:
            # Read timeout, dropped connection...: the request may have been accepted. Never resend.
            return SendResult(
                "unknown", code="timeout", error=f"no answer after the request went out ({type(exc).__name__})"
            )
        return self._interpret(response)

    @staticmethod
    def _interpret(response: httpx.Response) -> SendResult:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"raw": response.text[:2000]} if response.text else None
        messages = body.get("messages") if body else None
        if response.is_success and isinstance(messages, list) and messages and isinstance(messages[0], dict):
            message_id = messages[0].get("id")
            if isinstance(message_id, str) and message_id:
                return SendResult("sent", message_id=message_id, response=body)
        error = body.get("error") if body else None
        if isinstance(error, dict):
            raw_code = error.get("code")
            code = raw_code if isinstance(raw_code, int) else None
            outcome, kind = classify(code, response.status_code)
            details = (
                (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
            )
            text = str(error.get("message") or "provider error") + (f" ({details})" if details else "")
            return SendResult(outcome, code=str(raw_code), error=text[:1000], response=body, retry_kind=kind)
        if response.status_code >= 500:
            return SendResult("retry", code=f"http_{response.status_code}", response=body, retry_kind="transient")
        if response.is_success:  # 2xx without a message id: it may have been accepted
            return SendResult(
                "unknown", code="no_message_id", error="the provider answered without a message id", response=body
            )
        return SendResult(
            "failed", code=f"http_{response.status_code}", error="the provider refused the request", response=body
        )

    def close(self) -> None:
        self.client.close()


_lock = threading.Lock()
_cache: dict[tuple[Any, ...], Provider] = {}


def build_provider(settings: Settings | None = None) -> Provider:
    """A new provider from settings (each sender thread owns one)."""
    s = settings or get_settings()
    if s.whatsapp_provider == "meta":
        return MetaProvider(
            s.whatsapp_api_url,
            s.whatsapp_api_version,
            s.whatsapp_phone_number_id,
            s.whatsapp_access_token,
            connect_timeout=s.whatsapp_connect_timeout,
            read_timeout=s.whatsapp_read_timeout,
        )
    return ConsoleProvider()


def get_provider() -> Provider:
    """The shared provider for request handlers, rebuilt when its settings change."""
    s = get_settings()
    key = (
        s.whatsapp_provider,
        s.whatsapp_api_url,
        s.whatsapp_api_version,
        s.whatsapp_phone_number_id,
        s.whatsapp_access_token,
        s.whatsapp_connect_timeout,
        s.whatsapp_read_timeout,
    )
    with _lock:
        provider = _cache.get(key)
        if provider is None:
            for old in _cache.values():  # settings changed: the old client's connections are not needed
                old.close()
            _cache.clear()
            provider = _cache[key] = build_provider(s)
        return provider
