"""Serving a stored file: access check, conditional requests, one byte range, safe headers, a stream."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.errors import DomainError, Forbidden, NotFound
from backend.models.file import StoredFile
from backend.services import file_access
from backend.services.files import check_access
from backend.services.filetypes import content_disposition
from backend.services.storage import get_storage, valid_key

_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")
CACHE_SECONDS = 86400


class RangeNotSatisfiable(DomainError):
    status, code = 416, "range_not_satisfiable"


@dataclass
class Download:
    status: int
    headers: dict[str, str]
    body: Iterator[bytes] | None  # None for HEAD and 304


def open_download(
    session: Session,
    key: str,
    *,
    sig: str | None,
    expires: str | None,
    token: str | None,
    range_header: str | None = None,
    if_range: str | None = None,
    if_none_match: str | None = None,
    with_body: bool = True,
) -> Download:
    """Checks access (before revealing whether the key exists), then describes the response.

    The bytes are opened here, so a missing object is a clean 404, and streamed by the caller in chunks.
    """
    if not valid_key(key):  # path characters and the like never reach the storage backend
        raise NotFound("No such file")
    expiry, user = check_access(session, key, sig, expires, token)
    row = session.get(StoredFile, key)
    if row is None or (user is not None and not file_access.may_read(session, row, user.viewer)):
        raise NotFound("No such file")
    if row.private and expiry == 0:
        raise Forbidden("A private file needs a signed link with an expiry (CreateFileSignedUrl)")
    etag = f'"{row.sha256}"'
    headers = {"ETag": etag, "Cache-Control": _cache_control(expiry)}
    if if_none_match and _etag_listed(if_none_match, etag):
        return Download(304, headers, None)
    headers |= {
        "Content-Type": row.content_type + ("; charset=utf-8" if row.content_type.startswith("text/") else ""),
        "Content-Disposition": content_disposition(row.name, row.content_type),
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
    }
    span = None
    if range_header and (not if_range or if_range.strip() == etag):
        span = parse_range(range_header, row.size)
    status, start, length = 200, 0, row.size
    if span is not None:
        status, start, length = 206, span[0], span[1] - span[0] + 1
        headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{row.size}"
    headers["Content-Length"] = str(length)
    body = get_storage().open(key, start, length) if with_body else None
    return Download(status, headers, body)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One `bytes=` range → (first, last), inclusive. Anything we do not serve as a range (several ranges,
    bad syntax) is ignored, as RFC 9110 allows: the whole file follows. A range past the end → 416."""
    match = _RANGE.match(header.strip())
    if match is None or not (match[1] or match[2]):
        return None
    if match[1]:
        first = int(match[1])
        if match[2] and int(match[2]) < first:
            return None
        if first >= size:
            raise _unsatisfiable(size)
        return first, min(int(match[2]) if match[2] else size - 1, size - 1)
    suffix = int(match[2])
    if suffix == 0:
        raise _unsatisfiable(size)
    return max(0, size - suffix), size - 1


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"The requested range is outside the file ({size} bytes)", headers={"Content-Range": f"bytes */{size}"}
    )


def _etag_listed(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _cache_control(expiry: int | None) -> str:
    # The bytes under a key never change, so a browser may keep them; "private": never in shared caches.
    if expiry is None:
        return "private, no-cache"
    lifetime = CACHE_SECONDS if expiry == 0 else max(0, min(CACHE_SECONDS, expiry - int(time.time())))
    return f"private, max-age={lifetime}"
