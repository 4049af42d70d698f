"""Shapes of the matching route (API.md §6.1): validation of the body, documentation of the answer."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

RecordId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class GenerateMatchesIn(BaseModel):
    client_ids: list[RecordId] | None = Field(
        None,
        max_length=50_000,
        description="Only these seekers (default: all): Clients, or the pairing's seekers (BuyersBrokerage, ...). "
        "Unknown ids → 404.",
    )
    property_ids: list[RecordId] | None = Field(
        None,
        max_length=50_000,
        description="Only these offers (default: all): Properties, or the pairing's (PropertyBrokerage). "
        "Unknown ids → 404.",
    )
    pairing: str = Field(
        "seed",
        max_length=64,
        description="Which pairing to run (MATCH_PAIRINGS): `seed` (Property × Client → Match, the default), "
        "`brokerage` (PropertyBrokerage × BuyersBrokerage → MatchesBrokerage), `renters` (× BuyersRenters → Matches).",
    )
    min_score: int = Field(60, ge=0, le=100, strict=True, description="Store pairs scoring at least this (0–100).")
    dry_run: bool = Field(False, description="Report what would change; write nothing.")


class MatchOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | None = Field(description="null for a match a dry run would create")
    created_date: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.ffffff (no offset)")
    updated_date: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.ffffff (no offset)")
    created_by: str | None = None
    created_by_id: str | None = None
    is_sample: bool = False
    client_id: str | None = Field(None, description="the seeker (the seed's Match; other pairings: e.g. buyer_id)")
    property_id: str
    match_score: int
    reasons: list[str] | None
    status: str | None


class GenerateMatchesOut(BaseModel):
    pairing: str
    evaluated_pairs: int = Field(description="pairs that passed the hard rules, could reach min_score and were scored")
    created: int
    updated: int
    unchanged: int
    removed: int = Field(description="stale matches removed (still `new` and untouched by an agent)")
    kept: int = Field(description="matches left alone because an agent owns them (status changed, edited, deleted)")
    capped: int = Field(description="qualifying pairs left out (or removed) to keep each seeker within the cap")
    max_new_per_seeker: int = Field(description="the cap: untouched new matches kept per seeker (best first)")
    dry_run: bool
    min_score: int
    matches: list[MatchOut] = Field(description="created or updated matches, best first, at most 500")
