"""After-commit hooks: work that must follow a successful write (auto-matching, notifications).

A hook gets the entity name and the ids written, runs after the request's transaction committed, opens
its own session, and must never fail the write: errors are logged and swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)
AfterWrite = Callable[[str, list[str]], None]
_hooks: dict[str, list[AfterWrite]] = {}


def on_write(entity: str, hook: AfterWrite) -> None:
    """Register `hook(entity, ids)` to run after records of `entity` are created or updated."""
    if hook not in _hooks.setdefault(entity, []):
        _hooks[entity].append(hook)


def run_after_write(entity: str, ids: list[str]) -> None:
    for hook in _hooks.get(entity, []):
        try:
            hook(entity, ids)
        except Exception:  # a hook never fails the write it follows
            log.exception("after-write hook %s failed for %s %s", getattr(hook, "__name__", hook), entity, ids[:5])
