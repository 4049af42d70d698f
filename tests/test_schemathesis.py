"""Schemathesis fuzzes every operation of the app's own OpenAPI document, as an admin.

Per operation: the schema's explicit examples plus up to MAX_EXAMPLES generated cases (valid and invalid
input alike), derandomized so every run, in CI or not, sends the same requests. Two properties hold for every
response: the app never answers 5xx, and a response whose status code has a documented schema conforms to it.

The demo office is loaded once, before the first operation, and the database is wiped once, after the last
(conftest's per-test wipe is overridden for this module): list and read operations then answer real records,
so their documented schemas are checked against real data rather than against `[]`, and the admin (a password
hash) and the wipe (slow on PostgreSQL) are paid once, not 150 times. Requests go in-process to a dedicated
ASGI app.

No operation is excluded: the WhatsApp webhook answers an unsigned POST with a 4xx, multipart upload is
generated from its documented form, and logout / change-password cannot starve the following examples of a
token because every call gets a token minted from the admin's current token_version.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from backend.database import get_sessionmaker
from backend.main import create_app
from backend.models.user import User
from backend.services.registry import MODELLED
from backend.services.security import create_access_token
from seeds import load_demo
from tests.conftest import _truncate, make_user

# 10 keeps `make test` within its budget; a deeper run (say SCHEMATHESIS_EXAMPLES=100) finds rarer inputs.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))

# The coverage phase is off: it sends every boundary and negative value it can derive (about 60 requests per
# operation here, over 200 for the entity writes), which breaks both the bound on examples and the time budget.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})


schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=CONFIG)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    """Overrides conftest's per-test wipe: the operations share the state `fuzz_admin_id` sets up and wipes."""
    yield


# About half the examples of an operation whose path names a record, an entity or a user are aimed at one that
# exists, so reads, writes, deletes and restores of real rows are fuzzed and their 2xx answers checked, not
# only the 404 a random id gets.
NAMES = sorted(MODELLED)
REAL_IDS: dict[str, list[str]] = {}


def _demo_ids() -> dict[str, list[str]]:
    """Ids of the demo records, in an order that is the same on every run: the demo files fix the ids, except
    the Match ids minted when the demo is matched, which are ordered by their pair instead."""
    ids = {}
    with get_sessionmaker()() as session:
        for name, spec in MODELLED.items():
            table = spec.table
            order = [table.c.client_id, table.c.property_id] if name == "Match" else [table.c.id]
            ids[name] = list(session.scalars(select(table.c.id).where(spec.scope()).order_by(*order)))
    return ids


@pytest.fixture(scope="module")
def fuzz_admin_id() -> Iterator[str]:
    assert load_demo.run().startswith("Demo data loaded"), "the fuzzer expects the empty database conftest leaves"
    REAL_IDS.update(_demo_ids())
    REAL_IDS["User"] = [str(make_user("fuzz-agent@example.com", app_role="agent")["id"])]
    yield str(make_user("fuzz-admin@example.com", role="admin")["id"])
    _truncate()


def _aim_at_real_rows(case: Any) -> None:
    params = case.path_parameters
    if not params or not ({"record_id", "entity", "user_id"} & params.keys()):
        return
    # Decided by the generated values, not a counter: Hypothesis replays a failing example and must see it aimed
    # the same way again.
    turn = zlib.crc32(repr(sorted(params.items())).encode())
    if turn % 2:
        return
    name = None
    if "entity" in params:
        name = params["entity"] = NAMES[turn // 2 % len(NAMES)]
    elif "record_id" in params:
        name = next(n for n, spec in MODELLED.items() if case.path.startswith(f"/api/{spec.collection}/"))
    key = "user_id" if "user_id" in params else "record_id" if "record_id" in params else None
    ids = REAL_IDS["User" if key == "user_id" else name or ""]
    if key and ids:
        params[key] = ids[turn // 2 % len(ids)]


def _bearer(user_id: str) -> dict[str, str]:
    """A fresh token from the admin's current token_version: an example that logged out (revokes the token)
    or changed the password (revokes every token) must not turn the following examples into 401s."""
    with get_sessionmaker()() as session:
        user = session.get(User, user_id)
        # A fuzzed request that demoted, disabled or deleted the only admin would be a bug worth failing on.
        assert user is not None and user.role == "admin" and not user.disabled, "the fuzz admin lost its rights"
        token, _ = create_access_token(user.id, user.email, user.role, user.token_version)
    return {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # The module-scoped admin is deliberate (see above), and generated bodies are large by design.
    suppress_health_check=list(HealthCheck),
)
def test_openapi_operation(case: Any, fuzz_admin_id: str) -> None:
    _aim_at_real_rows(case)
    case.call_and_validate(
        headers=_bearer(fuzz_admin_id),
        checks=[not_a_server_error, response_schema_conformance],
    )
