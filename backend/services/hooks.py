"""After-commit hooks: work that must follow a successful write (auto-matching, notifications).

A hook gets the entity name, the ids written and the kind of write, runs after the request's
transaction committed, opens its own session, and must never fail the write: errors are logged and
swallowed. One mechanism for every kind of write, so a hook that cares about deletes (a Match left
pointing at a deleted Property) cannot be forgotten by a path that only knew about creates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

log = logging.getLogger(__name__)
# `write`: created or updated; `delete`: soft-deleted (to the trash); `restore`: back from the trash;
# `purge`: removed for good (the ids no longer exist).
WriteKind = Literal["write", "delete", "restore", "purge"]
AfterWrite = Callable[[str, list[str], WriteKind], None]
_hooks: dict[str, list[AfterWrite]] = {}


def on_write(entity: str, hook: AfterWrite) -> None:
    """Register `hook(entity, ids, kind)` to run after records of `entity` are written in any way."""
    if hook not in _hooks.setdefault(entity, []):
        _hooks[entity].append(hook)


def run_after_write(entity: str, ids: list[str], kind: WriteKind = "write") -> None:
    for hook in _hooks.get(entity, []):
        try:
            hook(entity, ids, kind)
        except Exception:  # a hook never fails the write it follows
            log.exception("after-%s hook %s failed for %s %s", kind, getattr(hook, "__name__", hook), entity, ids[:5])
