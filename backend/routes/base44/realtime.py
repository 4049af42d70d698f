"""The SDK's realtime endpoint: socket.io at `/ws-user-apps/socket.io/` (websocket transport only).

What `@base44/sdk` 0.8 speaks: the handshake's query carries `app_id` and `token` (or `anonymous_id`
without one); the client emits `join` / `leave` with a room `entities:{appId}:{Entity}`; the server emits
`update_model` with `{room, data}`, `data` being the JSON text of `{type, data, id, timestamp}`. Served by
python-socketio's AsyncServer; this module only adapts it to the hub (services/realtime/hub.py).
Refusals: no token, a token HTTP would refuse, another app's id → the connection is refused; a malformed
room, another app's room or too many rooms → an `error` event, and nothing joined.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import parse_qs

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet
from starlette.types import ASGIApp

from backend.config import get_settings
from backend.entity_schema import ENTITY_NAME
from backend.errors import DomainError, Unauthorized
from backend.services import session_cache
from backend.services.auth import check_token
from backend.services.realtime import changes
from backend.services.realtime.hub import Hub, Subscriber
from backend.services.realtime.listener import Listener

log = logging.getLogger(__name__)
PATH = "/ws-user-apps/socket.io"
ROOM = re.compile(r"^entities:([^:]{1,128}):([^:]{1,200})$")
MAX_MESSAGE_BYTES = 16 * 1024  # what a client may send in one message (a room name is tiny)


def _origin_allowed(origin: str | None, environ: Any = None) -> bool:
    """The browser origins HTTP's CORS lets in (CORS_ORIGINS), read when a socket connects — not at import,
    so a settings problem is reported by the settings check, in plain words, like every other."""
    origins = get_settings().cors_list
    return "*" in origins or origin in origins


sio = socketio.AsyncServer(
    async_mode="asgi",
    transports=["websocket"],
    cors_allowed_origins=_origin_allowed,
    max_http_buffer_size=MAX_MESSAGE_BYTES,
    logger=False,
    engineio_logger=False,
)


def _encode(room: str, data: str) -> Any:
    pkt = sio_packet.Packet(sio_packet.EVENT, namespace="/", data=["update_model", {"room": room, "data": data}])
    return eio_packet.Packet(eio_packet.MESSAGE, pkt.encode())


def _send(transport_id: str, pkt: Any) -> bool:
    """Queue a packet for one socket without waiting; False when its queue is full (a slow client)."""
    socket = sio.eio.sockets.get(transport_id)
    if socket is None or socket.closed:
        return True  # already going away: nothing to deliver, nobody to drop
    if socket.queue.qsize() >= get_settings().realtime_queue_limit:
        return False
    socket.queue.put_nowait(pkt)
    return True


async def _drop(sid: str, reason: str) -> None:
    try:
        await sio.emit("error", {"message": reason}, to=sid)
        await sio.disconnect(sid)
    except Exception:  # the socket is gone already
        log.debug("realtime: dropping %s failed", sid, exc_info=True)


hub = Hub(_encode, _send, _drop)


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values and values[0] not in ("", "undefined", "null") else None


async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    token = _first(query, "token") or (auth.get("token") if isinstance(auth, dict) else None)
    app_id = _first(query, "app_id")
    if not token:
        hub.stats["refused"] += 1
        raise socketio.exceptions.ConnectionRefusedError("Not authenticated: realtime needs a signed-in user's token")
    expected = get_settings().base44_app_id
    if not app_id or len(app_id) > 128 or (expected and app_id != expected):
        hub.stats["refused"] += 1
        raise socketio.exceptions.ConnectionRefusedError("No such app on this server")
    try:
        user = await check_token(token)
    except Unauthorized as exc:
        hub.stats["refused"] += 1
        raise socketio.exceptions.ConnectionRefusedError(exc.message) from None
    except DomainError as exc:  # the database away: refused now, the client retries
        raise socketio.exceptions.ConnectionRefusedError(exc.message) from None
    transport_id = sio.manager.eio_sid_from_sid(sid, "/")
    hub.add(Subscriber(sid=sid, transport_id=transport_id, app_id=app_id, token=token, user=user))


def _entity_of(sid: str, room: Any) -> tuple[str | None, str | None]:
    """(entity, None) for a room this socket may join, else (None, why not)."""
    sub = hub.subscribers.get(sid)
    if sub is None:
        return None, "not connected"
    match = ROOM.match(room) if isinstance(room, str) and len(room) <= 400 else None
    if match is None or not ENTITY_NAME.match(match[2]):
        return None, "a room is entities:{appId}:{Entity}"
    if match[1] != sub.app_id:
        return None, "that room belongs to another app"
    return match[2], None


async def join(sid: str, room: Any = None) -> None:
    entity, problem = _entity_of(sid, room)
    if entity is not None:
        problem = hub.join(sid, entity)
    if problem:
        hub.stats["refused"] += 1
        await sio.emit("error", {"message": f"join refused: {problem}"}, to=sid)


async def leave(sid: str, room: Any = None) -> None:
    entity, _ = _entity_of(sid, room)
    if entity is not None:
        hub.leave(sid, entity)


async def disconnect(sid: str, *_: Any) -> None:
    hub.remove(sid)


for _name, _handler in (("connect", connect), ("join", join), ("leave", leave), ("disconnect", disconnect)):
    sio.on(_name, _handler)


# --- lifetime: one hub per process, started with the app -------------------------------------------

_listener: Listener | None = None


def _halt_elsewhere() -> None:
    """Stop a hub left running on another event loop (tests start many apps, each on its own loop)."""
    global _listener
    tasks = list(hub.tasks) + ([_listener.task] if _listener is not None and _listener.task else [])
    for task in tasks:
        owner = task.get_loop()
        if not owner.is_closed():
            owner.call_soon_threadsafe(task.cancel)
    hub.tasks = []
    _listener = None
    session_cache.trust(False)  # until the new listener is up
    changes.off_local(hub.submit_threadsafe)


async def start() -> None:
    """The hub on the running loop (one app per process in production; the last started wins in tests)."""
    global _listener
    if hub.loop is asyncio.get_running_loop() and hub.tasks:
        return
    _halt_elsewhere()
    hub.start()
    if get_settings().is_sqlite:
        changes.on_local(hub.submit_threadsafe)
    else:
        _listener = Listener(hub)
        _listener.start()


async def stop() -> None:
    global _listener
    if hub.loop is not asyncio.get_running_loop():
        return  # the hub runs on another app's loop
    changes.off_local(hub.submit_threadsafe)
    if _listener is not None:
        await _listener.stop()
        _listener = None
    session_cache.trust(False)
    await hub.stop()
    for sid in list(hub.subscribers):
        hub.remove(sid)


async def wait_listening(timeout: float = 5.0) -> bool:
    """Whether the LISTEN connection is up (tests, the health of this process's realtime)."""
    if _listener is None:
        return True
    try:
        await asyncio.wait_for(_listener.ready.wait(), timeout)
    except TimeoutError:
        return False
    return True


def asgi_app() -> ASGIApp:
    """python-socketio's ASGI app for the endpoint, mounted at PATH beside the routes (backend/main.py)."""
    app: ASGIApp = socketio.ASGIApp(sio, socketio_path=PATH.lstrip("/"))
    return app
