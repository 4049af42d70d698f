"""This process's subscribers and the delivery of committed changes to them.

A subscriber is one signed-in socket: its user (checked exactly as HTTP checks a bearer token), its app
id and the entities whose rooms it joined. A change (services/realtime/changes.py) reaches the sockets
that joined its entity's room and may read the record: the entity's read rule is folded for each user
(services/rules.py); a rule left with conditions on the record is asked of the database through the one
query compiler — the WHERE clause a list uses — once per distinct rule and change, not per socket (with
the office's defaults every rule folds to all or nothing, and no query is made). Nothing here can slow a
write: changes are queued (bounded) and delivered by one task; a socket whose own queue is full is
dropped, not waited for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from backend.config import get_settings
from backend.errors import DomainError, Unauthorized
from backend.executor import executor
from backend.jsonutil import dumps
from backend.services import registry, session_cache
from backend.services.auth import AuthUser, check_token
from backend.services.query.fields import FieldResolver, record_columns, record_keys, to_record
from backend.services.registry import EntitySpec, get_spec
from backend.services.rules import Folded, fold, rule_for, satisfying

log = logging.getLogger(__name__)
MAX_PENDING = 10_000  # changes waiting for delivery in this process; past it the oldest are dropped
LOAD_CHUNK = 200
SWEEP_SECONDS = 1.0


@dataclass(eq=False)
class Subscriber:
    sid: str
    transport_id: str
    app_id: str
    token: str
    user: AuthUser
    entities: set[str] = field(default_factory=set)
    next_check: float = 0.0
    _access: dict[tuple[str, int], Folded] = field(default_factory=dict)

    def access(self, spec: EntitySpec) -> Folded:
        key = (spec.name, registry.generation())
        found = self._access.get(key)
        if found is None:
            if len(self._access) > 256:
                self._access.clear()
            found = self._access[key] = fold(rule_for(spec.rls, "read"), self.user.viewer)
        return found


Encode = Callable[[str, str], Any]  # (room, data) -> a packet ready for any socket
Send = Callable[[str, Any], bool]  # (transport id, packet) -> False when that socket's queue is full
Drop = Callable[[str, str], Coroutine[Any, Any, None]]  # (sid, reason)


def room_name(app_id: str, entity: str) -> str:
    return f"entities:{app_id}:{entity}"


class Hub:
    def __init__(self, encode: Encode, send: Send, drop: Drop) -> None:
        self.encode, self.send, self.drop = encode, send, drop
        self.subscribers: dict[str, Subscriber] = {}
        self.by_entity: dict[str, set[str]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pending: asyncio.Queue[dict[str, Any]] | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.recheck_due = False
        self.stats = {"delivered": 0, "dropped_sockets": 0, "dropped_changes": 0, "refused": 0}

    # --- subscribers --------------------------------------------------------------------------------

    def add(self, sub: Subscriber) -> None:
        sub.next_check = time.monotonic() + get_settings().realtime_recheck_seconds
        self.subscribers[sub.sid] = sub

    def remove(self, sid: str) -> None:
        sub = self.subscribers.pop(sid, None)
        if sub is None:
            return
        for entity in sub.entities:
            self._unindex(entity, sid)

    def join(self, sid: str, entity: str) -> str | None:
        """Adds the room; answers why not, or None."""
        sub = self.subscribers.get(sid)
        if sub is None:
            return "not connected"
        if entity in sub.entities:
            return None
        if len(sub.entities) >= get_settings().realtime_max_rooms:
            return f"at most {get_settings().realtime_max_rooms} rooms per connection"
        sub.entities.add(entity)
        self.by_entity.setdefault(entity, set()).add(sid)
        return None

    def leave(self, sid: str, entity: str) -> None:
        sub = self.subscribers.get(sid)
        if sub is not None and entity in sub.entities:
            sub.entities.discard(entity)
            self._unindex(entity, sid)

    def _unindex(self, entity: str, sid: str) -> None:
        sids = self.by_entity.get(entity)
        if sids is not None:
            sids.discard(sid)
            if not sids:
                del self.by_entity[entity]

    def counts(self) -> dict[str, int]:
        return {
            "sockets": len(self.subscribers),
            "rooms": sum(len(s.entities) for s in self.subscribers.values()),
            "entities": len(self.by_entity),
            "pending": self.pending.qsize() if self.pending else 0,
            **self.stats,
        }

    # --- intake: from the PostgreSQL listener (on the loop) or SQLite commits (any thread) -------------

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.pending = asyncio.Queue()
        self.tasks = [self.loop.create_task(self._deliver_forever()), self.loop.create_task(self._sweep_forever())]
        session_cache.watch(self.recheck_all)

    def recheck_all(self) -> None:
        """Users, logouts or rules changed (any process, any thread): every socket's session is checked again
        at the next sweep, within a second — a demoted, disabled or logged-out user stops hearing changes
        then, not at their socket's next routine check. Repeated changes within a sweep cost one recheck."""
        self.recheck_due = True

    async def stop(self) -> None:
        session_cache.unwatch(self.recheck_all)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []

    def submit(self, message: dict[str, Any]) -> None:
        """On the loop: queue one change message for delivery (the oldest is dropped past MAX_PENDING)."""
        if self.pending is None or message.get("e") not in self.by_entity:
            return  # nobody here listens to this entity: not even loaded
        if self.pending.qsize() >= MAX_PENDING:
            self.pending.get_nowait()
            self.stats["dropped_changes"] += 1
        self.pending.put_nowait(message)

    def submit_threadsafe(self, messages: list[dict[str, Any]]) -> None:
        """From a committing thread (SQLite)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            for message in messages:
                self.submit(message)
        else:
            loop.call_soon_threadsafe(self._submit_all, messages)

    def _submit_all(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.submit(message)

    # --- delivery -----------------------------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        assert self.pending is not None
        while True:
            message = await self.pending.get()
            try:
                await self.deliver(message)
            except Exception:  # one bad change never stops delivery of the others
                log.exception("realtime delivery of a %s change failed", message.get("e"))

    async def deliver(self, message: dict[str, Any]) -> None:
        entity, type_, stamp = message["e"], message["t"], message["ts"]
        if not self.by_entity.get(entity):
            return
        try:
            spec = get_spec(entity)
        except DomainError:
            return
        records: list[dict[str, Any]] = list(message.get("r") or ())
        ids = [i for i in message.get("ids") or () if isinstance(i, str)]
        if ids:
            loaded = await load_records(spec, ids)
            for record_id in ids:
                records.append(loaded.get(record_id) or {"id": record_id, "_gone": True})
        verdicts = await self._verdicts(spec, [r["id"] for r in records if not r.get("_gone")])
        for record in records:
            self._fan_out(spec, type_, stamp, record, verdicts)

    async def _verdicts(self, spec: EntitySpec, ids: list[str]) -> dict[str, set[str]]:
        """For each distinct conditional read rule among this entity's subscribers, which of `ids` it lets
        through — asked of the database with the WHERE clause a list would use."""
        rules: dict[str, dict[str, Any]] = {}
        for sid in self.by_entity.get(spec.name, ()):
            sub = self.subscribers.get(sid)
            access = sub.access(spec) if sub is not None else True
            if not isinstance(access, bool):
                rules.setdefault(dumps(access).decode(), access)
        verdicts: dict[str, set[str]] = {}
        run = executor()
        resolver = FieldResolver(None, spec, strict=False, dialect=run.dialect)
        for key, access in rules.items():
            try:
                verdicts[key] = (
                    {row[0] for row in await run.rows(satisfying(spec, ids, access, resolver))} if ids else set()
                )
            except DomainError:
                verdicts[key] = set()  # a rule the records cannot be tested against: never a silent allow
        return verdicts

    def _fan_out(
        self, spec: EntitySpec, type_: str, stamp: str, record: dict[str, Any], verdicts: dict[str, set[str]]
    ) -> None:
        gone = record.pop("_gone", False)
        record_id = record.get("id")
        data = dumps({"type": type_, "data": record, "id": record_id, "timestamp": stamp}).decode()
        packets: dict[str, Any] = {}
        for sid in list(self.by_entity.get(spec.name, ())):
            sub = self.subscribers.get(sid)
            if sub is None:
                continue
            access = sub.access(spec)
            if access is not True:
                if access is False or gone:  # a purged record cannot be tested: only who may read all of it
                    continue
                if record_id not in verdicts.get(dumps(access).decode(), ()):
                    continue
            packet = packets.get(sub.app_id)
            if packet is None:
                packet = packets[sub.app_id] = self.encode(room_name(sub.app_id, spec.name), data)
            if self.send(sub.transport_id, packet):
                self.stats["delivered"] += 1
            else:
                self._drop_now(sub, "too slow: its queue of messages is full")

    def _drop_now(self, sub: Subscriber, reason: str) -> None:
        self.remove(sub.sid)
        self.stats["dropped_sockets"] += 1
        if self.loop is not None:
            self.loop.create_task(self.drop(sub.sid, reason))

    # --- sessions that end: expiry, revocation, logout, disabling ------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:
                log.exception("realtime sweep failed")

    async def sweep(self) -> None:
        """Drop sockets whose token expired (checked every second, no query) and, every
        REALTIME_RECHECK_SECONDS per socket or at once after `recheck_all`, check the session again as HTTP
        does (revoked, logged out, password changed, disabled or deleted → dropped; a new role → what the
        socket hears follows it)."""
        now_wall = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        now = time.monotonic()
        if self.recheck_due:
            self.recheck_due = False
            for sub in list(self.subscribers.values()):
                sub.next_check = 0.0
        due: list[Subscriber] = []
        for sub in list(self.subscribers.values()):
            if sub.user.claims.exp <= now_wall:
                self._drop_now(sub, "the session has expired")
            elif sub.next_check <= now:
                due.append(sub)
        interval = get_settings().realtime_recheck_seconds
        for start in range(0, len(due), 20):
            part = due[start : start + 20]
            results = await asyncio.gather(*(check_token(s.token) for s in part), return_exceptions=True)
            for sub, result in zip(part, results, strict=True):
                sub.next_check = now + interval
                if isinstance(result, Unauthorized):
                    self._drop_now(sub, str(result))
                elif isinstance(result, AuthUser):
                    if result.viewer != sub.user.viewer:
                        sub._access.clear()
                    sub.user = result
                # any other failure (the database away): kept, checked again next time


async def load_records(spec: EntitySpec, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The records with these ids as the API shows them, trashed ones included (a delete's record)."""
    run = executor()
    keys = record_keys(spec)
    found: dict[str, dict[str, Any]] = {}
    columns = record_columns(spec, pg_text_timestamps=run.dialect == "postgresql")
    for start in range(0, len(ids), LOAD_CHUNK):
        part = ids[start : start + LOAD_CHUNK]
        stmt = select(*columns).where(spec.model.id.in_(part), spec.scope())
        for row in await run.rows(stmt):
            record = to_record(keys, list(row[: len(keys)]), row[len(keys)])
            found[record["id"]] = record
    return found
