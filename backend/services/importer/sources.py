"""Reading an export file into rows: Base44's dashboard CSV (`<Entity>_export.csv`) and JSON arrays (`<Entity>.json`).

A file that cannot be read as a whole (not text, not UTF-8, not CSV/JSON, broken quoting) raises
SourceError with a sentence the office manager can act on; a single bad row comes through as a Row with a
`problem`, so the importer rejects it with its line number and carries on.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from backend.services.importer.cells import json_loads
from backend.services.registry import BUILTIN_KINDS, FIELD_NAME

# A 10 MB cell must reach the row check (and be rejected there), not stop the whole file inside the csv module.
csv.field_size_limit(max(csv.field_size_limit(), 256 * 1024 * 1024))
CHUNK = 1024 * 1024
SNIFF_BYTES = 8192
SAVE_AS_UTF8 = 'save it again as UTF-8 (in Excel: Save As → "CSV UTF-8")'


class SourceError(Exception):
    """The whole file is unusable; nothing from it is imported."""


@dataclass
class Row:
    where: str  # "line 7" / "record 3"
    values: dict[str, Any]
    csv: bool  # values are CSV text (typed by the field kinds) rather than JSON values
    problem: str | None = None  # a structural problem with this row: it is rejected with this reason

    @property
    def id(self) -> str | None:
        value = self.values.get("id")
        return value[:64] if isinstance(value, str) and value else None


def sniff(head: bytes, *, expect: str) -> None:
    """Refuses what is plainly not a CSV/JSON text file, naming what it is when that is recognisable."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError(f"The file is UTF-16 text, not UTF-8; {SAVE_AS_UTF8}")
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise SourceError(f"The file is an Excel workbook (or another Office/zip file), not {expect}; {SAVE_AS_UTF8}")
    if head.startswith(b"%PDF"):
        raise SourceError(f"The file is a PDF, not {expect}")
    if b"\x00" in head:
        raise SourceError(f"The file holds binary data (or UTF-16 text), not {expect}; {SAVE_AS_UTF8}")
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if expect == "CSV" and first in (b"[", b"{"):
        raise SourceError("The file holds JSON, not CSV: name it <Entity>.json")
    if expect == "JSON" and first and first not in (b"[", b"{"):
        raise SourceError(
            "The file is not JSON (a JSON export starts with '['); a CSV export is named <Entity>_export.csv"
        )


def check_utf8(stream: IO[bytes]) -> None:
    """One pass over the bytes: the first position that is not UTF-8 is named by its line."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    while chunk := stream.read(CHUNK):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            line = lines + chunk[: exc.start].count(b"\n")
            raise SourceError(
                f"Line {line} is not UTF-8 text (Excel's plain CSV uses the Windows code page); {SAVE_AS_UTF8}"
            ) from None
        lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise SourceError(f"The file ends in the middle of a character (truncated?); {SAVE_AS_UTF8}") from None
    stream.seek(0)


class _Counting(io.RawIOBase):
    """Counts the bytes the CSV reader has consumed, for the progress bar."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.count = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def _header(cells: list[str]) -> list[str]:
    names = [c.strip() for c in cells]
    bad = [n for n in names if not (n in BUILTIN_KINDS or (FIELD_NAME.match(n) and "." not in n))]
    if bad:
        shown = ", ".join(repr(n[:40]) for n in bad[:5])
        raise SourceError(f"The header names columns that are not field names: {shown} (letters, digits and _ only)")
    seen: set[str] = set()
    twice = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if twice:
        raise SourceError(f"The header names a column twice: {', '.join(sorted(set(twice)))}")
    return names


class CsvSource:
    """Rows of a Base44 dashboard export. `done` tells the progress bar how far through the file it is."""

    def __init__(self, stream: IO[bytes], size: int | None = None) -> None:
        head = stream.read(SNIFF_BYTES)
        stream.seek(0)
        if not head.strip():
            raise SourceError("The file is empty")
        sniff(head, expect="CSV")
        check_utf8(stream)
        self.size = size
        self._counter = _Counting(stream)

    @property
    def done(self) -> float | None:
        return min(1.0, self._counter.count / self.size) if self.size else None

    def rows(self) -> Iterator[Row]:
        text = io.TextIOWrapper(io.BufferedReader(self._counter, CHUNK), encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=True)
        try:
            names = _header(next(reader))
        except StopIteration:
            raise SourceError("The file is empty") from None
        except csv.Error as exc:
            raise SourceError(f"Line 1 (the header) is not valid CSV: {exc}") from None
        while True:
            where = f"line {reader.line_num + 1}"
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    yield Row(where, {}, True, "the file ends inside a quoted value: it looks truncated")
                    return
                raise SourceError(f"{where.capitalize()}: the CSV quoting is broken ({exc})") from None
            if not any(cells):
                continue  # blank lines and spreadsheet rows of empty cells carry nothing
            values = dict(zip(names, cells, strict=False))
            if len(cells) != len(names):
                reason = f"has {len(cells)} values but the header has {len(names)} columns" + (
                    " (truncated row?)" if len(cells) < len(names) else ""
                )
                yield Row(where, values, True, reason)
                continue
            yield Row(where, values, True)


class JsonSource:
    """Records of a JSON array, as the Base44 API (or our JSON export) returns them."""

    done: float | None = None

    def __init__(self, data: bytes) -> None:
        if not data.strip():
            raise SourceError("The file is empty")
        sniff(data[:SNIFF_BYTES], expect="JSON")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SourceError(f"Line {line} is not UTF-8 text; {SAVE_AS_UTF8}") from None
        try:
            parsed = json_loads(text)
        except RecursionError:
            raise SourceError("The file's JSON is nested too deeply to be CRM records") from None
        except json.JSONDecodeError as exc:
            raise SourceError(
                f"The file is not valid JSON at line {exc.lineno}, column {exc.colno} (truncated?): {exc.msg}"
            ) from None
        except ValueError as exc:  # NaN / Infinity
            raise SourceError(f"The file is not valid JSON: {exc}") from None
        if not isinstance(parsed, list):
            raise SourceError("Expected a JSON array of records ([{...}, {...}])")
        self.records = parsed

    @staticmethod
    def of(records: list[Any]) -> JsonSource:
        """Records already parsed (an API request body, a page of the Base44 API)."""
        source = JsonSource.__new__(JsonSource)
        source.records = records
        return source

    def rows(self) -> Iterator[Row]:
        for index, item in enumerate(self.records, start=1):
            where = f"record {index}"
            if isinstance(item, dict):
                yield Row(where, item, False)
            else:
                yield Row(where, {}, False, "is not a JSON object")
