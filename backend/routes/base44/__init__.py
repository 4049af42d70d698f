"""The Base44 surface (API.md §7): what `@base44/sdk` calls, adapted onto the same services."""

from __future__ import annotations

from backend.routes.base44 import entities, integrations, login_page, sdk_extras, users

# The beacons are public: sendBeacon carries no token, and a page view must never turn into an error.
public = [users.public, login_page.router, sdk_extras.beacons]
# `users.router` first: its `entities/User/...` paths must win over the generic `entities/{entity}/...`;
# `sdk_extras.router` before `entities.router`, whose `{entity}/{record_id}` would take `aggregate`.
protected = [users.router, sdk_extras.router, entities.router, integrations.router, sdk_extras.stats]
