"""Re-hosting: every file a record links to on Base44's hosts is downloaded into our storage and the link rewritten.

Which strings are file links: every http(s) URL in `image_urls` / `file_url`, and any other text value (also
inside lists and objects) that is a URL on `base44.app/.../files/...`, `media.base44.com`,
`*.supabase.co/storage/...`, or ends in an image or PDF extension. Our own file URLs are never candidates.

Three phases, each safe to interrupt: (1) scan the records for links; (2) download each link not yet in the
`rehosted_files` map through the files service (a failed download leaves nothing in storage) and record it
in the map; (3) per entity, in one transaction, replace the mapped links in every record (version + 1,
`updated_date` kept: re-hosting is a migration step, not an edit). A re-run downloads only what failed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.database import unit_of_work
from backend.errors import DomainError
from backend.models import Document
from backend.models.import_map import RehostedFile
from backend.services.files import public_url, save_stream
from backend.services.registry import MODELLED, EntitySpec, get_spec
from backend.services.storage import valid_key

URL_FIELDS = {"image_urls", "file_url"}
FILE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".svg", ".heic", ".pdf")
_OWN_PATH = re.compile(r"/api/files/([^/?#]+)$")
CHUNK = 500
DOWNLOADS_AT_ONCE = 4


def own_url(url: str) -> bool:
    match = _OWN_PATH.search(urlsplit(url).path)
    return match is not None and valid_key(match.group(1))


def is_file_url(value: str, field_name: str) -> bool:
    if not value.startswith(("http://", "https://")) or len(value) > 2048 or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    host, path = (parts.hostname or "").lower(), parts.path
    if not host or own_url(value):
        return False
    if field_name in URL_FIELDS:
        return True
    if (host == "base44.app" or host.endswith(".base44.app")) and "/files/" in path:
        return True
    if host == "media.base44.com" or (host.endswith(".supabase.co") and path.startswith("/storage/")):
        return True
    return path.lower().endswith(FILE_EXTENSIONS)


def find_urls(value: Any, field_name: str) -> Iterator[str]:
    if isinstance(value, str):
        if is_file_url(value, field_name):
            yield value
    elif isinstance(value, list):
        for item in value:
            yield from find_urls(item, field_name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from find_urls(item, field_name if key in ("url", "file_url") else str(key))


def replace_urls(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, list):
        return [replace_urls(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: replace_urls(v, mapping) for k, v in value.items()}
    return value


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def load_mapping(session: Session) -> dict[str, str]:
    """Every re-hosted URL → our public URL for it (the importer rewrites links it already moved)."""
    return {
        row.url: public_url(row.file_key) for row in session.execute(select(RehostedFile.url, RehostedFile.file_key))
    }


def rewriter(session: Session) -> Callable[[Any], Any] | None:
    mapping = load_mapping(session)
    return (lambda value: replace_urls(value, mapping)) if mapping else None


@dataclass
class RehostReport:
    found: int = 0  # distinct links that still point outside
    downloaded: int = 0
    reused: int = 0  # already downloaded by an earlier run
    failed: dict[str, str] = field(default_factory=dict)  # url → reason
    records: dict[str, int] = field(default_factory=dict)  # entity → records rewritten
    conflicts: int = 0  # records changed while re-hosting ran: left for the next run

    @property
    def ok(self) -> bool:
        return not self.failed and not self.conflicts


def _fields(spec: EntitySpec) -> list[str]:
    return [name for name, f in spec.fields.items() if f.kind in ("str", "list")]


def _scan(session: Session, spec: EntitySpec) -> dict[str, set[str]]:
    """record id → the outside links it holds (trashed records too: restoring one must not bring a dead link)."""
    model, names = spec.model, _fields(spec)
    stmt = select(model.id, *(getattr(model, n) for n in names), model.extra).where(spec.scope())
    found: dict[str, set[str]] = {}
    for row in session.execute(stmt.execution_options(yield_per=CHUNK)):
        urls = {u for name, value in zip(names, row[1:-1], strict=True) for u in find_urls(value, name)}
        urls.update(u for key, value in (row[-1] or {}).items() for u in find_urls(value, key))
        if urls:
            found[row[0]] = urls
    return found


async def _download(client: httpx.AsyncClient, url: str) -> str:
    """Streams one URL into storage; returns the stored file's key. Raises with a reason on any failure."""
    async with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}")
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "file"
        chunks: AsyncIterator[bytes] = response.aiter_bytes()
        record = await save_stream(
            chunks, filename=name, declared_type=response.headers.get("content-type"), user=None, private=False
        )
    return str(record["file_uri"])


async def _download_all(
    sessions: sessionmaker[Session], urls: list[str], report: RehostReport, progress: Callable[[int], None] | None
) -> None:
    limiter = anyio.Semaphore(DOWNLOADS_AT_ONCE)
    done = 0
    timeout = httpx.Timeout(60.0, connect=10.0)

    async def one(client: httpx.AsyncClient, url: str) -> None:
        nonlocal done
        async with limiter:
            try:
                key = await _download(client, url)
            except DomainError as exc:
                report.failed[url] = exc.message
            except (httpx.HTTPError, RuntimeError, OSError) as exc:
                report.failed[url] = str(exc) or type(exc).__name__
            else:
                with unit_of_work(sessions) as session:
                    session.merge(RehostedFile(url_sha256=url_hash(url), url=url, file_key=key))
                report.downloaded += 1
            done += 1
            if progress is not None:
                progress(done)

    async with httpx.AsyncClient(follow_redirects=True, timeout=timeout) as client, anyio.create_task_group() as tg:
        for url in urls:
            tg.start_soon(one, client, url)


def _rewrite(session: Session, spec: EntitySpec, records: dict[str, set[str]], mapping: dict[str, str]) -> int:
    model, names = spec.model, _fields(spec)
    ids = [rid for rid, urls in records.items() if urls & mapping.keys()]
    changed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        stmt = select(model.id, model.version, *(getattr(model, n) for n in names), model.extra)
        for row in session.execute(stmt.where(model.id.in_(chunk), spec.scope())).all():
            values: dict[str, Any] = {n: replace_urls(v, mapping) for n, v in zip(names, row[2:-1], strict=True)}
            values["extra"] = replace_urls(row[-1] or {}, mapping)
            result = session.execute(
                update(spec.table)
                .where(model.id == row[0], model.version == row[1])
                .values(**values, version=row[1] + 1)
            )
            changed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return changed


def entities_with_records(session: Session) -> list[EntitySpec]:
    """Every modelled entity and every entity of the document store that holds records."""
    names = session.scalars(select(Document.entity_name).distinct())
    return [*MODELLED.values(), *(get_spec(name) for name in sorted(names))]


def count_links(sessions: sessionmaker[Session], specs: list[EntitySpec]) -> int:
    """How many distinct outside links the records hold (what a dry run reports)."""
    with unit_of_work(sessions) as session:
        return len({u for spec in specs for urls in _scan(session, spec).values() for u in urls})


def rehost_files(
    sessions: sessionmaker[Session], specs: list[EntitySpec], progress: Callable[[int, int], None] | None = None
) -> RehostReport:
    report = RehostReport()
    with unit_of_work(sessions) as session:
        scanned = {spec.name: _scan(session, spec) for spec in specs}
        wanted = sorted({u for records in scanned.values() for urls in records.values() for u in urls})
        report.found = len(wanted)
        hashes = [url_hash(u) for u in wanted]
        known: set[str] = set()
        for start in range(0, len(hashes), CHUNK):
            chunk = hashes[start : start + CHUNK]
            known.update(session.scalars(select(RehostedFile.url).where(RehostedFile.url_sha256.in_(chunk))))
    report.reused = len(known)
    missing = [u for u in wanted if u not in known]
    if missing:
        anyio.run(_download_all, sessions, missing, report, (lambda n: progress(n, len(missing))) if progress else None)
    for spec in specs:
        with unit_of_work(sessions) as session:
            mapping = load_mapping(session)
            rewritten = _rewrite(session, spec, scanned[spec.name], mapping)
        wanted_here = sum(1 for urls in scanned[spec.name].values() if urls & mapping.keys())
        report.conflicts += wanted_here - rewritten
        if rewritten:
            report.records[spec.name] = rewritten
    return report
