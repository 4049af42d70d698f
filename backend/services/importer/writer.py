"""The upsert of one entity: rows in, each created, updated, unchanged or rejected; never a half-written record.

A row's `deleted_date` decides where the record lives: set, it goes to (or stays in) the trash with that
time; absent or empty, it is live, so a trashed record comes back only from a row at least as new as its
trashing (trashing bumps `updated_date`, and older rows are refused unless `force`).

Rows are compared with what is stored, field by field, so importing the same export twice writes nothing
and bumps no version. Everything the database would refuse (a duplicate id, a unique pair taken, a NUL
character, an over-long creator) is checked first and rejected per row, so one entity is one transaction
that either commits whole or, on a source-level error, rolls back whole (the caller decides which).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import UniqueConstraint, insert, select, tuple_, update
from sqlalchemy.orm import Session

from backend.models.base import new_id, utcnow
from backend.services import outbox
from backend.services.entities import RECORD_ID, Actor
from backend.services.importer.prepare import DELETED, PreparedRow, RowError, prepare
from backend.services.importer.refs import RefTracker
from backend.services.importer.report import EntityReport
from backend.services.importer.sources import Row
from backend.services.query.fields import BUILTIN_ORDER, record_keys, to_record
from backend.services.realtime.changes import changed
from backend.services.registry import EntitySpec

BATCH = 1000


@dataclass
class ImportOptions:
    dry_run: bool = False
    trusted: bool = True  # False: built-ins are ignored and every row is a new record stamped with `actor`
    new_ids: bool = False  # True: a row without an id is a new record (Base44's importEntities), not a rejection
    force: bool = False  # True: overwrite records that were changed here after the export was taken
    actor: Actor | None = None
    collect: bool = False  # keep the imported records, as the API shows them (importEntities' `output`)
    rewrite: Callable[[Any], Any] | None = None  # re-hosted file URLs, applied to every incoming value
    # Run the after-write hooks (auto-matching) as the API's writes do. Off for migrations: their Matches
    # come with the data, and matching 100,000 imported rows one by one is not what an import is for.
    hooks: bool = False


def _canonical(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def same(a: Any, b: Any) -> bool:
    """Equal in value and in type (`1` is not `true`, `"3"` is not `3`), JSON compared canonically."""
    return type(a) is type(b) and _canonical(a) == _canonical(b)


class EntityImport:
    """Reads rows into one entity inside the caller's transaction; fills `report`, `refs` and `output`."""

    def __init__(self, session: Session, spec: EntitySpec, report: EntityReport, options: ImportOptions) -> None:
        self.session, self.spec, self.report, self.options = session, spec, report, options
        self.refs = RefTracker()
        self.output: list[dict[str, Any]] = []
        self.first_seen: dict[str, str] = {}  # id → where it first appeared in this source
        model = spec.model
        names = ["id", *spec.fields, *BUILTIN_ORDER, "extra", "deleted_at", "version"] + (
            ["entity_name"] if spec.document else []
        )
        self.columns = [getattr(model, n) for n in names]
        self.uniques = [
            tuple(c.name for c in con.columns) for con in spec.table.constraints if isinstance(con, UniqueConstraint)
        ]
        self.unique_seen: dict[tuple[str, ...], dict[tuple[Any, ...], str]] = {u: {} for u in self.uniques}

    def run(self, rows: Iterable[Row], progress: Callable[[int], None] | None = None) -> None:
        batch: list[PreparedRow] = []
        for row in rows:
            self.report.read += 1
            if progress is not None and self.report.read % 500 == 0:
                progress(self.report.read)
            raw_id = row.id if self.options.trusted else None
            if raw_id is not None and RECORD_ID.match(raw_id):
                if raw_id in self.first_seen:
                    self.report.reject(row.where, raw_id, f"the same id already appears at {self.first_seen[raw_id]}")
                    continue
                self.first_seen[raw_id] = row.where
            try:
                batch.append(
                    prepare(
                        self.spec,
                        row,
                        trusted=self.options.trusted,
                        new_ids=self.options.new_ids,
                        rewrite=self.options.rewrite,
                    )
                )
            except RowError as exc:
                self.report.reject(row.where, row.id, str(exc))
                continue
            if len(batch) >= BATCH:
                self._flush(batch)
                batch = []
        if batch:
            self._flush(batch)
        if progress is not None:
            progress(self.report.read)

    # --- one batch ------------------------------------------------------------------------------------

    def _flush(self, batch: list[PreparedRow]) -> None:
        model = self.spec.model
        ids = [p.id for p in batch if p.id is not None]
        stored = {r.id: r for r in self.session.execute(select(*self.columns).where(model.id.in_(ids)))} if ids else {}
        batch = self._check_uniques(batch)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for item in batch:
            current = stored.get(item.id) if item.id is not None else None
            if current is None:
                values = self._new_values(item)
                inserts.append(values)
                self.report.created += 1
            elif self.spec.document and current.entity_name != self.spec.name:
                self.report.reject(item.where, item.id, f"this id already belongs to a {current.entity_name} record")
                continue
            else:
                values = self._merged_values(item, current)
                if all(same(values[k], getattr(current, k)) for k in values if k not in ("id", "version")):
                    self.report.unchanged += 1
                elif not self.options.force and values["updated_date"] < current.updated_date:
                    self.report.reject(
                        item.where,
                        item.id,
                        f"changed here after this export (here {current.updated_date:%Y-%m-%d %H:%M}, "
                        f"in the file {values['updated_date']:%Y-%m-%d %H:%M}); not overwritten",
                    )
                    continue
                else:
                    values["version"] = current.version + 1
                    updates.append(values)
                    self.report.updated += 1
            self.refs.track(self.spec, values["id"], item.columns, item.extra)
            if self.options.collect:
                keys = record_keys(self.spec)
                record = to_record(keys, [values[k] for k in keys], values["extra"])
                if values["deleted_at"] is not None:  # marked as in our export (export.py)
                    record[DELETED] = values["deleted_at"]
                self.output.append(record)
        if self.options.dry_run:
            return
        if inserts:
            self.session.execute(insert(self.spec.table), inserts)
        if updates:
            self.session.execute(update(model), updates)  # ORM bulk UPDATE by primary key
        if self.options.hooks and (inserts or updates):
            outbox.record(self.session, self.spec.name, [v["id"] for v in inserts + updates])
        # realtime subscribers hear of every import (ids only: a large file is not copied into notifications)
        changed(self.session, self.spec.name, [v["id"] for v in inserts], "create")
        changed(self.session, self.spec.name, [v["id"] for v in updates], "update")

    def _new_values(self, item: PreparedRow) -> dict[str, Any]:
        now = utcnow()
        given = item.builtins
        created = given.get("created_date") or now
        values: dict[str, Any] = {
            **item.columns,
            "id": item.id or new_id(),
            "created_date": created,
            "updated_date": given.get("updated_date") or created,
            "created_by": given.get("created_by"),
            "created_by_id": given.get("created_by_id"),
            "is_sample": given.get("is_sample", False),
            "extra": item.extra,
            "deleted_at": item.deleted_at,
            "version": 1,
        }
        if item.id is None and self.options.actor is not None:  # a brand-new record: its creator is the caller
            values["created_by"], values["created_by_id"] = self.options.actor.email, self.options.actor.id
        if self.spec.document:
            values["entity_name"] = self.spec.name
        return values

    def _merged_values(self, item: PreparedRow, current: Any) -> dict[str, Any]:
        """The record as the source has it; a built-in the source does not carry keeps its stored value."""
        values: dict[str, Any] = {**item.columns, "id": current.id, "extra": item.extra, "deleted_at": item.deleted_at}
        for name in BUILTIN_ORDER:
            given = item.builtins.get(name)
            keep = name not in item.builtins or (given is None and name in ("created_date", "updated_date"))
            values[name] = getattr(current, name) if keep else given
        return values

    def _check_uniques(self, batch: list[PreparedRow]) -> list[PreparedRow]:
        """Rows that would take a unique combination (Match: client_id + property_id) another record holds."""
        if not self.uniques:
            return batch
        model = self.spec.model
        refused: set[int] = set()
        for unique in self.uniques:
            keys = {k for k in (tuple(p.columns[c] for c in unique) for p in batch) if None not in k}
            holders: dict[tuple[Any, ...], str] = {}
            if keys:
                cols = [getattr(model, c) for c in unique]
                for row in self.session.execute(select(model.id, *cols).where(tuple_(*cols).in_(list(keys)))):
                    holders[tuple(row[1:])] = row[0]
            seen = self.unique_seen[unique]
            for index, item in enumerate(batch):
                key = tuple(item.columns[c] for c in unique)
                if index in refused or None in key:
                    continue
                other = seen.get(key) or holders.get(key)
                if other is not None and other != item.id:
                    refused.add(index)
                    self.report.reject(item.where, item.id, f"{' + '.join(unique)} already used by record {other}")
                else:
                    seen[key] = item.id or f"the new record from {item.where}"
        return [item for index, item in enumerate(batch) if index not in refused]
