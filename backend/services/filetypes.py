"""What an upload really is, judged by its bytes (never by its name or header), and a safe form of its name."""

from __future__ import annotations

import codecs
import re
import unicodedata
from urllib.parse import quote

from backend.errors import UnsupportedMediaType

# The first bytes decide the family; a whole batch is always at least this long unless the file is shorter.
HEAD_BYTES = 4096

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC, XLS, PPT = "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"
ZIP, OLE = "application/zip", "application/x-ole-storage"

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),  # with RIFF at 0, checked below
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Only to name what was refused in the message; anything unrecognised is refused anyway.
_EXECUTABLES = (
    (b"\x7fELF", "an ELF executable"),
    (b"MZ", "a Windows executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "a Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"\x00asm", "a WebAssembly module"),
)

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
    DOCX: "docx",
    XLSX: "xlsx",
    PPTX: "pptx",
    DOC: "doc",
    XLS: "xls",
    PPT: "ppt",
    ZIP: "zip",
}
_TYPE_OF_EXTENSION = {ext: ctype for ctype, ext in EXTENSIONS.items()} | {"jpeg": "image/jpeg", "text": "text/plain"}
_OFFICE_CLAIMS = {DOCX, XLSX, PPTX, DOC, XLS, PPT, ZIP, OLE, "application/x-zip-compressed"}
# Windows browsers declare a .csv as Excel; that claim fits text content too.
_TEXT_CLAIMS = {"application/csv", "application/json", XLS}
_CSV_CLAIMS = {"text/csv", "application/csv", XLS}
_CONTAINERS = {"zip": "a ZIP archive", "ole": "an OLE (old Office) document"}
_INLINE = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "text/plain"}


def _family(ctype: str | None) -> str | None:
    """The family a type belongs to; None for types we know nothing about (they make no claim)."""
    if not ctype:
        return None
    if ctype.startswith("image/"):
        return "image"
    if ctype.startswith("text/"):
        return "text"
    if ctype == "application/pdf":
        return ctype
    return "office" if ctype in _OFFICE_CLAIMS else None


class _EntryScanner:
    """Finds entry names of a ZIP (local or central headers) or of an OLE directory, across chunk boundaries.

    A name counts only where the container's own structure puts a name, so file *contents* that happen to
    hold the same bytes do not decide the type.
    """

    KEEP = 128  # bytes carried over between chunks: a ZIP central header (46) plus the longest name

    def __init__(self, kind: str, names: dict[bytes, str]) -> None:
        self.kind, self.names = kind, names
        self.found: set[str] = set()
        self._tail = b""
        self._offset = 0  # absolute position of the window's first byte

    def feed(self, data: bytes) -> None:
        window = self._tail + data
        for marker, label in self.names.items():
            pos = window.find(marker)
            while pos != -1:
                if self._is_entry(window, pos):
                    self.found.add(label)
                pos = window.find(marker, pos + 1)
        self._offset += max(0, len(window) - self.KEEP)
        self._tail = window[-self.KEEP :]

    def _is_entry(self, window: bytes, pos: int) -> bool:
        if self.kind == "ole":  # directory entries are 128-byte records, sector-aligned
            return (self._offset + pos) % 128 == 0
        local = pos >= 30 and window[pos - 30 : pos - 26] == b"PK\x03\x04"
        central = pos >= 46 and window[pos - 46 : pos - 42] == b"PK\x01\x02"
        return local or central


def _zip_scanner() -> _EntryScanner:
    return _EntryScanner("zip", {b"[Content_Types].xml": "ooxml", b"word/": "word", b"xl/": "xl", b"ppt/": "ppt"})


def _ole_scanner() -> _EntryScanner:
    # An OLE directory entry starts with its UTF-16LE name and a terminating NUL.
    names = {"WordDocument": DOC, "Workbook": XLS, "Book": XLS, "PowerPoint Document": PPT}
    return _EntryScanner("ole", {(n + "\0").encode("utf-16-le"): label for n, label in names.items()})


def _container_type(kind: str, found: set[str]) -> str:
    if kind == "ole":
        return next((ctype for ctype in (DOC, XLS, PPT) if ctype in found), OLE)
    if "ooxml" in found:
        return next((ctype for part, ctype in (("word", DOCX), ("xl", XLSX), ("ppt", PPTX)) if part in found), ZIP)
    return ZIP


class Sniffer:
    """Fed an upload's bytes in order. `content_type` is known after the first feed for most types; ZIP and
    OLE containers are told apart (docx/xlsx, doc/xls) only at `finish()`, from their entry names.

    Raises UnsupportedMediaType as early as it can: for an executable, as soon as the head is judged.
    """

    def __init__(self, allowed: set[str], claimed_type: str | None, filename: str) -> None:
        self.allowed = allowed
        self.claim = _claimed_type(claimed_type, filename)
        self.filename = filename
        self.content_type: str | None = None
        self._kind: str | None = None
        self._pending = bytearray()
        self._scanner: _EntryScanner | None = None
        self._utf8: codecs.IncrementalDecoder | None = None

    @property
    def decided(self) -> bool:
        """The head has been judged (the family is known; for most types, the exact type too)."""
        return self._kind is not None

    def feed(self, data: bytes) -> None:
        if self._kind is None:
            self._pending += data
            if len(self._pending) < HEAD_BYTES:
                return
            data, self._pending = bytes(self._pending), bytearray()
            self._decide(data)
        self._check(data)

    def finish(self) -> str:
        if self._kind is None:
            data, self._pending = bytes(self._pending), bytearray()
            self._decide(data)
            self._check(data)
        if self._utf8 is not None:
            self._text_chunk(b"", final=True)
        if self._scanner is not None:
            self.content_type = _container_type(self._scanner.kind, self._scanner.found)
            self._require_allowed(self.content_type)
        assert self.content_type is not None
        return self.content_type

    def _decide(self, head: bytes) -> None:
        family, ctype = self._classify(head)
        claimed = _family(self.claim)
        compatible = claimed in (None, _family(ctype) or "office") or (family == "text" and self.claim in _TEXT_CLAIMS)
        if not compatible:
            raise UnsupportedMediaType(
                f"The file's content is {ctype or _CONTAINERS[family]}, but it was sent as {self.claim}; "
                "refusing the mismatch"
            )
        self._kind = family
        if family == "zip":
            self._scanner = _zip_scanner()
        elif family == "ole":
            self._scanner = _ole_scanner()
        elif family == "text":
            self._utf8 = codecs.getincrementaldecoder("utf-8")()
        if ctype is not None:
            self._require_allowed(ctype)
            self.content_type = ctype

    def _classify(self, head: bytes) -> tuple[str, str | None]:
        for magic, offset, ctype in _MAGIC:
            if head[offset : offset + len(magic)] == magic and (ctype != "image/webp" or head[:4] == b"RIFF"):
                return ("image" if ctype.startswith("image/") else ctype), ctype
        if head.startswith(_ZIP_MAGIC):
            return "zip", None
        if head.startswith(_OLE_MAGIC):
            return "ole", None
        if _looks_like_text(head):
            csv = self.claim in _CSV_CLAIMS or self.filename.lower().endswith(".csv")
            return "text", "text/csv" if csv else "text/plain"
        what = next((name for magic, name in _EXECUTABLES if head.startswith(magic)), "not a recognised file type")
        raise UnsupportedMediaType(f"The file's content is {what}; allowed types: {', '.join(sorted(self.allowed))}")

    def _check(self, data: bytes) -> None:
        if self._scanner is not None:
            self._scanner.feed(data)
        elif self._utf8 is not None:
            self._text_chunk(data)

    def _text_chunk(self, data: bytes, final: bool = False) -> None:
        assert self._utf8 is not None
        try:
            if b"\x00" in data:
                raise ValueError
            self._utf8.decode(data, final)
        except ValueError:  # UnicodeDecodeError is a ValueError
            raise UnsupportedMediaType("Text files must be UTF-8 without NUL bytes; this one is not") from None

    def _require_allowed(self, ctype: str) -> None:
        if ctype not in self.allowed:
            allowed = ", ".join(sorted(self.allowed))
            raise UnsupportedMediaType(f"Files of type {ctype} are not accepted; allowed types: {allowed}")


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, False)
    except UnicodeDecodeError:
        return False
    return True


def _claimed_type(declared: str | None, filename: str) -> str | None:
    """What the client says the file is: its part's Content-Type, else its name's extension, else nothing."""
    ctype = (declared or "").split(";", 1)[0].strip().lower()
    if ctype and ctype not in ("application/octet-stream", "binary/octet-stream"):
        return ctype
    _, dot, ext = filename.rpartition(".")
    return _TYPE_OF_EXTENSION.get(ext.lower()) if dot else None


# Characters Windows refuses in names, and names it reserves: a downloaded file must save anywhere.
_FORBIDDEN = frozenset('<>:"/\\|?*')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
MAX_NAME_BYTES = 255
# Extensions a name may keep for its (sniffed) type; any other gets the type's own appended, so a saved
# download always opens with the program its content is for ("x.exe" holding a PNG → "x.exe.png").
_NAME_EXTENSIONS = {"image/jpeg": {"jpg", "jpeg", "jpe", "jfif"}, "text/plain": {"txt", "text", "log", "md"}}


def safe_name(raw: str | None, content_type: str) -> str:
    """The client's file name as harmless metadata: last path segment only, no control or bidi-override
    characters (they disguise extensions), none that Windows refuses, an extension that fits the content,
    at most 255 UTF-8 bytes."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            continue
        kept.append("_" if ch in _FORBIDDEN else " " if category == "Zs" else ch)
    name = " ".join("".join(kept).split()).strip(" .")
    canonical = EXTENSIONS.get(content_type, "bin")
    stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() not in _NAME_EXTENSIONS.get(content_type, {canonical}):
        stem, ext = name, canonical
    if _RESERVED.match(stem):
        stem = "_" + stem
    budget = MAX_NAME_BYTES - len(ext) - 1
    stem = stem.encode()[:budget].decode("utf-8", "ignore").rstrip(" .")
    return f"{stem or 'file'}.{ext}"


def is_inline(content_type: str) -> bool:
    """Only what a browser shows harmlessly is shown in place; everything else is a download."""
    return content_type in _INLINE


def content_disposition(name: str, content_type: str) -> str:
    kind = "inline" if is_inline(content_type) else "attachment"
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
