"""After-write hooks: work that must follow a committed write (auto-matching, alerts, realtime).

A hook gets the entity name, the ids written and the kind of write. It runs after the write committed,
from the outbox (services/outbox.py), opens its own session, and must be idempotent: an exception makes
the outbox retry the whole entry later (a DomainError — the record was purged meanwhile, say — should be
handled inside the hook). One mechanism for every kind of write, so a hook that cares about deletes (a
match left pointing at a deleted property) cannot be forgotten by a path that only knew about creates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

# `write`: created or updated; `delete`: soft-deleted (to the trash); `restore`: back from the trash;
# `purge`: removed for good (the ids no longer exist).
WriteKind = Literal["write", "delete", "restore", "purge"]
AfterWrite = Callable[[str, list[str], WriteKind], None]
_hooks: dict[str, list[AfterWrite]] = {}


def on_write(entity: str, hook: AfterWrite) -> None:
    """Register `hook(entity, ids, kind)` to run after records of `entity` are written in any way."""
    if hook not in _hooks.setdefault(entity, []):
        _hooks[entity].append(hook)


def has_hooks(entity: str) -> bool:
    return bool(_hooks.get(entity))


def run_after_write(entity: str, ids: list[str], kind: WriteKind = "write") -> None:
    """Every hook of `entity`, in registration order; the first failure propagates (the outbox retries)."""
    for hook in _hooks.get(entity, []):
        hook(entity, ids, kind)
