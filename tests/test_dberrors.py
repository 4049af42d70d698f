"""backend/dberrors.py: what each database failure means for the client (a 500 only when it is not one)."""

from __future__ import annotations

import asyncpg
import pytest

from backend.dberrors import as_domain_error
from backend.errors import BadRequest, ServiceUnavailable


@pytest.mark.parametrize(
    "exc",
    [
        OSError("connection reset by peer"),
        ConnectionRefusedError(),
        TimeoutError(),
        asyncpg.PostgresConnectionError("the server closed the connection"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    ],
)
def test_a_lost_or_unreachable_database_is_a_503_with_retry_after(exc: BaseException) -> None:
    answer = as_domain_error(exc)
    assert isinstance(answer, ServiceUnavailable) and answer.status == 503
    assert "Retry-After" in (answer.headers or {})


def test_text_holding_nul_is_the_clients_400() -> None:
    # psycopg2's own words, before anything is sent
    answer = as_domain_error(ValueError("A string literal cannot contain NUL (0x00) characters."))
    assert isinstance(answer, BadRequest) and "NUL" in answer.message


def test_anything_else_is_not_the_databases() -> None:
    assert as_domain_error(ValueError("something else")) is None
    assert as_domain_error(KeyError("x")) is None
