"""What an import did, per entity: the counts of the final table, every rejected row and every dangling reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_LISTED = 1000  # rejections / dangling references kept in a report; the counts stay exact beyond it


@dataclass
class Rejection:
    where: str  # "line 7" (CSV: the line the row starts on) or "record 3" (JSON: its position, from 1)
    id: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.where, "id": self.id, "reason": self.reason}


@dataclass
class Dangling:
    field: str
    value: str  # the id that points at nothing
    target: str  # the entity it should name
    rows: int  # how many rows of this import carry it in this field
    example: str  # the id of one of them

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "value": self.value,
            "target": self.target,
            "rows": self.rows,
            "example": self.example,
        }


@dataclass
class EntityReport:
    entity: str
    source: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    dangling: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    dangling_refs: list[Dangling] = field(default_factory=list)
    error: str | None = None  # the whole source was refused: nothing of it was written
    notes: list[str] = field(default_factory=list)

    def reject(self, where: str, record_id: str | None, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_LISTED:
            self.rejections.append(Rejection(where, record_id, reason))

    def fail(self, message: str) -> None:
        """A source-level error: the entity's transaction is rolled back, so nothing of it counts as written."""
        self.error = message
        self.created = self.updated = self.unchanged = 0

    @property
    def ok(self) -> bool:
        return self.error is None and self.rejected == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "source": self.source,
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "dangling": self.dangling,
            "error": self.error,
            "rejections": [r.as_dict() for r in self.rejections],
            "dangling_references": [d.as_dict() for d in self.dangling_refs],
            "notes": self.notes,
        }

    def summary(self) -> str:
        """One sentence, for the Base44 surface's `details`."""
        if self.error:
            return f"{self.entity}: nothing imported — {self.error}"
        text = (
            f"{self.entity}: {self.read} read, {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.rejected} rejected"
        )
        if self.rejections:
            text += "; " + "; ".join(f"{r.where}: {r.reason}" for r in self.rejections[:10])
            if self.rejected > 10:
                text += f"; and {self.rejected - 10} more"
        return text
