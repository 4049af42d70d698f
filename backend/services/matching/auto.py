"""AUTO_MATCH: keep the matches of just the records a write touched in step with them, after it committed.

The hooks are registered for the offering and the seeking entity of every pairing (pairings.py), and run
from the outbox, off the request's path:
- created, updated, soft-deleted or restored → that record is re-matched in each of its pairings
  (generate_matches with its id). A soft-deleted record counts as closed, so its untouched new matches
  go exactly as stale pairs do in any run, and those an agent touched stay; a restored one gets its
  pairs back.
- purged → every match pointing at it is removed, whatever AUTO_MATCH says: the record is gone for good,
  and no later run would ever clear a match an agent touched (README "Matching").
The result entities get a hook too: a match a person (or the office's browser) created with the new
status is alerted like one the engine created (alerts.py).
"""

from __future__ import annotations

import logging

from backend.config import get_settings
from backend.database import unit_of_work
from backend.errors import DomainError
from backend.services.hooks import WriteKind, on_write
from backend.services.matching import alerts, runs, store
from backend.services.matching.bound import bind
from backend.services.matching.pairings import for_entity, for_result, pairings
from backend.services.matching.service import generate_matches

log = logging.getLogger(__name__)


def rematch_after_write(entity: str, ids: list[str], kind: WriteKind = "write") -> None:
    """The after-write hook of every offering and seeking entity, run from the outbox. A record purged
    meanwhile is skipped; any other failure propagates, so the outbox tries again later."""
    if not ids or kind == "purge" or not get_settings().auto_match:
        return
    for pairing in for_entity(entity):
        seekers = entity == pairing.seek.entity
        try:
            with unit_of_work() as session:
                result = generate_matches(
                    session,
                    client_ids=list(ids) if seekers else None,
                    property_ids=None if seekers else list(ids),
                    pairing=pairing,
                )
        except DomainError as exc:  # e.g. the record was purged between its write and this hook
            log.warning("auto-match (%s) skipped for %s %s: %s", pairing.name, entity, ids[:5], exc.message)
            continue
        log.info(
            "auto-match (%s) after %s of %s %s: created %d, updated %d, removed %d",
            pairing.name,
            kind,
            entity,
            ids[:5],
            result["created"],
            result["updated"],
            result["removed"],
        )


def drop_matches_after_purge(entity: str, ids: list[str], kind: WriteKind) -> None:
    """The after-purge hook of every offering and seeking entity: their matches go with them."""
    if not ids or kind != "purge":
        return
    for pairing in for_entity(entity):
        with unit_of_work() as session:
            removed = store.delete_referencing(session, bind(pairing), entity == pairing.seek.entity, ids)
        log.info("purge of %s %s removed %d %s matches", entity, ids[:5], removed, pairing.name)


def alert_after_write(entity: str, ids: list[str], kind: WriteKind) -> None:
    """The after-write hook of every result entity: new-status matches written by anyone are alerted once."""
    pairing = for_result(entity)
    if pairing is None or not pairing.alerts or kind not in ("write", "restore") or not ids:
        return
    with unit_of_work() as session:
        alerts.record_new(session, bind(pairing), ids)


def register_hooks() -> None:
    """Called once by create_app and scripts/worker.py (registering twice is harmless: on_write ignores a
    repeat). Loads and checks the pairings: a bad MATCH_PAIRINGS stops the start here."""
    alerts.register()
    runs.register()
    for pairing in pairings():
        for entity in (pairing.offer.entity, pairing.seek.entity):
            on_write(entity, rematch_after_write)
            on_write(entity, drop_matches_after_purge)
        if pairing.alerts:
            on_write(pairing.result.entity, alert_after_write)
