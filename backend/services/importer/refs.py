"""Dangling references: `*_id` values of imported rows that name no record of the entity they point at.

Base44 never enforced references and neither do we (ENTITIES.md), so they are reported, not refused. The
check runs after every entity of a run is read, so a Property imported before its Contact is not flagged;
a dry run counts the ids it would have written as existing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.entity_schema import ENTITY_NAME
from backend.models import Document
from backend.services.importer.report import MAX_LISTED, Dangling, EntityReport
from backend.services.registry import MODELLED, RESERVED, EntitySpec

CHUNK = 1000
# entity → (field, target) → referenced id → [rows carrying it, one of their ids]
RefMap = dict[str, dict[tuple[str, str], dict[str, list[Any]]]]


def guess_target(field: str) -> str | None:
    """`property_id` → Property, `marketing_lead_id` → MarketingLead; None when it names no entity."""
    if not field.endswith("_id") or field in ("created_by_id", "_id", "id"):
        return None
    name = "".join(part.capitalize() for part in field[:-3].split("_") if part)
    return name if ENTITY_NAME.match(name) and name not in RESERVED else None


class RefTracker:
    def __init__(self) -> None:
        self.refs: RefMap = defaultdict(lambda: defaultdict(dict))
        self.ids: dict[str, set[str]] = defaultdict(set)  # ids each entity of the run holds (written or unchanged)

    def track(self, spec: EntitySpec, record_id: str, columns: dict[str, Any], extra: dict[str, Any]) -> None:
        self.ids[spec.name].add(record_id)
        pairs: list[tuple[str, str, Any]] = [
            (name, f.ref, columns.get(name)) for name, f in spec.fields.items() if f.ref is not None
        ]
        for name, value in extra.items():
            target = guess_target(name)
            if target is not None:
                pairs.append((name, target, value))
        for field, target, value in pairs:
            if isinstance(value, str) and value:
                seen = self.refs[spec.name][(field, target)].setdefault(value, [0, record_id])
                seen[0] += 1

    def merge(self, other: RefTracker) -> None:
        for entity, fields in other.refs.items():
            for key, values in fields.items():
                mine = self.refs[entity][key]
                for value, (count, example) in values.items():
                    mine.setdefault(value, [0, example])[0] += count
        for entity, ids in other.ids.items():
            self.ids[entity] |= ids

    def resolve(self, session: Session, reports: list[EntityReport]) -> None:
        """Fills `dangling` / `dangling_refs` of each entity's report (the one whose entity matches)."""
        by_entity = {r.entity: r for r in reports if r.error is None}
        wanted: dict[str, set[str]] = defaultdict(set)
        for fields in self.refs.values():
            for (_, target), values in fields.items():
                wanted[target].update(v for v in values if v not in self.ids.get(target, ()))
        existing = {target: self._existing(session, target, values) for target, values in wanted.items()}
        for entity, fields in self.refs.items():
            report = by_entity.get(entity)
            if report is None:
                continue
            for (field, target), values in sorted(fields.items()):
                found = existing.get(target)
                if found is None:
                    continue  # a guessed entity nobody has: no claim either way
                for value, (count, example) in sorted(values.items()):
                    if value in self.ids.get(target, ()) or value in found:
                        continue
                    report.dangling += count
                    if len(report.dangling_refs) < MAX_LISTED:
                        report.dangling_refs.append(Dangling(field, value, target, count, example))

    def _existing(self, session: Session, target: str, values: set[str]) -> set[str] | None:
        """Which of `values` exist as `target` records (trashed ones too); None when `target` is no entity at all."""
        spec = MODELLED.get(target)
        model: Any = spec.model if spec is not None else Document
        scope = [] if spec is not None else [Document.entity_name == target]
        unknown = spec is None and target not in self.ids
        if unknown and session.scalar(select(Document.id).where(*scope).limit(1)) is None:
            return None
        found: set[str] = set()
        ordered = sorted(values)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            found.update(session.scalars(select(model.id).where(model.id.in_(chunk), *scope)))
        return found
