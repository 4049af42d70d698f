"""Matching clients to properties (DESIGN.md §Matching, API.md §6.1)."""

from backend.services.matching.auto import register_hooks, rematch_after_write
from backend.services.matching.service import DEFAULT_MIN_SCORE, generate_matches
from backend.services.matching.store import match_record

__all__ = ["DEFAULT_MIN_SCORE", "generate_matches", "match_record", "register_hooks", "rematch_after_write"]
