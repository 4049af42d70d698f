"""Who may read a private file: its uploader, an admin, or whoever may read a record that links to it.

A private file (UploadPrivateFile) is reached through a signed link only, and a link is made for a user
(CreateFileSignedUrl) or the bytes fetched with their token only when one of those holds. "Links to it" is
a live record, of any entity, holding the file's key in a text or JSON field (`file_uri`, a `file_url`, a
list of `image_urls`, an undeclared field) that the user's read rule lets them read — the same rules as
every list, compiled into the same WHERE. Public files (UploadFile) stay what Base44 makes them: anyone
holding the URL may fetch them.
"""

from __future__ import annotations

from sqlalchemy import JSON, String, Text, cast, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from backend.models.document import Document
from backend.models.file import StoredFile
from backend.services.query import ListParams, where_clause
from backend.services.query.fields import FieldResolver
from backend.services.registry import MODELLED, EntitySpec, get_spec
from backend.services.rules import Viewer, fold, rule_for

LINKED_DOCUMENTS = 50  # document-store records holding the key that are checked against their rules


def may_read(session: Session, row: StoredFile, viewer: Viewer) -> bool:
    if not row.private or viewer.is_admin or (row.created_by_id is not None and row.created_by_id == viewer.id):
        return True
    return any(_linked(session, spec, row.key, viewer) for spec in MODELLED.values()) or _linked_document(
        session, row.key, viewer
    )


def _holds(spec: EntitySpec, key: str) -> list[ColumnElement[bool]]:
    columns = [c for c in spec.table.c if isinstance(c.type, String | Text | JSON)]
    return [cast(c, Text).contains(key, autoescape=True) for c in columns]


def _linked(session: Session, spec: EntitySpec, key: str, viewer: Viewer, ids: list[str] | None = None) -> bool:
    access = fold(rule_for(spec.rls, "read"), viewer)
    if access is False:
        return False
    where = where_clause(FieldResolver(session, spec, strict=False), ListParams(), access=access)
    query = select(spec.model.id).where(where, or_(*_holds(spec, key)))
    if ids is not None:
        query = query.where(spec.model.id.in_(ids))
    return session.scalar(query.limit(1)) is not None


def _linked_document(session: Session, key: str, viewer: Viewer) -> bool:
    """Entities kept in the document store: find the records holding the key, then ask each one's rules."""
    found = session.execute(
        select(Document.entity_name, Document.id)
        .where(Document.deleted_at.is_(None), cast(Document.extra, Text).contains(key, autoescape=True))
        .limit(LINKED_DOCUMENTS)
    ).all()
    return any(_linked(session, get_spec(name), key, viewer, [record_id]) for name, record_id in found)
