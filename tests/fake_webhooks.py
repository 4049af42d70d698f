"""The fake Meta API's half that talks back: signed webhooks to the app (see tests/fake_whatsapp.py)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from typing import Any

import httpx

UNDELIVERABLE = "972509990001"  # accepted, then a `failed` 131026 webhook
STOPPED_MARKETING = "972509990004"  # accepted, then a `failed` 131050 webhook
WEBHOOK_MODES = ("signed", "unsigned", "wrong", "duplicate", "reverse", "off")


class WebhookSender:
    """Status and inbound-message webhooks as Meta sends them: `\\uXXXX`-escaped JSON, HMAC-SHA256 signed
    with the app secret. `webhook_mode` switches to unsigned, wrongly signed, duplicated or reversed."""

    app_secret: str
    phone_number_id: str
    webhook_url: str | None
    webhook_mode: str
    webhooks: list[dict[str, Any]]
    _lock: threading.Lock
    _inflight: int
    _counter: int

    # ---- webhooks back to the app ------------------------------------------------------------
    def _schedule_statuses(self, to: str, message_id: str, ref: str | None) -> None:
        if not self.webhook_url or self.webhook_mode == "off":
            return
        events: list[tuple[str, dict[str, Any] | None]] = [("sent", None)]
        if to == UNDELIVERABLE:
            events.append(("failed", {"code": 131026, "title": "Message undeliverable"}))
        elif to == STOPPED_MARKETING:
            events.append(("failed", {"code": 131050, "title": "User has stopped marketing messages"}))
        else:
            events.append(("delivered", None))
        if self.webhook_mode == "reverse":
            events.reverse()
        payloads = [self.status_payload(message_id, status, to, ref, error) for status, error in events]
        self._post_later(payloads)

    def status_payload(
        self, message_id: str, status: str, to: str, ref: str | None = None, error: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": message_id,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": to,
        }
        if ref:
            item["biz_opaque_callback_data"] = ref
        if error:
            item["errors"] = [{**error, "message": error.get("title", "")}]
        return self._envelope({"statuses": [item]})

    def inbound_payload(self, sender: str, text: str) -> dict[str, Any]:
        with self._lock:
            self._counter += 1
            number = self._counter
        message = {"from": sender, "id": f"wamid.IN{number:010d}", "timestamp": str(int(time.time())),
                   "type": "text", "text": {"body": text}}  # fmt: skip
        return self._envelope({"contacts": [{"wa_id": sender, "profile": {"name": "Fake"}}], "messages": [message]})

    def _envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": self.phone_number_id}, **value}
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}],
        }

    def signed(self, payload: dict[str, Any]) -> tuple[bytes, str]:
        """The body as Meta sends it (non-ASCII escaped as \\uXXXX) and its X-Hub-Signature-256."""
        raw = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()
        return raw, self.sign(raw)

    def sign(self, raw: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()

    def _post_later(self, payloads: list[dict[str, Any]]) -> None:
        with self._lock:
            self._inflight += 1
        asyncio.get_running_loop().create_task(self._post_all(payloads))

    async def _post_all(self, payloads: list[dict[str, Any]]) -> None:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                for payload in payloads:
                    for _ in range(2 if self.webhook_mode == "duplicate" else 1):
                        await self._post_one(client, payload)
        finally:
            with self._lock:
                self._inflight -= 1

    async def _post_one(self, client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
        raw, signature = self.signed(payload)
        headers = {"Content-Type": "application/json"}
        if self.webhook_mode == "wrong":
            headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
        elif self.webhook_mode != "unsigned":
            headers["X-Hub-Signature-256"] = signature
        try:
            response = await client.post(self.webhook_url or "", content=raw, headers=headers)
            outcome: Any = response.status_code
        except httpx.HTTPError as exc:
            outcome = f"error: {type(exc).__name__}"
        with self._lock:
            self.webhooks.append({"payload": payload, "status": outcome})
