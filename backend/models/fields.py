"""Column factories that record each field's ENTITIES.md type in `Column.info["kind"]`.

The kind drives input validation ("" means null for every kind but `str`), the query engine's value
coercion and the importer's CSV parsing, so a model declares each field exactly once.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import BigInteger, Boolean, Float, Text
from sqlalchemy.orm import MappedColumn, mapped_column

from backend.database import JsonType

Kind = Literal["str", "int", "float", "bool", "date", "datetime", "ref", "list"]


def _col(kind: Kind, type_: Any, *, required: bool = False, ref: str | None = None, index: bool = False) -> Any:
    info: dict[str, Any] = {"kind": kind, "required": required}
    if ref:
        info["ref"] = ref
    column: MappedColumn[Any] = mapped_column(type_, nullable=True, index=index, info=info)
    return column


def str_field(*, required: bool = False, index: bool = False) -> Any:
    return _col("str", Text, required=required, index=index)


def int_field(*, index: bool = False) -> Any:
    return _col("int", BigInteger, index=index)


def float_field() -> Any:
    return _col("float", Float)


def bool_field() -> Any:
    return _col("bool", Boolean)


def date_field(*, index: bool = False) -> Any:
    """`YYYY-MM-DD` kept as sent (text), compared as text."""
    return _col("date", Text, index=index)


def datetime_field(*, index: bool = False) -> Any:
    """A form's datetime string kept as sent (text), compared as text."""
    return _col("datetime", Text, index=index)


def ref_field(entity: str) -> Any:
    """The id of another record; indexed, not a foreign key (Base44 never enforced them)."""
    return _col("ref", Text, ref=entity, index=True)


def list_field() -> Any:
    return _col("list", JsonType)
