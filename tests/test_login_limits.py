"""Sign-in limits hold under parallel attempts, and an exhausted connection pool is a 503, never a 500."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backend.config import get_settings
from backend.database import get_sessionmaker
from backend.jsonutil import loads
from backend.models.user import LoginFailure
from backend.routes.errors import response_for
from tests.conftest import IS_POSTGRES, assert_error, make_user
from tests.uvicorn_process import uvicorn_process

ATTEMPTS = 60


def _failures(email: str) -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).where(LoginFailure.email == email)) or 0)


def test_parallel_wrong_passwords_get_at_most_the_limit_of_password_checks(client: Any) -> None:
    """Every 401 is a password check; the rest must be 429 — before, 60 at once got 31 checks instead of 5."""
    user = make_user("target@example.com")
    limit = get_settings().login_max_failures

    def attempt(i: int) -> Any:
        return client.post("/api/auth/login", data={"username": user["email"], "password": f"wrong-{i}"})

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        answers = list(pool.map(attempt, range(ATTEMPTS)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(401) == limit, statuses
    assert statuses.count(429) == ATTEMPTS - limit, statuses
    for answer in answers:
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) >= 1
    assert _failures(user["email"]) == limit  # refused attempts are not counted
    # the right password is refused too while the limit holds, and checks nothing
    assert_error(
        client.post("/api/auth/login", data={"username": user["email"], "password": user["password"]}),
        429,
        "rate_limited",
    )


def test_a_successful_sign_in_clears_its_recorded_attempt(client: Any) -> None:
    user = make_user("fine@example.com")
    for _ in range(2):
        client.post("/api/auth/login", data={"username": user["email"], "password": "nope-nope"})
    assert _failures(user["email"]) == 2
    ok = client.post("/api/auth/login", data={"username": user["email"], "password": user["password"]})
    assert ok.status_code == 200, ok.text
    assert _failures(user["email"]) == 0


def test_a_pool_timeout_is_a_503_with_retry_after() -> None:
    response = response_for(PoolTimeout("QueuePool limit of size 1 overflow 0 reached, connection timed out"))
    assert response is not None
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    body = loads(response.body)
    assert body["code"] == "service_unavailable" and body["message"]


@pytest.mark.skipif(not IS_POSTGRES, reason="DB_POOL_SIZE sizes the PostgreSQL pools only")
def test_parallel_sign_ins_on_an_exhausted_pool_are_503_not_500() -> None:
    """The issue's run: 60 parallel wrong passwords for one email against a small pool — before, 11 of them
    were 500 (`QueuePool limit reached`) and 31 passwords were checked."""
    user = make_user("pool@example.com")
    limit = get_settings().login_max_failures
    env = {"DB_POOL_SIZE": "1", "DB_MAX_OVERFLOW": "0", "DB_POOL_TIMEOUT": "0.2"}
    with uvicorn_process(env) as url:

        def attempt(i: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=60) as c:
                return c.post("/api/auth/login", data={"username": user["email"], "password": f"wrong-{i}"})

        with ThreadPoolExecutor(ATTEMPTS) as pool:
            answers = list(pool.map(attempt, range(ATTEMPTS)))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {401, 429, 503}, statuses
    assert statuses.count(401) <= limit, statuses
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers.get("Retry-After"), answer.headers
            assert answer.json()["code"] == "service_unavailable"
    assert _failures(user["email"]) <= limit
