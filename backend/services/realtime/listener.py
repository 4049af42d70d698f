"""PostgreSQL LISTEN: every process hears every committed change, whoever wrote it.

One asyncpg connection per process listens on `crm_realtime` (changes.py NOTIFYs with each commit that
changed records: any uvicorn worker, scripts/worker.py, the importer) and on `crm_sessions` (a trigger
NOTIFYs when users, revoked tokens or the registry change: the session cache forgets, services/session_cache.py).
A lost connection is opened again after a second; changes committed while it was away are not replayed
(a client reloads on reconnect, as with Base44), and the session cache is not used while it is away.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
import orjson

from backend.config import get_settings
from backend.executor import _dsn
from backend.services import session_cache
from backend.services.realtime.changes import CHANNEL
from backend.services.realtime.hub import Hub

log = logging.getLogger(__name__)


class Listener:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("realtime: a notification that is not JSON was ignored")
            return
        if isinstance(message, dict) and isinstance(message.get("e"), str):
            self.hub.submit(message)

    async def _run(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    _dsn(get_settings().database_url), server_settings={"application_name": "crm-backend-realtime"}
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                await conn.add_listener(session_cache.CHANNEL, session_cache.forget)
                session_cache.trust(True)
                self.ready.set()
                while not lost.is_set():  # a dead peer shows up only when the connection is used
                    try:
                        await asyncio.wait_for(lost.wait(), timeout=15)
                    except TimeoutError:
                        await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("realtime: LISTEN connection failed (%s); retrying", str(exc)[:200])
            finally:
                session_cache.trust(False)
                self.ready.clear()
                if conn is not None and not conn.is_closed():
                    await conn.close()
            await asyncio.sleep(1.0)
