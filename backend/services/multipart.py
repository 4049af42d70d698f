"""Reads one file part out of a streamed multipart/form-data body without ever holding the body.

FastAPI's `UploadFile` spools the whole body to a temporary file before the handler runs, so a size limit
could only be checked afterwards; this hands the file part's bytes on as they arrive instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from backend.errors import BadRequest, PayloadTooLarge, ValidationFailed, field_error

# Room for the part headers and other small form fields around the file itself.
ENVELOPE_BYTES = 1024 * 1024


@dataclass
class FilePart:
    filename: str
    content_type: str | None
    chunks: AsyncIterator[bytes]


def _missing(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, detail=[field_error(field, message, kind="missing")])


class _Reader:
    """Pulls body chunks only when the consumer wants more, and turns them into part events."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes, max_body: int) -> None:
        self.body, self.max_body, self.seen = body, max_body, 0
        self.events: deque[tuple[str, object]] = deque()
        self.done = False
        self._headers: dict[str, bytes] = {}
        self._field, self._value = bytearray(), bytearray()
        self.parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": self._headers.clear,
                "on_header_field": lambda data, start, end: self._field.extend(data[start:end]),
                "on_header_value": lambda data, start, end: self._value.extend(data[start:end]),
                "on_header_end": self._header_end,
                "on_headers_finished": lambda: self.events.append(("part", dict(self._headers))),
                "on_part_data": lambda data, start, end: self.events.append(("data", bytes(data[start:end]))),
                "on_part_end": lambda: self.events.append(("end", None)),
            },
        )

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").strip().lower()] = bytes(self._value).strip()
        self._field.clear()
        self._value.clear()

    async def next_event(self) -> tuple[str, object] | None:
        while not self.events:
            if self.done:
                return None
            try:
                chunk = await anext(self.body)
            except StopAsyncIteration:
                self.done = True
                continue
            except ClientDisconnect:
                raise BadRequest("The upload was interrupted before it finished") from None
            self.seen += len(chunk)
            if self.seen > self.max_body:
                raise PayloadTooLarge(f"The request body is larger than the upload limit of {self.max_body} bytes")
            try:
                self.parser.write(chunk)
            except MultipartParseError:
                raise BadRequest("The multipart body is malformed") from None
        return self.events.popleft()


async def open_file_part(
    body: AsyncIterator[bytes], content_type: str | None, *, max_file_bytes: int, field: str = "file"
) -> FilePart:
    """Reads up to the headers of the first part named `field`; its bytes then come from `chunks`.

    No such part → 422 (as FastAPI reports a missing field); a body that is not multipart → 422; a
    malformed or truncated one → 400; more than the limit plus a small envelope → 413.
    """
    ctype, options = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data":
        raise _missing(field, f"Send multipart/form-data with the file in a part named `{field}`")
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("The multipart Content-Type has no boundary")
    try:
        reader = _Reader(body, boundary, max_file_bytes + ENVELOPE_BYTES)
    except ValueError:  # python-multipart refuses absurd boundaries
        raise BadRequest("The multipart boundary is not valid") from None
    while (event := await reader.next_event()) is not None:
        kind, value = event
        if kind != "part":
            continue
        assert isinstance(value, dict)
        disposition, params = parse_options_header(value.get("content-disposition", b""))
        if disposition != b"form-data" or params.get(b"name") != field.encode():
            continue
        declared = value.get("content-type", b"").decode("latin-1") or None
        filename = params.get(b"filename", b"").decode("utf-8", "replace")
        return FilePart(filename, declared, _part_chunks(reader))
    raise _missing(field, f"No file part named `{field}` in the upload")


async def _part_chunks(reader: _Reader) -> AsyncIterator[bytes]:
    while (event := await reader.next_event()) is not None:
        kind, value = event
        if kind == "end":
            return
        if kind == "data":
            assert isinstance(value, bytes)
            yield value
    raise BadRequest("The multipart body ended before the file did")
