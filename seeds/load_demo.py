"""Loads the demo office into an empty database (entities arrive with the Entities issue)."""

from __future__ import annotations


def run() -> str:
    return "Demo data: nothing to load yet."
