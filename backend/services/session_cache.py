"""Checked sessions, remembered while the database can say when they change (PostgreSQL only).

The session check (`services/auth.check_token`) reads three tables: `users` (enabled, token version, role,
the fields rules see), `revoked_tokens` (logouts) and `registry_generation` (schemas and rules). Asked on
every request it is a second round trip beside the request's own read — about a third of a list page's
cost. Its answer changes only when one of those tables does, so each process keeps it (at most
SESSION_CACHE_SECONDS, at most MAX_ENTRIES sessions) and forgets everything:

- in the process that changed them through the ORM, right after its commit (the hooks below): its own
  next request already sees a logout, a disabled user, a new rule;
- in every process when PostgreSQL notifies `crm_sessions`: a trigger on the three tables (migration 0012)
  NOTIFYs in the writing transaction, delivered when it commits, whoever wrote — another worker,
  scripts/admin.py, scripts/worker.py, psql;
- whenever this process's LISTEN connection (services/realtime/listener.py) is down: nothing is
  remembered until it is back, since a notification could be missed.

The token's signature and expiry are checked on every request, cached or not. On SQLite nothing is
remembered: another process (scripts/admin.py on the office's file) could not tell this one.

A check that started before a change and ends after it must not store what it read: every forgetting
moves `_epoch` on, and a check stores only if the epoch it started under is still current — tested after
storing, so a forgetting that runs on another thread in between is never lost.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any, Final

from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from backend.config import get_settings
from backend.models.schema_store import RegistryGeneration
from backend.models.user import RevokedToken, User

CHANNEL: Final = "crm_sessions"
MAX_ENTRIES: Final = 10_000
UNKNOWN: Final = object()  # recall()'s answer when the session must be asked of the database
WATCHED: Final = (User, RevokedToken, RegistryGeneration)
_KEY: Final = "sessions_changed"

_entries: dict[Hashable, tuple[float, Any]] = {}
_counter = itertools.count(1)
_epoch = next(_counter)
_trusted = False
_watchers: list[Callable[[], None]] = []  # the realtime hub: sockets to check again (services/realtime/hub.py)


def in_use() -> bool:
    """Whether this process remembers sessions now (PostgreSQL, its LISTEN connection up)."""
    return _trusted


def epoch() -> int:
    """Take it before asking the database; hand it to remember()."""
    return _epoch


def recall(key: Hashable) -> Any:
    """The remembered answer for this session, or UNKNOWN."""
    if not _trusted:
        return UNKNOWN
    entry = _entries.get(key)
    if entry is None or entry[0] < time.monotonic():
        return UNKNOWN
    return entry[1]


def remember(key: Hashable, answer: Any, since: int) -> None:
    """Keep `answer` (read after epoch() answered `since`) unless something changed in the meantime."""
    seconds = get_settings().session_cache_seconds
    if not _trusted or since != _epoch or seconds <= 0:
        return
    if len(_entries) >= MAX_ENTRIES:
        _entries.pop(next(iter(_entries)), None)  # the oldest stored
    _entries[key] = (time.monotonic() + seconds, answer)
    if since != _epoch:  # forgotten while storing (another thread): do not keep it
        _entries.pop(key, None)


def forget(*_: Any) -> None:
    """Everything remembered is stale (its arguments: a notification's, ignored); the watchers are told."""
    global _epoch
    _epoch = next(_counter)
    _entries.clear()
    for watcher in list(_watchers):
        watcher()


def watch(watcher: Callable[[], None]) -> None:
    """Call `watcher` whenever sessions may have changed (on SQLite too: this process's own writes). It may
    run on any thread, so it should only raise a flag."""
    _watchers.append(watcher)


def unwatch(watcher: Callable[[], None]) -> None:
    if watcher in _watchers:
        _watchers.remove(watcher)


def trust(listening: bool) -> None:
    """The LISTEN connection is up (True) or gone (False); either way start from nothing."""
    global _trusted
    _trusted = listening
    forget()


# --- this process's own writes: forgotten right after their commit ------------------------------------------


@sa_event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    if any(isinstance(row, WATCHED) for row in chain(session.new, session.dirty, session.deleted)):
        session.info[_KEY] = True


@sa_event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and any(
        mapper.class_ in WATCHED for mapper in state.all_mappers
    ):
        state.session.info[_KEY] = True


@sa_event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_KEY, False):
        forget()


@sa_event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_KEY, None)
