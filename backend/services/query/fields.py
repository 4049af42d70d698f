"""Resolving a field name of an entity to a target (column or JSON path), and the record projection."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Text, case, cast, exists, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB, psycopg2
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql import type_coerce

from backend.database import dialect_name
from backend.entity_schema import JSON_KINDS
from backend.errors import BadRequest
from backend.services.query.params import ListParams
from backend.services.query.targets import ColumnTarget, FieldTarget, TypedJson, json_target
from backend.services.registry import BUILTIN_KINDS, FIELD_NAME, INTERNAL, EntitySpec

BUILTIN_ORDER = ("created_date", "updated_date", "created_by", "created_by_id", "is_sample")


class FieldResolver:
    """Maps names to targets for one entity and one database.

    `strict` (the REST surface) refuses an undeclared name on a modelled entity unless some record
    carries it in `extra`; the Base44 surface, like Base44, accepts any well-formed name.
    """

    def __init__(
        self,
        db: Session | Connection | None,
        spec: EntitySpec,
        *,
        strict: bool,
        dialect: str | None = None,
        present: set[str] | None = None,
    ) -> None:
        # db None: strict names are checked against `present` (the undeclared names some record carries,
        # found beforehand with `presence_query`), else only declared and built-in names exist
        self.db = db
        self.spec = spec
        self.strict = strict and not spec.document
        if dialect is None:
            if db is None:
                raise ValueError("FieldResolver needs a database or a dialect name")
            dialect = dialect_name(db)
        self.dialect = dialect
        self._known_extra: dict[str, bool] = {name: True for name in present or ()}

    def __call__(self, name: str) -> FieldTarget:
        if not isinstance(name, str) or not FIELD_NAME.match(name) or name in INTERNAL:
            raise BadRequest(f"{str(name)[:60]!r} is not a field of {self.spec.name}")
        model = self.spec.model
        if name in BUILTIN_KINDS:
            return ColumnTarget(name, getattr(model, name), BUILTIN_KINDS[name])
        declared = self.spec.fields.get(name)
        if declared is not None:
            column = getattr(model, name)
            if declared.kind in JSON_KINDS:
                return json_target(self.dialect, name, column, ())
            return ColumnTarget(name, column, declared.kind)
        typed = self.spec.extra_fields.get(name)
        if typed is None and self.strict and not self._extra_exists(name):
            raise BadRequest(f"{self.spec.name} has no field {name!r}")
        target = json_target(self.dialect, name, model.extra, tuple(name.split(".")))
        return target if typed is None or typed.kind in JSON_KINDS else TypedJson(target, typed.kind)

    def _extra_exists(self, name: str) -> bool:
        first = name.split(".")[0]
        if first not in self._known_extra:
            if self.db is None:
                raise BadRequest(f"{self.spec.name} has no field {name!r}")
            self._known_extra[first] = bool(self.db.scalar(self.presence_query([first])))
        return self._known_extra[first]

    def unknown(self, names: set[str]) -> list[str]:
        """Of `names`, the top-level undeclared ones a strict check must look for among the records."""
        if not self.strict:
            return []
        firsts = {n.split(".")[0] for n in names if isinstance(n, str) and FIELD_NAME.match(n)}
        declared = set(BUILTIN_KINDS) | INTERNAL | set(self._known_extra)
        return sorted(n for n in firsts if n not in declared and self.spec.field(n) is None)

    def presence_query(self, names: list[str]) -> Any:
        """One row: for each undeclared name, whether any record of the entity carries it in `extra`."""
        extra = self.spec.model.extra

        def has(name: str) -> Any:
            if self.dialect == "postgresql":
                return type_coerce(extra, JSONB).has_key(name)
            return func.json_type(extra, f"$.{name}").isnot(None)

        return select(*(exists().where(has(name), self.spec.scope()) for name in names))


def referenced(params: ListParams) -> set[str]:
    """Every field name a list request names: in `q` (through $and/$or/$nor), sort, fields and filters."""
    names: set[str] = {name for name, _ in params.sort} | set(params.fields or ()) | set(params.equals)

    def walk(query: Any, depth: int = 0) -> None:
        if not isinstance(query, dict) or depth > 10:
            return
        for key, value in query.items():
            if key in ("$and", "$or", "$nor") and isinstance(value, list):
                for item in value:
                    walk(item, depth + 1)
            elif isinstance(key, str) and not key.startswith("$"):
                names.add(key)

    walk(params.q)
    return names


def record_columns(spec: EntitySpec, *, pg_text_timestamps: bool = False) -> list[Any]:
    """The columns a full record is built from: id, declared fields, built-ins, extra — in that order.

    `pg_text_timestamps` has PostgreSQL format the two timestamps the way the API shows them (cheaper
    there than a Python call per value).
    """
    model = spec.model
    builtins: list[Any] = [getattr(model, name) for name in BUILTIN_ORDER]
    if pg_text_timestamps:
        builtins = [pg_timestamp_text(c) if c.key in TIMESTAMPS else c for c in builtins]
    return [model.id, *(getattr(model, name) for name in spec.fields), *builtins, model.extra]


_PG_TIMESTAMP = 'YYYY-MM-DD"T"HH24:MI:SS.US'
TIMESTAMPS = ("created_date", "updated_date")


def pg_timestamp_text(column: Any) -> Any:
    """A timestamp as Base44 shows it (`YYYY-MM-DDTHH:MM:SS.ffffff`), formatted by PostgreSQL."""
    return func.to_char(column, literal_column(f"'{_PG_TIMESTAMP}'")).label(column.key)  # a constant, not a parameter


_PG_DIALECT = psycopg2.dialect()  # type: ignore[no-untyped-call]


def pg_record_json(spec: EntitySpec, fields: list[str] | None) -> ColumnElement[Any]:
    """The record (or its `fields` projection) as JSON text built by PostgreSQL, same shape as `to_record`.

    Without client-named extra fields the expression has no parameters, so it is compiled to SQL once per
    entity and projection and reused as a single literal column (SQLAlchemy would otherwise rebuild and
    re-key a 60-argument function call on every request).
    """
    if all(name in spec.fields or name in BUILTIN_KINDS for name in fields or ()):
        return _compiled_record_json(spec, tuple(fields) if fields else None)
    return _record_json(spec, fields)


@lru_cache(maxsize=1024)
def _compiled_record_json(spec: EntitySpec, fields: tuple[str, ...] | None) -> ColumnElement[Any]:
    expr = _record_json(spec, list(fields) if fields else None)
    sql = str(expr.compile(dialect=_PG_DIALECT, compile_kwargs={"literal_binds": True}))
    return literal_column(sql)


def _record_json(spec: EntitySpec, fields: list[str] | None) -> ColumnElement[Any]:
    model = spec.model
    wanted = set(fields) if fields else None
    pairs: list[Any] = []
    for key in record_keys(spec):
        if wanted is not None and key != "id" and key not in wanted:
            continue
        column = getattr(model, key)
        value = func.to_char(column, _PG_TIMESTAMP) if key in TIMESTAMPS else column
        pairs += [literal_column(f"'{key}'"), value]  # keys are the registry's own identifiers
    columns = func.jsonb_build_object(*pairs)
    extra = type_coerce(model.extra, JSONB)
    record: Any
    part: Any
    if wanted is None:
        record = extra.op("||")(columns)  # the real columns win over any same-named extra key
    else:
        record = columns
        for name in fields or ():
            if name in spec.fields or name in BUILTIN_KINDS:
                continue
            # client-given names travel as bound parameters; a missing undotted key is left out, as in `project`
            if "." in name:
                part = func.jsonb_build_object(literal(name, Text), extra[tuple(name.split("."))])
            else:
                part = case(
                    (extra.has_key(name), func.jsonb_build_object(literal(name, Text), extra[name])),
                    else_=cast(literal_column("'{}'"), JSONB),
                )
            record = record.op("||")(part)
    return cast(record, Text)


def record_keys(spec: EntitySpec) -> list[str]:
    return ["id", *spec.fields, *BUILTIN_ORDER]


def to_record(keys: list[str], row: Any, extra: dict[str, Any] | None) -> dict[str, Any]:
    """One record as the API shows it; extra keys never shadow a real column. `row` may run on past `keys`
    (the extra column, sort columns): only the first len(keys) values are read, without copying the row."""
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
