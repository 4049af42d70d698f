"""AUTO_MATCH: keep the Matches of just the records a write touched in step with them, after it committed.

- created, updated, soft-deleted or restored → that record is re-matched (generate_matches with its id).
  A soft-deleted record counts as closed, so its untouched `new` matches go exactly as stale pairs do in
  any run, and those an agent touched stay; a restored one gets its pairs back.
- purged → every Match pointing at it is removed, whatever AUTO_MATCH says: the record is gone for good,
  and no later run would ever clear a match an agent touched (README "Matching").
"""

from __future__ import annotations

import logging

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.errors import DomainError
from backend.models import Client, Property
from backend.services.hooks import WriteKind, on_write
from backend.services.matching import store
from backend.services.matching.service import generate_matches

log = logging.getLogger(__name__)


def rematch_after_write(entity: str, ids: list[str], kind: WriteKind = "write") -> None:
    """The after-write hook for Property and Client, run from the outbox. A record purged meanwhile is
    skipped; any other failure propagates, so the outbox tries again later."""
    if not ids or kind == "purge" or not get_settings().auto_match:
        return
    try:
        with get_sessionmaker()() as session:
            if entity == "Client":
                result = generate_matches(session, client_ids=list(ids))
            else:
                result = generate_matches(session, property_ids=list(ids))
            session.commit()
        log.info(
            "auto-match after %s of %s %s: created %d, updated %d, removed %d",
            kind,
            entity,
            ids[:5],
            result["created"],
            result["updated"],
            result["removed"],
        )
    except DomainError as exc:  # e.g. the record was purged between its write and this hook
        log.warning("auto-match skipped for %s %s: %s", entity, ids[:5], exc.message)


def drop_matches_after_purge(entity: str, ids: list[str], kind: WriteKind) -> None:
    """The after-purge hook for Property and Client: their Matches go with them."""
    if not ids or kind != "purge":
        return
    with get_sessionmaker()() as session:
        removed = store.delete_referencing(session, Client if entity == "Client" else Property, ids)
        session.commit()
    log.info("purge of %s %s removed %d matches", entity, ids[:5], removed)


def register_hooks() -> None:
    """Called once by create_app (registering twice is harmless: on_write ignores a repeat)."""
    for entity in ("Property", "Client"):
        on_write(entity, rematch_after_write)
        on_write(entity, drop_matches_after_purge)
