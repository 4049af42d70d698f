"""generate-matches (API.md §6.1): find the qualifying pairs, then reconcile them with the stored Matches.

One Match row per (client, property). A re-run updates score and reasons (bumping `version`), never
writes `status`, and removes a pair that no longer qualifies only while nobody has touched it: status
still `new`, written by the generator (no `created_by`), no fields an agent added, not soft-deleted.
Clients are processed in steps, so memory follows one step's pairs, not the whole office's.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, false, or_, select
from sqlalchemy.orm import Session

from backend.errors import NotFound, ValidationFailed, field_error
from backend.models import Client, Property
from backend.models.base import utcnow
from backend.services.matching import store
from backend.services.matching.scoring import ClientFacts, Scored
from backend.services.matching.search import (
    PairCounter,
    PropertyIndex,
    chunks,
    clients_for,
    load_by_ids,
    load_clients,
    load_properties,
    properties_for,
    scored_pairs,
)
from backend.services.matching.store import NewMatch

DEFAULT_MIN_SCORE = 60
MAX_LISTED = 500
CLIENTS_PER_STEP = 250  # memory follows one step: its new pairs and its stored matches
PREFILTER_MAX = 50  # up to this many records on one side, the other side is pre-filtered in SQL
# A listed match: (score, -sequence, id, the new pair, or None when it is a stored match that changed).
_Listed = tuple[int, int, str | None, NewMatch]


class MatchRun:
    """Counts, the best matches written (at most MAX_LISTED) and the run's settings."""

    def __init__(self, min_score: int, dry_run: bool) -> None:
        self.min_score, self.dry_run, self.now = min_score, dry_run, utcnow()
        self.pairs = PairCounter()
        self.created = self.updated = self.unchanged = self.removed = self.kept = 0
        self._best: list[tuple[_Listed, bool]] = []
        self._seq = itertools.count()

    def list(self, match_id: str | None, match: NewMatch, *, created: bool) -> None:
        item = ((match.score, -next(self._seq), match_id, match), created)  # ties: the earlier one stays
        if len(self._best) < MAX_LISTED:
            heapq.heappush(self._best, item)
        elif match.score > self._best[0][0][0]:
            heapq.heapreplace(self._best, item)

    def result(self, session: Session) -> dict[str, Any]:
        best = sorted(self._best, key=lambda item: (-item[0][0], item[0][3].client_id, item[0][3].property_id))
        stored = store.records_by_id(session, [item[0][2] for item in best if not item[1] and item[0][2]])
        matches = []
        for (_, _, match_id, match), created in best:
            if created or match_id not in stored:
                matches.append(store.new_record(match, match_id, self.now))
            else:  # a stored match whose score changed: the stored record with the new values
                record = stored[match_id]
                record.update(match_score=match.score, reasons=list(match.reasons), updated_date=self.now)
                matches.append(record)
        return {
            "evaluated_pairs": self.pairs.evaluated,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "kept": self.kept,
            "dry_run": self.dry_run,
            "min_score": self.min_score,
            "matches": matches,
        }


def check_min_score(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationFailed(
            "min_score must be a whole number from 0 to 100",
            detail=[field_error("min_score", "must be an integer from 0 to 100", value)],
        )
    return value


def _ids(value: Any, field: str) -> list[str]:
    """A list of record ids; an empty list means the same as none given (everything)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item for item in value):
        raise ValidationFailed(
            f"{field} must be a list of record ids", detail=[field_error(field, "must be a list of ids", None)]
        )
    return sorted(set(value))


def _missing(session: Session, model: Any, ids: Sequence[str]) -> list[str]:
    # Soft-deleted records exist: they are matched like closed ones (their untouched matches go away).
    known: set[str] = set()
    for part in chunks(ids):
        known.update(session.scalars(select(model.id).where(model.id.in_(part))))
    return [item for item in ids if item not in known]


def _check_known(session: Session, client_ids: list[str], property_ids: list[str]) -> None:
    parts = []
    for label, ids in (
        ("client_ids", _missing(session, Client, client_ids)),
        ("property_ids", _missing(session, Property, property_ids)),
    ):
        if ids:
            more = f" and {len(ids) - 20} more" if len(ids) > 20 else ""
            parts.append(f"unknown {label}: {', '.join(ids[:20])}{more}")
    if parts:
        message = "No such record — " + "; ".join(parts)
        raise NotFound(message, detail=message)


def generate_matches(
    session: Session,
    client_ids: Sequence[str] | None = None,
    property_ids: Sequence[str] | None = None,
    min_score: Any = DEFAULT_MIN_SCORE,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Match all clients and properties, or just the given ones (given both: those clients × those properties)."""
    run = MatchRun(check_min_score(min_score), bool(dry_run))
    cids, pids = _ids(client_ids, "client_ids"), _ids(property_ids, "property_ids")
    _check_known(session, cids, pids)
    is_sqlite = session.get_bind().dialect.name == "sqlite"

    clients: list[ClientFacts] | None = load_by_ids(session, Client, cids) if cids else None
    if pids:
        properties = load_by_ids(session, Property, pids)
    elif clients is not None and len(clients) <= PREFILTER_MAX:
        properties = load_properties(session, or_(false(), *(properties_for(c, is_sqlite) for c in clients)))
    else:
        properties = load_properties(session)
    index = PropertyIndex(properties)

    # Whose stored matches this run reconciles: the clients in scope, plus (for a run over properties)
    # every client already matched with them — a pair that stopped qualifying has to be looked at too.
    preloaded: dict[str, list[Row[Any]]] | None = None
    if clients is not None:
        universe = cids
    elif pids and len(pids) <= PREFILTER_MAX:
        clients = load_clients(session, or_(false(), *(clients_for(p, is_sqlite) for p in properties)))
        preloaded = store.existing_by_property(session, pids)
        universe = sorted({c.id for c in clients} | preloaded.keys())
    else:
        clients = load_clients(session)
        universe = sorted({c.id for c in clients} | store.matched_client_ids(session))

    by_id = {c.id: c for c in clients}
    scope = set(pids) if pids else None
    for part in chunks(universe, CLIENTS_PER_STEP):
        facts = [by_id[cid] for cid in part if cid in by_id]
        found = {(c.id, p.id): scored for c, p, scored in scored_pairs(facts, index, run.min_score, run.pairs)}
        if preloaded is not None:
            existing = [row for cid in part for row in preloaded.get(cid, [])]
        else:
            existing = store.existing_by_client(session, part, scope)
        _reconcile(session, run, found, existing)
    return run.result(session)


def _reconcile(session: Session, run: MatchRun, found: dict[tuple[str, str], Scored], existing: list[Row[Any]]) -> None:
    changes: list[tuple[str, NewMatch]] = []
    removals: list[str] = []
    for row in existing:
        scored = found.pop((row.client_id, row.property_id), None)
        if row.deleted_at is not None:  # an agent deleted it: leave it, and do not bring the pair back
            run.kept += 1
        elif scored is None:
            if store.untouched(row):
                removals.append(row.id)
            else:
                run.kept += 1
        else:
            if row.match_score == scored.score and tuple(row.reasons or ()) == scored.reasons:
                run.unchanged += 1
            else:
                changes.append((row.id, NewMatch(row.client_id, row.property_id, scored.score, scored.reasons)))
    new = [NewMatch(cid, pid, scored.score, scored.reasons) for (cid, pid), scored in found.items()]

    if run.dry_run:
        written: list[tuple[str | None, NewMatch]] = [(None, match) for match in new]
        run.removed += len(removals)
    else:
        written = list(store.insert_matches(session, new, run.now))
        store.update_matches(session, ((i, m.score, list(m.reasons)) for i, m in changes), run.now)
        run.removed += store.delete_untouched(session, removals)
    run.created += len(written)
    run.updated += len(changes)
    for match_id, match in written:
        run.list(match_id, match, created=True)
    for changed_id, match in changes:
        run.list(changed_id, match, created=False)
