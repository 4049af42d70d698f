"""One light hop to a worker thread for blocking database work on the hot path.

`asyncio`'s `run_in_executor` costs about a third of anyio's `to_thread` per call (no capacity
limiter, no cancel scopes), which measurably matters when every list request makes two hops (the
auth check and the query). A dedicated pool keeps it apart from the default executor.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from backend.database import AUTH_CONNECTIONS

T = TypeVar("T")
# Few threads: the work is mostly CPU under one GIL, and every extra thread grows its own malloc arena.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="db")
# The per-request session check has threads of its own (and connections: `database.run_auth`), so it
# never queues behind reads that hold every `db` thread — slow filters, a locked table — until their
# statement timeout: `/me`, creates and updates stay answerable while lists wait.
_auth_executor = ThreadPoolExecutor(max_workers=AUTH_CONNECTIONS, thread_name_prefix="auth")


async def in_thread(fn: Callable[[], T]) -> T:
    """Run `fn` in the database worker pool; context variables (the request id) travel along."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_executor, functools.partial(context.run, fn))


async def in_auth_thread(fn: Callable[[], T]) -> T:
    """Run the session check `fn` on the auth threads (never behind reads)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_auth_executor, functools.partial(context.run, fn))
