"""Send pacing shared by every sender process, and the retry back-off rules.

The next free send slot lives in one database row per sending number; a sender takes the next slot with
one atomic UPDATE ... RETURNING (both databases), so WHATSAPP_SEND_RATE holds however many workers and
API processes send. On code 130429 a sender halves its own pace and recovers it slowly (AIMD).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, case, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from backend.models.whatsapp import WhatsAppPacer
from backend.services.whatsapp.providers import RetryKind

_pacer = cast(Table, WhatsAppPacer.__table__)


@dataclass(frozen=True)
class Timing:
    """The sender's clocks. Production uses the defaults; tests shrink them to keep the suite quick."""

    recipient_gap: float = 6.0  # WhatsApp allows about one message per 6 s to one recipient
    backoff: float = 2.0  # transient errors: 2, 4, 8, ... s
    throttle_backoff: float = 1.0  # 130429: 1, 2, 4, ... s (the pace itself slows down too)
    max_backoff: float = 300.0
    max_attempts: int = 10
    poll: float = 0.5  # idle wait between looks at the queue
    stale_after: float | None = None  # `sending` older than this is `unknown`; None = timeouts + 30 s


def retry_delay(kind: RetryKind | None, attempt: int, timing: Timing) -> float:
    """Seconds before the next attempt; grows with each attempt, never below the recipient gap for 131056."""
    exponent = 2.0 ** max(0, attempt - 1)
    if kind == "recipient":
        return min(max(timing.max_backoff, timing.recipient_gap), timing.recipient_gap * exponent)
    base = timing.throttle_backoff if kind == "throttle" else timing.backoff
    return min(timing.max_backoff, base * exponent) * random.uniform(1.0, 1.25)


class Pacer:
    """Hands out send slots `interval` apart from the shared row `key`."""

    MAX_SLOWDOWN = 32.0

    def __init__(self, engine: Engine, key: str, rate: float) -> None:
        self.engine = engine
        self.key = key or "default"
        self.base_interval = 1.0 / max(rate, 0.001)
        self.slowdown = 1.0
        self._last_slowdown = 0.0

    @property
    def interval(self) -> float:
        return self.base_interval * self.slowdown

    def reserve(self) -> float:
        """The epoch time of this caller's slot (now or later).

        A sender that fell behind (a slow database round trip, a busy CPU) may catch up on at most a
        quarter second of missed slots, so the average rate holds without bursts the provider would punish."""
        interval = self.interval
        for _ in range(3):
            now = time.time()
            floor = now - min(0.25, 5 * interval)
            current = _pacer.c.next_slot
            stmt = (
                update(_pacer)
                .where(_pacer.c.id == self.key)
                .values(next_slot=case((current > floor, current), else_=floor) + interval)
                .returning(_pacer.c.next_slot)
            )
            # One atomic statement in autocommit mode: a single round trip, no transaction to open.
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                taken = conn.execute(stmt).scalar_one_or_none()
            if taken is not None:
                return float(taken) - interval
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(_pacer).values(id=self.key, next_slot=now + interval))
                return now
            except IntegrityError:  # another process created the row first: take a slot from it
                continue
        return time.time()

    def wait(self, stop: threading.Event | None = None) -> bool:
        """Block until this caller's slot; False if `stop` was set meanwhile."""
        delay = self.reserve() - time.time()
        if delay <= 0:
            return not (stop and stop.is_set())
        if stop is None:
            time.sleep(delay)
            return True
        return not stop.wait(delay)

    def slow_down(self) -> None:
        """Halve the pace on a throughput error, at most once a second (a burst of 429s is one signal)."""
        now = time.monotonic()
        if now - self._last_slowdown >= 1.0:
            self.slowdown = min(self.MAX_SLOWDOWN, self.slowdown * 2.0)
            self._last_slowdown = now

    def speed_up(self) -> None:
        self.slowdown = max(1.0, self.slowdown * 0.97)
