"""`--from-api`: records straight from the Base44 entities API (lossless), or from this server's Base44 surface.

Pages through `GET {url}/api/apps/{app_id}/entities/{Entity}?limit=5000&skip=N&sort=created_date` until a page
comes back empty (a server may cap pages below the limit it was asked for). Sends the key both as Base44's
`api_key` header and as `Authorization: Bearer` (this server takes a JWT there). A record repeated by a
shifting page is skipped when identical; a differing one reaches the importer, which rejects the duplicate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from backend.services.importer.sources import Row, SourceError

PAGE = 5000


class EntityMissing(Exception):
    """The server has no such entity (404 on the first page): nothing to import, not an error."""


class ApiClient:
    def __init__(self, base_url: str, app_id: str, api_key: str, *, timeout: float = 120.0) -> None:
        self.base = f"{base_url.rstrip('/')}/api/apps/{app_id}/entities"
        headers = {"api_key": api_key, "Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self.client = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=15.0))

    def close(self) -> None:
        self.client.close()

    def _page(self, entity: str, skip: int) -> list[Any]:
        params: dict[str, Any] = {"limit": PAGE, "sort": "created_date"}
        if skip:
            params["skip"] = skip
        try:
            response = self.client.get(f"{self.base}/{entity}", params=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"Could not reach {self.base}: {exc or type(exc).__name__}") from None
        if response.status_code == 404 and skip == 0:
            raise EntityMissing(entity)
        if response.status_code in (401, 403):
            raise SourceError(f"The server refused the API key (HTTP {response.status_code})")
        if response.status_code != 200:
            raise SourceError(f"The server answered HTTP {response.status_code} for {entity} (skip={skip})")
        try:
            page = response.json()
        except (ValueError, json.JSONDecodeError):
            raise SourceError(f"The server's answer for {entity} is not JSON") from None
        if not isinstance(page, list):
            raise SourceError(f"The server's answer for {entity} is not a list of records")
        return page

    def rows(self, entity: str, counted: Callable[[int], None] | None = None) -> Iterator[Row]:
        seen: dict[str, str] = {}
        skip = 0
        while page := self._page(entity, skip):
            new = 0
            for index, item in enumerate(page, start=skip + 1):
                where = f"record {index}"
                if not isinstance(item, dict):
                    yield Row(where, {}, False, "is not a JSON object")
                    continue
                record_id = item.get("id")
                if isinstance(record_id, str):
                    fingerprint = hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
                    if seen.get(record_id) == fingerprint:
                        continue  # the same record again, from a page boundary that moved
                    new += record_id not in seen
                    seen[record_id] = fingerprint
                yield Row(where, item, False)
            if new == 0 and all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in page):
                raise SourceError(f"The server keeps answering the same {entity} records: its paging (skip) is broken")
            skip += len(page)
            if counted is not None:
                counted(skip)
