"""A fake Meta WhatsApp Cloud API on a real loopback port (WHATSAPP.md "The fake provider").

It speaks the protocol the real client uses — bearer token, phone number id, body shape, error
envelopes — injects failures for magic recipients, throttles with a token bucket, posts signed status
webhooks back to the app, and records every request and every *accepted* message: the oracle for
"nothing is sent twice".

In tests: `fake = FakeWhatsApp().start()` ... `fake.stop()`. Standalone (manual runs, the bench):
`python -m tests.fake_whatsapp --port 8900 --webhook-url http://localhost:8000/api/whatsapp/webhook`.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fake_webhooks import WEBHOOK_MODES, WebhookSender
from tests.live_server import LiveServer

# Magic recipients (digits as the Cloud API receives them): what the fake does with each.
# UNDELIVERABLE (…0001): accepted, then a `failed` 131026 webhook; STOPPED_MARKETING (…0004): accepted,
# then a `failed` 131050 webhook — both live with the webhook half in tests/fake_webhooks.py.
NOT_ALLOWED = "972509990005"  # sync 400, code 131030
THROTTLED_ONCE = "972509990006"  # first request 130429, then success
BUSY_TWICE = "972509990007"  # 131056 twice, then success
SERVER_ERROR_ONCE = "972509990008"  # first HTTP 500 code 131000, then success
AMBIGUOUS = "972509990009"  # first request accepted but answered only after the client's timeout


def _error(status: int, code: int, message: str, kind: str = "OAuthException") -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "FAKEtrace"}}
    return JSONResponse(body, status_code=status)


class FakeWhatsApp(WebhookSender):
    def __init__(
        self,
        *,
        token: str = "fake-access-token",
        phone_number_id: str = "1029384756",
        app_secret: str = "fake-app-secret",
        webhook_url: str | None = None,
        webhook_mode: str = "signed",
        limit: float | None = None,
        ambiguous_delay: float = 2.0,
    ) -> None:
        self.token, self.phone_number_id, self.app_secret = token, phone_number_id, app_secret
        self.webhook_url, self.webhook_mode = webhook_url, webhook_mode
        self.ambiguous_delay = ambiguous_delay
        self._lock = threading.Lock()
        self._inflight = 0
        self._released = False
        self.set_limit(limit)
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/{version}/{phone_id}/messages", self._messages, methods=["POST"]),
                Route("/_fake/reset", self._control_reset, methods=["POST"]),
                Route("/_fake/requests", self._control_requests, methods=["GET"]),
                Route("/_fake/accepted", self._control_accepted, methods=["GET"]),
                Route("/_fake/config", self._control_config, methods=["POST"]),
                Route("/_fake/inbound", self._control_inbound, methods=["POST"]),
                Route("/_fake/status", self._control_status, methods=["POST"]),
            ]
        )
        self.live: LiveServer | None = None

    # ---- life cycle and in-process control -----------------------------------------------------
    def start(self) -> FakeWhatsApp:
        self.live = LiveServer(self.app).start()
        return self

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    @property
    def url(self) -> str:
        assert self.live is not None, "start() the fake first"
        return self.live.url

    def reset(self) -> None:
        with self._lock:
            self.requests: list[dict[str, Any]] = []
            self.accepted: list[dict[str, Any]] = []
            self.webhooks: list[dict[str, Any]] = []
            self._seen: dict[str, int] = {}
            self._counter = 0

    def set_limit(self, limit: float | None) -> None:
        """Accept at most `limit` messages per second (token bucket, one second of burst); None = no limit."""
        with self._lock:
            self.limit = limit
            self._tokens = float(limit or 0)
            self._refilled = time.monotonic()

    def accepted_to(self) -> list[str]:
        with self._lock:
            return [m["to"] for m in self.accepted]

    def wait_idle(self, timeout: float = 15.0) -> None:
        """Until no request is being answered and no webhook is on its way."""
        deadline = time.monotonic() + timeout
        while self._inflight and time.monotonic() < deadline:
            time.sleep(0.01)

    # ---- the Cloud API -----------------------------------------------------------------------
    def _take_token(self) -> bool:
        if self.limit is None:
            return True
        now = time.monotonic()
        capacity = max(1.0, self.limit)
        self._tokens = min(capacity, self._tokens + (now - self._refilled) * self.limit)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    async def _messages(self, request: Request) -> JSONResponse:
        with self._lock:
            self._inflight += 1
        try:
            return await self._answer(request)
        finally:
            with self._lock:
                self._inflight -= 1

    async def _answer(self, request: Request) -> JSONResponse:
        received = time.time()
        try:
            body = await request.json()
        except ValueError:
            body = None
        to = body.get("to") if isinstance(body, dict) else None
        entry: dict[str, Any] = {"time": received, "to": to, "body": body, "status": None, "code": None}
        with self._lock:
            self.requests.append(entry)  # recorded on arrival: the ambiguous answer comes much later

        def reply(response: JSONResponse, code: int | None = None) -> JSONResponse:
            with self._lock:
                entry.update(status=response.status_code, code=code)
            return response

        if request.headers.get("authorization") != f"Bearer {self.token}":
            return reply(_error(401, 190, "Invalid OAuth access token - Cannot parse access token"), 190)
        if request.path_params["phone_id"] != self.phone_number_id:
            return reply(
                _error(400, 100, "Unsupported post request: unknown phone number id", "GraphMethodException"), 100
            )
        problem = self._shape_problem(body)
        if problem:
            return reply(_error(400, 100, f"(#100) Invalid parameter: {problem}"), 100)
        to = str(body["to"])
        with self._lock:
            allowed = self._take_token()
            seen = self._seen[to] = self._seen.get(to, 0) + 1
        if not allowed:
            return reply(_error(429, 130429, "(#130429) Rate limit hit", "OAuthException"), 130429)
        if to == NOT_ALLOWED:
            return reply(_error(400, 131030, "(#131030) Recipient phone number not in allowed list"), 131030)
        if to == THROTTLED_ONCE and seen == 1:
            return reply(_error(400, 130429, "(#130429) Rate limit hit"), 130429)
        if to == BUSY_TWICE and seen <= 2:
            return reply(
                _error(400, 131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit"), 131056
            )
        if to == SERVER_ERROR_ONCE and seen == 1:
            return reply(_error(500, 131000, "(#131000) Something went wrong"), 131000)
        message_id = self._accept(body, received)
        answer: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": message_id}],
        }
        if body.get("type") == "template":
            answer["messages"][0]["message_status"] = "accepted"
        if to == AMBIGUOUS and seen == 1:
            await self._hold()  # the client has given up by now
        self._schedule_statuses(to, message_id, body.get("biz_opaque_callback_data"))
        return reply(JSONResponse(answer))

    @staticmethod
    def _shape_problem(body: Any) -> str | None:
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return "messaging_product must be whatsapp"
        if not isinstance(body.get("to"), str) or not body["to"].isdigit():
            return "to must be the recipient's digits"
        if body.get("type") == "text":
            text = body.get("text")
            if not isinstance(text, dict) or not isinstance(text.get("body"), str) or not text["body"].strip():
                return "text.body is required"
            if len(text["body"]) > 4096:
                return "text.body is longer than 4096 characters"
            return None
        if body.get("type") == "template":
            template = body.get("template")
            if not isinstance(template, dict) or not template.get("name"):
                return "template.name is required"
            if not isinstance(template.get("language"), dict) or not template["language"].get("code"):
                return "template.language.code is required"
            return None
        return "type must be text or template"

    def _accept(self, body: dict[str, Any], received: float) -> str:
        with self._lock:
            self._counter += 1
            message_id = f"wamid.FAKE{self._counter:010d}"
            self.accepted.append(
                {"id": message_id, "to": body["to"], "time": received, "type": body.get("type"), "body": body,
                 "biz_opaque_callback_data": body.get("biz_opaque_callback_data")}
            )  # fmt: skip
        return message_id

    async def _hold(self) -> None:
        deadline = time.monotonic() + self.ambiguous_delay
        while time.monotonic() < deadline and not self._released:
            await asyncio.sleep(0.02)

    def release(self) -> None:
        """Answer held (ambiguous) requests now, e.g. before stopping."""
        self._released = True

    # ---- the control surface over HTTP -------------------------------------------------------
    async def _control_reset(self, _: Request) -> JSONResponse:
        self.reset()
        return JSONResponse({"ok": True})

    async def _control_requests(self, _: Request) -> JSONResponse:
        with self._lock:
            return JSONResponse([{k: v for k, v in r.items() if k != "body"} for r in self.requests])

    async def _control_accepted(self, _: Request) -> JSONResponse:
        with self._lock:
            return JSONResponse(list(self.accepted))

    async def _control_config(self, request: Request) -> JSONResponse:
        config = await request.json()
        if "limit" in config:
            self.set_limit(config["limit"])
        if config.get("webhook_mode") in WEBHOOK_MODES:
            self.webhook_mode = config["webhook_mode"]
        if "webhook_url" in config:
            self.webhook_url = config["webhook_url"]
        if "ambiguous_delay" in config:
            self.ambiguous_delay = float(config["ambiguous_delay"])
        return JSONResponse({"limit": self.limit, "webhook_mode": self.webhook_mode, "webhook_url": self.webhook_url})

    async def _control_inbound(self, request: Request) -> JSONResponse:
        data = await request.json()
        self._post_later([self.inbound_payload(str(data["from"]), str(data["text"]))])
        return JSONResponse({"ok": True})

    async def _control_status(self, request: Request) -> JSONResponse:
        data = await request.json()
        payload = self.status_payload(data["id"], data["status"], data.get("recipient_id", ""),
                                      data.get("biz_opaque_callback_data"), data.get("error"))  # fmt: skip
        self._post_later([payload])
        return JSONResponse({"ok": True})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--limit", type=float, default=None, help="messages per second before 130429")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--token", default="fake-access-token")
    parser.add_argument("--phone-number-id", default="1029384756")
    parser.add_argument("--app-secret", default="fake-app-secret")
    args = parser.parse_args()
    fake = FakeWhatsApp(token=args.token, phone_number_id=args.phone_number_id, app_secret=args.app_secret,
                        webhook_url=args.webhook_url, limit=args.limit)  # fmt: skip
    uvicorn.run(fake.app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
