"""Resolving a field name of an entity to a target (column or JSON path), and the record projection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql import type_coerce

from backend.errors import BadRequest
from backend.services.query.targets import ColumnTarget, Target, json_target
from backend.services.registry import BUILTIN_KINDS, FIELD_NAME, INTERNAL, EntitySpec

BUILTIN_ORDER = ("created_date", "updated_date", "created_by", "created_by_id", "is_sample")


class FieldResolver:
    """Maps names to targets for one entity and one database.

    `strict` (the REST surface) refuses an undeclared name on a modelled entity unless some record
    carries it in `extra`; the Base44 surface, like Base44, accepts any well-formed name.
    """

    def __init__(self, session: Session, spec: EntitySpec, *, strict: bool) -> None:
        self.session = session
        self.spec = spec
        self.strict = strict and not spec.document
        self.dialect = session.get_bind().dialect.name
        self._known_extra: dict[str, bool] = {}

    def __call__(self, name: str) -> Target:
        if not isinstance(name, str) or not FIELD_NAME.match(name) or name in INTERNAL:
            raise BadRequest(f"{str(name)[:60]!r} is not a field of {self.spec.name}")
        model = self.spec.model
        if name in BUILTIN_KINDS:
            return ColumnTarget(name, getattr(model, name), BUILTIN_KINDS[name])
        declared = self.spec.fields.get(name)
        if declared is not None:
            column = getattr(model, name)
            if declared.kind == "list":
                return json_target(self.dialect, name, column, ())
            return ColumnTarget(name, column, declared.kind)
        if self.strict and not self._extra_exists(name):
            raise BadRequest(f"{self.spec.name} has no field {name!r}")
        return json_target(self.dialect, name, model.extra, tuple(name.split(".")))

    def _extra_exists(self, name: str) -> bool:
        if name not in self._known_extra:
            extra = self.spec.model.extra
            first = name.split(".")[0]
            if self.dialect == "postgresql":
                has = type_coerce(extra, JSONB).has_key(first)
            else:
                has = func.json_type(extra, f"$.{first}").isnot(None)
            found = self.session.scalar(select(exists().where(has, self.spec.scope())))
            self._known_extra[name] = bool(found)
        return self._known_extra[name]


def record_columns(spec: EntitySpec) -> list[Any]:
    """The columns a full record is built from: id, declared fields, built-ins, extra — in that order."""
    model = spec.model
    return [
        model.id,
        *(getattr(model, name) for name in spec.fields),
        *(getattr(model, name) for name in BUILTIN_ORDER),
        model.extra,
    ]


def record_keys(spec: EntitySpec) -> list[str]:
    return ["id", *spec.fields, *BUILTIN_ORDER]


def to_record(keys: list[str], row: Any, extra: dict[str, Any] | None) -> dict[str, Any]:
    """One record as the API shows it; extra keys never shadow a real column."""
    record = dict(zip(keys, row, strict=False))
    if extra:
        for key, value in extra.items():
            record.setdefault(key, value)
    return record


def project(record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if not fields:
        return record
    out = {"id": record["id"]}
    for name in fields:
        if name in record:
            out[name] = record[name]
        elif "." in name:
            value: Any = record
            for part in name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            out[name] = value
    return out
