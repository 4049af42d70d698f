"""List parameters (API.md §3.1): parsing, validation and the signed keyset cursor."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from backend.config import get_settings
from backend.errors import BadRequest
from backend.services.registry import FIELD_NAME

# Parameters with a meaning of their own; every other parameter is an equality filter on a field.
RESERVED = {"sort", "order_by", "limit", "skip", "offset", "fields", "q", "count", "cursor"}
MAX_SORT_KEYS = 5
MAX_FIELDS = 200
MAX_OFFSET = 2**62


@dataclass
class ListParams:
    sort: list[tuple[str, bool]] = field(default_factory=lambda: [("created_date", True)])  # (field, descending)
    limit: int = 5000
    skip: int = 0
    fields: list[str] | None = None
    q: dict[str, Any] | None = None
    equals: dict[str, list[str]] = field(default_factory=dict)
    count: bool = False
    cursor: str | None = None


def _int(name: str, raw: str, maximum: int) -> int:
    text = raw.strip()
    if not text.lstrip("-").isdigit() or len(text) > 25:
        raise BadRequest(f"{name} must be a whole number, got {raw[:40]!r}")
    value = int(text)
    if value < 0:
        raise BadRequest(f"{name} must not be negative")
    return min(value, maximum)


def parse_sort(raw: str) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for part in raw.split(","):
        # a URL's literal '+' arrives as a space: " price" means "+price"
        item = part.strip()
        if not item:
            continue
        descending = item.startswith("-")
        name = item[1:].strip() if item[0] in "+-" else item
        if not FIELD_NAME.match(name):
            raise BadRequest(f"sort: {name[:60]!r} is not a field name")
        keys.append((name, descending))
    if len(keys) > MAX_SORT_KEYS:
        raise BadRequest(f"sort takes at most {MAX_SORT_KEYS} fields")
    return keys or [("created_date", True)]


def parse_fields(raw: str) -> list[str]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    for name in names:
        if not FIELD_NAME.match(name):
            raise BadRequest(f"fields: {name[:60]!r} is not a field name")
    if len(names) > MAX_FIELDS:
        raise BadRequest(f"fields takes at most {MAX_FIELDS} names")
    return names


def parse_q(raw: str) -> dict[str, Any] | None:
    if not raw.strip():
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"q is not valid JSON: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    if not isinstance(value, dict):
        raise BadRequest('q must be a JSON object such as {"status": "active"}')
    return value or None


def parse_list_params(items: Iterable[tuple[str, str]], ignore: frozenset[str] = frozenset()) -> ListParams:
    """Turns query-string pairs into ListParams; bad values are a 400 that names the parameter."""
    max_page = get_settings().max_page_size
    params = ListParams(limit=max_page)
    for name, raw in items:
        if name in ignore:
            continue
        if "\x00" in raw or "\\u0000" in raw:  # PostgreSQL cannot even compare against U+0000
            raise BadRequest(f"{name[:60]!r}: the NUL character (U+0000) is not allowed")
        if name in ("sort", "order_by"):
            params.sort = parse_sort(raw)
        elif name == "limit":
            params.limit = _int("limit", raw, max_page)
        elif name in ("skip", "offset"):
            params.skip = _int(name, raw, MAX_OFFSET)
        elif name == "fields":
            params.fields = parse_fields(raw) or None
        elif name == "q":
            params.q = parse_q(raw)
        elif name == "count":
            params.count = raw.lower() in ("true", "1", "yes")
        elif name == "cursor":
            params.cursor = raw or None
        elif FIELD_NAME.match(name):
            params.equals.setdefault(name, []).append(raw)
        else:
            raise BadRequest(f"Unknown parameter {name[:60]!r}")
    return params


# --- the keyset cursor: the last row's sort values + a fingerprint of the query, signed -------------


def _key() -> bytes:
    return _derived_key(get_settings().secret_key)


@lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    return hmac.digest(secret.encode(), b"list-cursor", "sha256")


def _sign(payload: bytes) -> str:
    """A cursor's signature: `hmac.digest` is the one-shot C path (hmac.new(...) cost ~4 % of a page)."""
    return hmac.digest(_key(), payload, "sha256").hex()[:32]


def fingerprint(entity: str, params: ListParams, deleted: bool) -> str:
    if params.q is None and not params.equals:  # the common pages: one digest per entity and sort, kept
        return _plain_print(entity, tuple((name, desc) for name, desc in params.sort), deleted)
    return _print([entity, params.sort, params.q, sorted(params.equals.items()), deleted])


@lru_cache(maxsize=1024)
def _plain_print(entity: str, sort: tuple[tuple[str, bool], ...], deleted: bool) -> str:
    return _print([entity, sort, None, [], deleted])


def _print(shape: list[Any]) -> str:
    return hashlib.sha256(orjson.dumps(shape, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def encode_cursor(values: list[Any], print_: str) -> str:
    payload = base64.urlsafe_b64encode(orjson.dumps({"v": values, "f": print_})).rstrip(b"=")
    return f"{payload.decode()}.{_sign(payload)}"


def decode_cursor(cursor: str, print_: str) -> list[Any]:
    if len(cursor) > 4096 or cursor.count(".") != 1 or not cursor.isascii():  # compare_digest takes ASCII only
        raise _bad_cursor()
    payload, signature = cursor.split(".")
    expected = _sign(payload.encode())
    if not hmac.compare_digest(signature, expected):
        raise _bad_cursor()
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise _bad_cursor() from None
    if not isinstance(data, dict) or data.get("f") != print_ or not isinstance(data.get("v"), list):
        raise _bad_cursor()
    return data["v"]  # type: ignore[no-any-return]


def _bad_cursor() -> BadRequest:
    return BadRequest("cursor is not valid for this query (it was changed, or made for another query)")
