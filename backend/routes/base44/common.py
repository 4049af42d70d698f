"""What every Base44-surface route shares: the app id check and the entity name."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from backend.config import get_settings
from backend.errors import NotFound
from backend.services.registry import EntitySpec, get_spec

AppId = Annotated[str, Path(max_length=128, description="Base44 app id (must equal BASE44_APP_ID when set)")]
EntityName = Annotated[str, Path(max_length=200, description="PascalCase entity name")]


def check_app(app_id: str) -> None:
    expected = get_settings().base44_app_id
    if expected and app_id != expected:
        raise NotFound(f"No app with id {app_id[:64]!r} on this server")


def spec_for(app_id: str, entity: str) -> EntitySpec:
    check_app(app_id)
    return get_spec(entity)
