"""After-commit work, durably: a write records what follows it in the outbox, a drainer runs it.

`record()` adds an outbox row in the writer's own transaction. Once that transaction commits, the
drainer — a thread in the app (JOBS_INAPP) and/or `scripts/worker.py` — claims due rows and runs the
entity's after-write hooks (hooks.py) for them, off the request's path: a slow re-match never slows the
write, a crash never loses the work (the row waits), and two drainers never take the same row
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite runs one process). A hook that fails is retried with
a growing delay, at most MAX_ATTEMPTS times, then the row is kept as `failed` with the error.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from backend.database import unit_of_work
from backend.models.base import utcnow
from backend.models.outbox import OutboxEntry
from backend.services import hooks

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BATCH = 50
POLL_SECONDS = 5.0  # a drainer also looks on its own, for rows another process wrote
LEASE = dt.timedelta(minutes=5)  # a claimed row is someone's for this long; then it is due again


def record(session: Session, entity: str, ids: list[str], kind: hooks.WriteKind = "write", delay: float = 0.0) -> None:
    """Queue the entity's after-write work, in the caller's transaction (written with it or not at all).

    `delay` (seconds) holds it back: work that should gather what follows (an alert digest) waits a little."""
    if not ids or not hooks.has_hooks(entity):
        return
    run_after = utcnow() + dt.timedelta(seconds=delay)
    session.add(OutboxEntry(entity=entity, kind=kind, ids=list(ids), run_after=run_after))
    session.info["outbox"] = True


def after_commit(session: Session, signal: Callable[[], object]) -> None:
    """Call `signal` once the caller's transaction has committed (never if it rolls back): a cheap nudge to a
    thread that should look at what was just written — the WhatsApp sender for a queued message. Durable work
    goes through `record`; a signal lost with a crash costs only the wait for that thread's next poll."""
    signals: list[Callable[[], object]] = session.info.setdefault("after_commit", [])
    if signal not in signals:
        signals.append(signal)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop("outbox", False):
        wake()
    for signal in session.info.pop("after_commit", ()):
        try:
            signal()
        except Exception:  # a nudge: the commit stands, the thread finds the work on its next poll
            log.exception("after-commit signal %r failed", signal)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop("outbox", None)
    session.info.pop("after_commit", None)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(600, 2**attempts))


def _claim(session: Session, limit: int) -> list[tuple[int, str, str, list[str], int]]:
    """Lease up to `limit` due rows for LEASE: pushed past now, so no other drainer takes them meanwhile.

    The lease is committed before any hook runs — no transaction stays open across the hooks (which write
    in sessions of their own). A drainer killed mid-hook leaves its rows to be taken again once the lease
    ends; hooks are idempotent."""
    due = (
        select(OutboxEntry.id)
        .where(OutboxEntry.status == "pending", OutboxEntry.run_after <= utcnow())
        .order_by(OutboxEntry.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    rows = session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id.in_(due))
        .values(run_after=utcnow() + LEASE)
        .returning(OutboxEntry.id, OutboxEntry.entity, OutboxEntry.kind, OutboxEntry.ids, OutboxEntry.attempts)
    ).all()
    return sorted((row[0], row[1], row[2], row[3], row[4]) for row in rows)


def drain(sessions: Callable[[], Session] | None = None, limit: int = BATCH) -> int:
    """Run the hooks of up to `limit` due rows; answers how many rows were handled (done or retried later)."""
    with unit_of_work(sessions) as session:
        claimed = _claim(session, limit)
    for entry_id, entity, kind, ids, attempts in claimed:
        try:
            hooks.run_after_write(entity, list(ids), kind)  # type: ignore[arg-type]
        except Exception as exc:  # retried later; the others in the batch go on
            _failed(sessions, entry_id, entity, kind, attempts + 1, exc)
            continue
        with unit_of_work(sessions) as session:
            session.execute(delete(OutboxEntry).where(OutboxEntry.id == entry_id))
    return len(claimed)


def _failed(
    sessions: Callable[[], Session] | None, entry_id: int, entity: str, kind: str, attempts: int, exc: Exception
) -> None:
    final = attempts >= MAX_ATTEMPTS
    with unit_of_work(sessions) as session:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id)
            .values(
                attempts=attempts,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                run_after=utcnow() + _backoff(attempts),
                status="failed" if final else "pending",
            )
        )
    if final:
        log.error("outbox %s (%s %s) failed for good: %s", entry_id, kind, entity, exc)
    else:
        log.warning("outbox %s (%s %s) failed, will retry: %s", entry_id, kind, entity, exc)


_rounds: list[Callable[[], object]] = []


def every_round(task: Callable[[], object]) -> None:
    """Run `task` on every round of a drainer (each wake-up, at least every POLL_SECONDS): scheduled work such
    as meeting reminders, which claims its own due rows and must be safe with several drainers."""
    if task not in _rounds:
        _rounds.append(task)


def run_rounds() -> None:
    """Every scheduled task once; one failing does not stop the others (they run again next round)."""
    for task in list(_rounds):
        try:
            task()
        except Exception:
            log.exception("scheduled task %s failed; it runs again next round", getattr(task, "__name__", task))


def drain_all(sessions: Callable[[], Session] | None = None) -> int:
    """Drain until nothing is due (tests, `scripts/worker.py --until-idle`)."""
    total = 0
    while handled := drain(sessions):
        total += handled
    return total


class Drainer:
    """A thread that drains whenever a commit wakes it, and every POLL_SECONDS regardless."""

    def __init__(self, name: str = "outbox") -> None:
        self.name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                while not self._stop.is_set() and drain():
                    pass
            except Exception:  # a database hiccup: the rows wait for the next round
                log.exception("outbox drainer round failed")
            if not self._stop.is_set():
                run_rounds()


_drainers: list[Drainer] = []


def wake() -> None:
    for drainer in _drainers:
        drainer.wake()


def start_inapp() -> Drainer:
    drainer = Drainer()
    drainer.start()
    _drainers.append(drainer)
    return drainer


def stop_inapp() -> None:
    while _drainers:
        _drainers.pop().stop()
