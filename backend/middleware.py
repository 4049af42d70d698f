"""Pure ASGI middleware: request ids and the JSON body size limit (cheap, no per-request task)."""

from __future__ import annotations

import logging
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.logs import request_id_var
from backend.routes.errors import error_response

log = logging.getLogger("backend.errors")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Takes a sane incoming `X-Request-ID` or makes one; puts it on the response and in every log line.

    Also the one place that turns away a path holding the NUL character (`%00`): nothing can be named by
    it, and PostgreSQL refuses it in any string, so it must not reach a route's lookup."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        raw = rid.encode()
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", raw)]
            await send(message)

        try:
            if "\x00" in scope["path"]:
                await error_response(404, "Not found: a URL cannot hold the NUL character (%00)", code="not_found")(
                    scope, receive, send_with_id
                )
                return
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Caught here, not by Starlette's outer handler, so the log line and the answer keep the id.
            log.exception("unhandled error")
            if started:
                raise
            await error_response(500, "Internal server error", code="internal_error")(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuses JSON/form bodies above `limit` bytes with 413 before anything parses them.

    Multipart bodies (uploads) are left to the upload route, which streams and enforces its own limit.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        content_type = b""
        length: int | None = None
        for key, value in scope["headers"]:
            if key == b"content-type":
                content_type = value
            elif key == b"content-length":
                length = int(value) if value.isdigit() else None
        if content_type.startswith(b"multipart/"):
            await self.app(scope, receive, send)
            return
        if length is not None and length > self.limit:
            await self._too_large(scope, receive, send)
            return
        seen = 0
        limit = self.limit

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, f"Request body is larger than the limit of {self.limit} bytes (MAX_BODY_BYTES)")
        await response(scope, receive, send)


class _TooLarge(BaseException):
    pass
