"""AUTO_MATCH: re-match just the records a create or update wrote, after that write committed."""

from __future__ import annotations

import logging

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.errors import DomainError
from backend.services.hooks import on_write
from backend.services.matching.service import generate_matches

log = logging.getLogger(__name__)


def rematch_after_write(entity: str, ids: list[str]) -> None:
    """The after-write hook for Property and Client. Never raises: the write it follows already succeeded."""
    if not ids or not get_settings().auto_match:
        return
    try:
        with get_sessionmaker()() as session:
            if entity == "Client":
                result = generate_matches(session, client_ids=list(ids))
            else:
                result = generate_matches(session, property_ids=list(ids))
            session.commit()
        log.info(
            "auto-match for %s %s: created %d, updated %d, removed %d",
            entity,
            ids[:5],
            result["created"],
            result["updated"],
            result["removed"],
        )
    except DomainError as exc:  # e.g. the record was purged between its write and this hook
        log.warning("auto-match skipped for %s %s: %s", entity, ids[:5], exc.message)
    except Exception:
        log.exception("auto-match failed for %s %s", entity, ids[:5])


def register_hooks() -> None:
    """Called once by create_app (registering twice is harmless: on_write ignores a repeat)."""
    on_write("Property", rematch_after_write)
    on_write("Client", rematch_after_write)
