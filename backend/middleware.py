"""Pure ASGI middleware: the edge of every request, and the JSON body size limit (cheap, no per-request task)."""

from __future__ import annotations

import itertools
import logging
import re
import uuid
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.logs import request_id_var
from backend.routes.errors import error_response

log = logging.getLogger("backend.errors")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Request ids: this process's random prefix and a counter — unique, and cheaper than a uuid4 per request
# (they are labels for log lines, not secrets).
_PROCESS = uuid.uuid4().hex[:20]
_COUNTER = itertools.count()
_VARY = (b"vary", b"Origin")


class EdgeMiddleware:
    """The one outer layer of every request (each ASGI layer costs every request a call and a send wrapper:
    together ~10 % of a GET's throughput, measured):

    - **mounts**: a path under one of them (socket.io) goes to its ASGI app untouched;
    - **request id**: a sane incoming `X-Request-ID` or a new one, on the response and in every log line;
    - **NUL**: a path holding `%00` is a 404 here — nothing can be named by it, and PostgreSQL refuses it in
      any string, so it must not reach a route's lookup;
    - **CORS**: a request with an `Origin` header goes through Starlette's CORSMiddleware (preflights,
      allowed origins, exposed headers); one without is not a CORS request and only gets the `Vary:
      Origin` that CORSMiddleware would have added — the same answer without a middleware in its way;
    - an unhandled error is logged with the request id and answered 500 in API.md's error body.
    """

    def __init__(self, app: ASGIApp, *, cors: dict[str, Any], mounts: dict[str, ASGIApp]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, **cors)
        self.mounts = tuple(mounts.items())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        for prefix, mounted in self.mounts:
            if scope["path"].startswith(prefix):
                await mounted(scope, receive, send)
                return
        if scope["type"] != "http":
            await self.cors(scope, receive, send)
            return
        incoming = ""
        origin = False
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
            elif key == b"origin":
                origin = True
        rid = incoming if _SAFE_ID.match(incoming) else f"{_PROCESS}{next(_COUNTER):012x}"
        token = request_id_var.set(rid)
        added = [(b"x-request-id", rid.encode())] if origin else [(b"x-request-id", rid.encode()), _VARY]
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        try:
            if "\x00" in scope["path"]:
                await error_response(404, "Not found: a URL cannot hold the NUL character (%00)", code="not_found")(
                    scope, receive, send_with_id
                )
                return
            await (self.cors if origin else self.app)(scope, receive, send_with_id)
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
