"""Files (API.md §5, §7.5): streamed uploads, signed links, downloads with ranges, deletion.

What the Base44 integrations call (UploadFile, UploadPrivateFile, CreateFileSignedUrl):
- `save_upload(body, content_type, user=..., private=...)`: a multipart request body → the file's record
- `save_stream(chunks, filename=..., declared_type=..., user=..., private=...)`: raw bytes → the record
- `create_signed_url(session, file_uri, expires_in)` / `signed_url(key, expires_in)`: an expiring link
- `resolve_file_uri(uri)`: `file_uri` (the bare key; a `files://<key>` or one of our file URLs is accepted
  too) → key; `get_file(session, uri)` for its row.
A record is `{file_url, file_uri, file_name, size, content_type, sha256, private}`; a private file's
`file_url` is null (it is fetched through a signed link only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import anyio
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.config import get_settings
from backend.database import unit_of_work
from backend.errors import Forbidden, NotFound, PayloadTooLarge, Unauthorized, ValidationFailed, field_error
from backend.models.file import StoredFile
from backend.services import file_access
from backend.services.auth import AuthUser, authenticate
from backend.services.filetypes import EXTENSIONS, Sniffer, safe_name
from backend.services.multipart import ENVELOPE_BYTES, open_file_part
from backend.services.rules import Viewer
from backend.services.storage import Storage, StorageWriter, get_storage, new_key, valid_key

log = logging.getLogger(__name__)

# Bytes handed to a worker thread at a time: few thread hops, memory still flat.
BATCH_BYTES = 1024 * 1024
MAX_SIGNED_SECONDS = 7 * 24 * 3600


def file_record(row: StoredFile) -> dict[str, Any]:
    return {
        "file_url": None if row.private else public_url(row.key),
        "file_uri": row.key,
        "file_name": row.name,
        "size": row.size,
        "content_type": row.content_type,
        "sha256": row.sha256,
        "private": row.private,
    }


# --- upload -------------------------------------------------------------------------------------------


async def save_upload(
    body: AsyncIterator[bytes],
    content_type: str | None,
    *,
    user: AuthUser | None,
    private: bool = False,
    content_length: int | None = None,
) -> dict[str, Any]:
    """Stores the `file` part of a multipart body (see `save_stream`); the body is never held whole."""
    limit = get_settings().upload_max_bytes
    if content_length is not None and content_length > limit + ENVELOPE_BYTES:
        raise PayloadTooLarge(f"The upload is larger than the limit of {limit} bytes (UPLOAD_MAX_BYTES)")
    part = await open_file_part(body, content_type, max_file_bytes=limit)
    return await save_stream(
        part.chunks, filename=part.filename, declared_type=part.content_type, user=user, private=private
    )


async def save_stream(
    chunks: AsyncIterator[bytes],
    *,
    filename: str | None,
    declared_type: str | None,
    user: AuthUser | None,
    private: bool = False,
) -> dict[str, Any]:
    """Streams bytes into storage while counting, hashing and sniffing them, then records the file.

    Over UPLOAD_MAX_BYTES → 413 before the first byte past the limit is written; a type that is not
    allowed (by content) → 415; empty → 422. On any failure nothing is left in storage.
    """
    settings = get_settings()
    limit = settings.upload_max_bytes
    storage = get_storage()
    sniffer = Sniffer(settings.allowed_upload_types, declared_type, filename or "")
    upload = _Upload(storage, await run_in_threadpool(storage.writer), sniffer)
    try:
        size, batch = 0, bytearray()
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The file is larger than the upload limit of {limit} bytes (UPLOAD_MAX_BYTES)")
            batch += chunk
            if len(batch) >= BATCH_BYTES:
                data, batch = bytes(batch), bytearray()
                await run_in_threadpool(upload.absorb, data)
        if size == 0:
            raise ValidationFailed("The file is empty", detail=[field_error("file", "The file is empty")])
        if batch:
            await run_in_threadpool(upload.absorb, bytes(batch))
        row = await run_in_threadpool(upload.finish, filename, private, user)
    except BaseException:
        with anyio.CancelScope(shield=True):  # a client that went away must not leave bytes behind either
            await run_in_threadpool(upload.abort)
        raise
    return file_record(row)


class _Upload:
    """The blocking half of an upload, run in worker threads: hash, sniff, write, commit, record."""

    def __init__(self, storage: Storage, writer: StorageWriter, sniffer: Sniffer) -> None:
        self.storage, self.writer, self.sniffer = storage, writer, sniffer
        self.hasher = hashlib.sha256()
        self.size = 0
        self.held = bytearray()
        self.committed: str | None = None

    def absorb(self, data: bytes) -> None:
        self.hasher.update(data)
        self.size += len(data)
        self.sniffer.feed(data)  # raises as soon as the head is judged: refused content never reaches storage
        self.held += data
        if not self.sniffer.decided:  # fewer than HEAD_BYTES so far: wait for the verdict before writing
            return
        if self.writer.key_hint is None and self.sniffer.content_type:
            self.writer.key_hint = new_key(EXTENSIONS.get(self.sniffer.content_type, "bin"))
        data, self.held = bytes(self.held), bytearray()
        self.writer.write(data)

    def finish(self, filename: str | None, private: bool, user: AuthUser | None) -> StoredFile:
        ctype = self.sniffer.finish()
        if self.held:
            self.writer.write(bytes(self.held))
            self.held = bytearray()
        key = self.writer.key_hint or new_key(EXTENSIONS.get(ctype, "bin"))
        self.writer.commit(key)
        self.committed = key
        row = StoredFile(
            key=key,
            name=safe_name(filename, ctype),
            size=self.size,
            content_type=ctype,
            sha256=self.hasher.hexdigest(),
            private=private,
            created_by=user.email if user else None,
            created_by_id=user.id if user else None,
        )
        # Its own unit of work, committed before we answer: the bytes and the row exist together or not at all
        # (a failure here removes the bytes again; a request's later rollback could not).
        with unit_of_work() as session:
            session.add(row)
        return row

    def abort(self) -> None:
        try:
            if self.committed is not None:
                self.storage.delete(self.committed)
            else:
                self.writer.abort()
        except Exception:  # the upload is failing already; report that failure, log this one
            log.warning("could not clean up a failed upload (%s)", self.committed or "uncommitted", exc_info=True)


# --- links --------------------------------------------------------------------------------------------


def _signature(key: str, expires: int) -> str:
    """HMAC-SHA256 over key and expiry (0 = never), with a key derived from SECRET_KEY for this purpose only."""
    secret = hmac.new(get_settings().secret_key.encode(), b"files", hashlib.sha256).digest()
    digest = hmac.new(secret, f"{key}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _url(key: str, query: str) -> str:
    # Absolute (PUBLIC_URL): the link is stored in records and fetched by clients that have no base URL.
    return f"{get_settings().public_url.rstrip('/')}/api/files/{key}?{query}"


def public_url(key: str) -> str:
    """A capability URL that never expires (Base44's public `file_url`); it fits an `<img src>`."""
    return _url(key, f"sig={_signature(key, 0)}")


def signed_url(key: str, expires_in: int) -> str:
    """A link that works for `expires_in` seconds, for public and private files alike."""
    expires = int(time.time()) + expires_in
    return _url(key, f"expires={expires}&sig={_signature(key, expires)}")


def resolve_file_uri(uri: Any) -> str:
    """`file_uri` → key. Accepts the bare key (what we hand out), `files://<key>` or one of our file URLs."""
    value = uri.strip() if isinstance(uri, str) else ""
    if value.startswith("files://"):
        value = value[len("files://") :]
    elif "/api/files/" in value:
        value = urlsplit(value).path.rsplit("/api/files/", 1)[-1]
    if not valid_key(value):
        message = "file_uri is not a file reference from this server"
        raise ValidationFailed(message, detail=[field_error("file_uri", message, str(uri)[:200])])
    return value


def get_file(session: Session, uri: Any) -> StoredFile:
    row = session.get(StoredFile, resolve_file_uri(uri))
    if row is None:
        raise NotFound("No such file")
    return row


def create_signed_url(session: Session, file_uri: Any, expires_in: Any = 300, viewer: Viewer | None = None) -> str:
    """CreateFileSignedUrl: `expires_in` seconds, 1 to 7 days' worth; the file must exist and, when private,
    be the `viewer`'s to read (their upload, or linked from a record they may read) — else it is not found."""
    if isinstance(expires_in, str) and expires_in.strip().isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_SIGNED_SECONDS:
        message = f"expires_in must be a whole number of seconds from 1 to {MAX_SIGNED_SECONDS}"
        raise ValidationFailed(message, detail=[field_error("expires_in", message, expires_in)])
    row = get_file(session, file_uri)
    if viewer is not None and not file_access.may_read(session, row, viewer):
        raise NotFound("No such file")
    return signed_url(row.key, expires_in)


def check_access(
    session: Session, key: str, sig: str | None, expires: str | None, token: str | None
) -> tuple[int | None, AuthUser | None]:
    """Who may read: a genuine, unexpired signature, or a valid bearer token.

    Returns the signature's expiry (0 = never) or None, and the user when the token granted access (the
    caller then holds a private file to that user's rights: services/file_access.py). A signature that is
    wrong or expired → 403 (unless a valid token came too); neither signature nor token → 401.
    """
    if sig:
        expiry = _signature_expiry(key, sig, expires)
        if expiry is not None and (expiry == 0 or expiry >= time.time()):
            return expiry, None
        if not token:
            raise Forbidden("This file link has expired" if expiry is not None else "This file link is not valid")
    elif not token:
        raise Unauthorized("Send a bearer token or use the file's signed link")
    return None, authenticate(session, token)


def _signature_expiry(key: str, sig: str, expires: str | None) -> int | None:
    raw = (expires or "0").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    expiry = int(raw)
    if not hmac.compare_digest(sig.encode("utf-8", "ignore"), _signature(key, expiry).encode()):
        return None
    return expiry


# --- deletion -----------------------------------------------------------------------------------------


def delete_file(session: Session, key: str) -> None:
    """Removes the row and the bytes. The row's deletion is flushed first, then the bytes go; if that fails,
    the request's transaction rolls back and the row stays (a row whose bytes are gone answers 404)."""
    row = session.get(StoredFile, key) if valid_key(key) else None
    if row is None:
        raise NotFound("No such file")
    session.delete(row)
    session.flush()
    get_storage().delete(key)
