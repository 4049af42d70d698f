"""generate-matches (API.md §6.1): find the qualifying pairs, then reconcile them with the stored matches.

One record per (seeker, offer) pair, in the pairing's result entity. A re-run updates score and reasons
(bumping `version`), never writes `status`, and removes a pair that no longer qualifies only while nobody
has touched it: status still the pairing's new value, written by the generator (no `created_by`), no
fields an agent added, not soft-deleted. Each seeker keeps at most MATCH_MAX_NEW_PER_SEEKER such
untouched new matches, the best ones; agent-touched matches are never removed and take their slots first.
Seekers are processed in steps, so memory follows one step's pairs, not the whole office's.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, false, or_, select
from sqlalchemy.orm import Session

from backend.config import get_settings
from backend.errors import NotFound, ValidationFailed, field_error
from backend.models.base import utcnow
from backend.services.entities import RECORD_ID
from backend.services.matching import alerts, store
from backend.services.matching.bound import Bound, bind
from backend.services.matching.pairings import Pairing, get_pairing
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
    """Counts, the best matches written (at most MAX_LISTED), the ids created, and the run's settings."""

    def __init__(self, bound: Bound, min_score: int, dry_run: bool, cap: int) -> None:
        self.bound, self.min_score, self.dry_run, self.cap, self.now = bound, min_score, dry_run, cap, utcnow()
        self.pairs = PairCounter()
        self.created = self.updated = self.unchanged = self.removed = self.kept = self.capped = 0
        self.created_ids: list[str] = []
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
        changed = [item[0][2] for item in best if not item[1] and item[0][2]]
        stored = store.records_by_id(session, self.bound, changed)
        names = self.bound.result.names
        matches = []
        for (_, _, match_id, match), created in best:
            if created or match_id not in stored:
                matches.append(store.new_record(self.bound, match, match_id, self.now))
            else:  # a stored match whose score changed: the stored record with the new values
                record = stored[match_id]
                record.update({names["score"]: match.score, "updated_date": self.now})
                if "reasons" in names:
                    record[names["reasons"]] = list(match.reasons)
                matches.append(record)
        return {
            "pairing": self.bound.pairing.name,
            "evaluated_pairs": self.pairs.evaluated,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "kept": self.kept,
            "capped": self.capped,
            "max_new_per_seeker": self.cap,
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
    ids = value if isinstance(value, list | tuple) else None
    if ids is None or not all(isinstance(item, str) and RECORD_ID.match(item) for item in ids):
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


def _check_known(session: Session, bound: Bound, client_ids: list[str], property_ids: list[str]) -> None:
    parts = []
    for label, model, ids in (
        ("client_ids", bound.seek.model, client_ids),
        ("property_ids", bound.offer.model, property_ids),
    ):
        missing = _missing(session, model, ids)
        if missing:
            more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
            parts.append(f"unknown {label}: {', '.join(missing[:20])}{more}")
    if parts:
        message = "No such record — " + "; ".join(parts)
        raise NotFound(message, detail=message)


def generate_matches(
    session: Session,
    client_ids: Sequence[str] | None = None,
    property_ids: Sequence[str] | None = None,
    min_score: Any = DEFAULT_MIN_SCORE,
    dry_run: bool = False,
    pairing: Pairing | str = "seed",
) -> dict[str, Any]:
    """Match all seekers and offers of a pairing, or just the given ones (both given: those seekers × those
    offers). `client_ids` are the seekers' ids and `property_ids` the offers', whatever the entities."""
    bound = bind(get_pairing(pairing) if isinstance(pairing, str) else pairing)
    run = MatchRun(bound, check_min_score(min_score), bool(dry_run), get_settings().match_max_new_per_seeker)
    cids, pids = _ids(client_ids, "client_ids"), _ids(property_ids, "property_ids")
    _check_known(session, bound, cids, pids)
    is_sqlite = session.get_bind().dialect.name == "sqlite"

    clients: list[ClientFacts] | None = load_by_ids(session, bound, True, cids) if cids else None
    if pids:
        properties = load_by_ids(session, bound, False, pids)
    elif clients is not None and len(clients) <= PREFILTER_MAX:
        where = or_(false(), *(properties_for(c, is_sqlite, bound) for c in clients))
        properties = load_properties(session, bound, where)
    else:
        properties = load_properties(session, bound)
    index = PropertyIndex(properties)

    # Whose stored matches this run reconciles: the seekers in scope, plus (for a run over offers) every
    # seeker already matched with them — a pair that stopped qualifying has to be looked at too.
    preloaded: dict[str, list[Row[Any]]] | None = None
    if clients is not None:
        universe = cids
    elif pids and len(pids) <= PREFILTER_MAX:
        clients = load_clients(session, bound, or_(false(), *(clients_for(p, is_sqlite, bound) for p in properties)))
        preloaded = store.existing_by_property(session, bound, pids)
        universe = sorted({c.id for c in clients} | preloaded.keys())
    else:
        clients = load_clients(session, bound)
        universe = sorted({c.id for c in clients} | store.matched_client_ids(session, bound))

    by_id = {c.id: c for c in clients}
    scope = set(pids) if pids else None
    for part in chunks(universe, CLIENTS_PER_STEP):
        facts = [by_id[cid] for cid in part if cid in by_id]
        found: dict[str, dict[str, Scored]] = {}
        for c, p, scored in scored_pairs(facts, index, run.min_score, run.pairs):
            found.setdefault(c.id, {})[p.id] = scored
        if preloaded is not None:
            existing = [row for cid in part for row in preloaded.get(cid, [])]
        else:
            existing = store.existing_by_client(session, bound, part, scope)
        # The cap compares a seeker's pairs in this run's scope with its other untouched new matches.
        others: list[Row[Any]] = []
        if scope is not None and found:
            others = [row for row in store.existing_by_client(session, bound, sorted(found), None)
                      if row.property_id not in scope]  # fmt: skip
        _reconcile(session, run, found, existing, others)
    return run.result(session)


class _Plan:
    """What one step writes: new pairs, changed scores, removals."""

    def __init__(self) -> None:
        self.new: list[NewMatch] = []
        self.changes: list[tuple[str, NewMatch]] = []
        self.removals: list[str] = []


def _reconcile(
    session: Session,
    run: MatchRun,
    found: dict[str, dict[str, Scored]],
    existing: list[Row[Any]],
    others: list[Row[Any]],
) -> None:
    rows_of: dict[str, list[Row[Any]]] = {}
    for row in existing:
        rows_of.setdefault(row.client_id, []).append(row)
    others_of: dict[str, list[Row[Any]]] = {}
    for row in others:
        others_of.setdefault(row.client_id, []).append(row)
    plan = _Plan()
    for seeker in sorted(rows_of.keys() | found.keys()):
        _seeker(run, plan, seeker, found.get(seeker, {}), rows_of.get(seeker, []), others_of.get(seeker, []))

    if run.dry_run:
        written: list[tuple[str | None, NewMatch]] = [(None, match) for match in plan.new]
        run.removed += len(plan.removals)
    else:
        bound = run.bound
        inserted = store.insert_matches(session, plan.new, run.now, bound)
        store.update_matches(session, ((i, m.score, list(m.reasons)) for i, m in plan.changes), run.now, bound)
        run.removed += store.delete_untouched(session, plan.removals, bound)
        run.created_ids.extend(match_id for match_id, _ in inserted)
        # Alerts are recorded with the matches, in this transaction: both land or neither does.
        alerts.record_pairs(session, bound, ((i, m.client_id, m.property_id) for i, m in inserted))
        written = list(inserted)
    run.created += len(written)
    run.updated += len(plan.changes)
    for match_id, match in written:
        run.list(match_id, match, created=True)
    for changed_id, match in plan.changes:
        run.list(changed_id, match, created=False)


def _seeker(
    run: MatchRun, plan: _Plan, seeker: str, found: dict[str, Scored], rows: list[Row[Any]], others: list[Row[Any]]
) -> None:
    """One seeker's pairs: reconcile the stored ones in scope, then keep the best within the cap."""
    new_status = run.bound.result.new_status
    found = dict(found)
    taken = 0  # slots held by agent-touched matches that still have the new status
    # (score, 0 stored / 1 new, offer id, stored row or None, new score or None)
    candidates: list[tuple[int, int, str, Row[Any] | None, Scored | None]] = []
    for row in rows:
        scored = found.pop(row.property_id, None)
        if row.deleted_at is not None:  # an agent deleted it: leave it, and do not bring the pair back
            run.kept += 1
        elif store.untouched(row, new_status):
            if scored is None:
                plan.removals.append(row.id)
            else:
                candidates.append((scored.score, 0, row.property_id, row, scored))
        else:
            taken += row.status == new_status
            if scored is None:
                run.kept += 1
            else:
                _update(run, plan, row, scored)
    for row in others:  # outside this run's scope: they keep their stored scores, but compete for the slots
        if row.deleted_at is None and store.untouched(row, new_status):
            candidates.append((row.match_score or 0, 0, row.property_id, row, None))
        elif row.deleted_at is None:
            taken += row.status == new_status
    candidates.extend((scored.score, 1, offer, None, scored) for offer, scored in found.items())
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))  # best first; on a tie the stored one stays
    slots = max(0, run.cap - taken)
    for rank, (_, _, offer, stored, scored) in enumerate(candidates):
        if rank >= slots:
            run.capped += 1
            if stored is not None:
                plan.removals.append(stored.id)
        elif stored is None:
            assert scored is not None
            plan.new.append(NewMatch(seeker, offer, scored.score, scored.reasons))
        elif scored is not None:
            _update(run, plan, stored, scored)


def _update(run: MatchRun, plan: _Plan, row: Row[Any], scored: Scored) -> None:
    same_reasons = run.bound.result.reasons is None or tuple(row.reasons or ()) == scored.reasons
    if row.match_score == scored.score and same_reasons:
        run.unchanged += 1
    else:
        plan.changes.append((row.id, NewMatch(row.client_id, row.property_id, scored.score, scored.reasons)))
