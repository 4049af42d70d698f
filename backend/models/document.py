from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base
from backend.models.base import BuiltinFields


class Document(BuiltinFields, Base):
    """The schemaless store: every PascalCase entity the exported app uses but ENTITIES.md does not model.

    It is an entity with no declared fields: all its fields live in `extra`, so the same query engine
    and entity service serve it, scoped by `entity_name`.
    """

    __tablename__ = "documents"
    list_order = ("entity_name", "created_date", "id")  # every read is scoped to one entity

    entity_name: Mapped[str] = mapped_column(String(64), nullable=False)
