"""`GenerateAndAlertMatches`: the office's "create matches with alerts" button, done by the server.

Every pairing that alerts (the brokerage ones by default) is run over all its records; its new matches get
their alerts recorded in the same transaction, and the alert job (alerts.py) sends one digest per person.
An office's few thousand records take well under a second, so the run answers in the request and the page
shows the new matches on its reload; a pairing larger than INLINE_MAX records is queued in the outbox
instead (a run at that size takes tens of seconds) and the answer says so.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.database import unit_of_work
from backend.services import hooks, outbox
from backend.services.matching.bound import bind
from backend.services.matching.pairings import get_pairing, pairings
from backend.services.matching.service import MAX_LISTED, generate_matches

log = logging.getLogger(__name__)
RUN_JOB = "match-run"  # an outbox entry whose ids are pairing names (not an entity name)
INLINE_MAX = 20_000  # seekers + offers a request still matches itself


def _size(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(model.deleted_at.is_(None))) or 0)


COUNTS = ("evaluated_pairs", "created", "updated", "unchanged", "removed", "kept", "capped")


def generate_and_alert(session: Session) -> dict[str, Any]:
    """Run every alerting pairing (or queue it when large). The answer has generate-matches' shape — the
    counts summed over the pairings and their created or updated matches, best first, at most 500 — plus
    each pairing's own counts under `pairings`."""
    per_pairing: dict[str, Any] = {}
    totals = dict.fromkeys(COUNTS, 0)
    matches: list[dict[str, Any]] = []
    queued = False
    for pairing in pairings():
        if not pairing.alerts:
            continue
        bound = bind(pairing)
        size = _size(session, bound.seek.model) + _size(session, bound.offer.model)
        if size > INLINE_MAX:
            outbox.record(session, RUN_JOB, [pairing.name])
            per_pairing[pairing.name] = {"queued": True, "records": size}
            queued = True
            continue
        result = generate_matches(session, pairing=pairing)
        score = pairing.result.fields["score"]
        matches.extend({**m, "pairing": pairing.name, "_score": m.get(score) or 0} for m in result.pop("matches"))
        per_pairing[pairing.name] = result
        for key in COUNTS:
            totals[key] += result[key]
    matches.sort(key=lambda m: -m["_score"])
    for match in matches:
        del match["_score"]
    return {**totals, "queued": queued, "matches": matches[:MAX_LISTED], "pairings": per_pairing}


def run_job(_entity: str, names: list[str], _kind: hooks.WriteKind) -> None:
    """The outbox hook of RUN_JOB: a queued full run of each named pairing."""
    for name in names:
        with unit_of_work() as session:
            result = generate_matches(session, pairing=get_pairing(name))
        log.info("match run (%s): created %d, removed %d", name, result["created"], result["removed"])


def register() -> None:
    hooks.on_write(RUN_JOB, run_job)
