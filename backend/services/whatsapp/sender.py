"""The durable sender: takes queued messages one at a time and sends them at the configured pace.

Per message: wait for a pace slot → claim the row and commit it as `sending` → call the provider with
no transaction open → commit the outcome. A worker stopped gracefully finishes the message in hand; a
worker killed mid-call leaves one row in `sending`, which the next worker turns into `unknown` (it may
have gone out) instead of resending it. Runs inside the app (started and stopped by its lifespan) or
alone as `python scripts/worker.py`; any number can run against PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.database import get_sessionmaker, unit_of_work
from backend.errors import NotConfigured
from backend.services import outbox
from backend.services.whatsapp import queue
from backend.services.whatsapp.pacing import Pacer, Timing
from backend.services.whatsapp.providers import Provider, SendResult, build_provider

log = logging.getLogger(__name__)
MAINTENANCE_EVERY = 5.0  # seconds between finalising batches / recovering stale rows while busy


def deliver(
    provider: Provider,
    claimed: queue.Claimed,
    timing: Timing,
    sessions: Callable[[], Session] | None = None,
    *,
    final: bool = False,
) -> tuple[SendResult, str]:
    """Send one message this worker owns (committed as `sending`) with no transaction open, then record the
    outcome in a unit of work of its own: the sender's path, and a single send's after its request committed.
    Answers the provider's result and the status the row ended in. `final`: no retry or pause."""
    try:
        result = provider.send(claimed.outgoing())
    except Exception as exc:  # a provider bug must not strand the row in `sending`; the request may have gone out
        log.exception("whatsapp provider raised while sending %s", claimed.id)
        result = SendResult("unknown", code="provider_error", error=f"{type(exc).__name__}: {exc}"[:500])
    with unit_of_work(sessions) as session:
        status = queue.record(session, claimed, result, timing, final=final)
    return result, status


class Sender:
    def __init__(
        self,
        provider: Provider | None = None,
        *,
        rate: float | None = None,
        timing: Timing | None = None,
        sessions: Callable[[], Session] | None = None,
        name: str = "whatsapp-sender",
    ) -> None:
        settings = get_settings()
        self._provider = provider
        self._owns_provider = provider is None  # close only what we built
        self.timing = timing or Timing()
        self.sessions = sessions or get_sessionmaker()
        with self.sessions() as session:
            engine = session.get_bind().engine
        self.pacer = Pacer(engine, settings.whatsapp_phone_number_id, rate or settings.whatsapp_send_rate)
        stale = self.timing.stale_after
        self.stale_after = (
            stale if stale is not None else settings.whatsapp_connect_timeout + settings.whatsapp_read_timeout + 30
        )
        self.name = name
        self.sent_count = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_maintenance = 0.0
        self._busy = False

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = build_provider()
        return self._provider

    # ---- one message -------------------------------------------------------------------------
    def step(self) -> bool:
        """Send at most one due message. False when there was nothing to send (or we were stopped)."""
        if not self._busy:  # idle: a cheap read first, so an empty queue takes no pace slots
            with unit_of_work(self.sessions) as session:
                if not queue.due_exists(session):
                    return False
        self._busy = False
        if not self.pacer.wait(self._stop):
            return False
        provider = self.provider
        with unit_of_work(self.sessions) as session:
            claimed = queue.claim(session, self.timing, provider.name)
        if claimed is None:
            return False
        result, status = deliver(provider, claimed, self.timing, self.sessions)
        self._busy = True
        if result.retry_kind == "throttle":
            self.pacer.slow_down()
        elif status == "sent":
            self.pacer.speed_up()
            self.sent_count += 1
        return True

    # ---- housekeeping ------------------------------------------------------------------------
    def maintain(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_maintenance < MAINTENANCE_EVERY:
            return
        self._last_maintenance = now
        with unit_of_work(self.sessions) as session:
            queue.recover_stale(session, self.stale_after)
            queue.finalize_batches(session)
            queue.purge_idempotency_keys(session)

    # ---- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        """Loop until `stop()`: finishes the message in hand, never abandons one mid-call."""
        log.info("whatsapp sender %s started (%.1f msg/s)", self.name, 1 / self.pacer.base_interval)
        first = True
        while not self._stop.is_set():
            try:
                if first:
                    self.maintain(force=True)
                    first = False
                worked = self.step()
                self.maintain(force=not worked)
            except NotConfigured as exc:
                log.error("whatsapp sender %s idle: %s", self.name, exc.message)
                self._stop.wait(60)
                continue
            except Exception:  # the database went away, ...: wait and carry on
                log.exception("whatsapp sender %s: error; retrying shortly", self.name)
                self._stop.wait(2.0)
                continue
            if not worked:
                self._wake.wait(self.timing.poll)
                self._wake.clear()
        log.info("whatsapp sender %s stopped", self.name)

    def run_until_idle(self, max_steps: int = 1_000_000) -> int:
        """Send everything due now, then return how many messages were processed (scripts, tests)."""
        self.maintain(force=True)
        steps = 0
        while steps < max_steps and not self._stop.is_set() and self.step():
            steps += 1
        self.maintain(force=True)
        return steps

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        """Ask the loop to stop after the message in hand (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        self.request_stop()
        if self._thread is not None:
            limit = timeout if timeout is not None else self.stale_after
            self._thread.join(limit)
            if self._thread.is_alive():
                log.warning("whatsapp sender %s did not stop within %.0f s", self.name, limit)
            self._thread = None
        if self._provider is not None and self._owns_provider:
            self._provider.close()
            self._provider = None


_inapp: Sender | None = None


def start_inapp_sender() -> None:
    """Called by the app's lifespan: run the sender in this process unless WHATSAPP_INAPP_SENDER=false."""
    global _inapp
    if not get_settings().whatsapp_inapp_sender or _inapp is not None:
        return
    _inapp = Sender(name="whatsapp-sender-inapp")
    _inapp.start()


def stop_inapp_sender() -> None:
    global _inapp
    if _inapp is not None:
        _inapp.stop()
        _inapp = None


def wake_inapp_sender() -> None:
    """New messages were committed: look at the queue now instead of at the next poll."""
    if _inapp is not None:
        _inapp.wake()


def wake_after_commit(session: Session) -> None:
    """Messages were queued in `session`'s transaction: wake the in-app sender once it commits."""
    outbox.after_commit(session, wake_inapp_sender)
