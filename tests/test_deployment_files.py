"""The deployment files say what was tested: exact base images, a stop grace that covers the drain, the port
published on loopback only. (Docker is not run here; these are the files' own promises.)"""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.conftest import ROOT

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
DRAIN_SECONDS = 20  # uvicorn --timeout-graceful-shutdown in scripts/docker-entrypoint.sh


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", value)
    assert match, value
    return int(match[1]) * {"ms": 0.001, "s": 1, "m": 60}[match[2]]


def test_base_images_are_exact_releases() -> None:
    (base,) = re.findall(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base
    assert re.fullmatch(r"postgres:16\.\d+(-bookworm)?(@sha256:[0-9a-f]{64})?", COMPOSE["services"]["db"]["image"])


def test_the_stop_grace_covers_the_drain() -> None:
    entrypoint = (ROOT / "scripts" / "docker-entrypoint.sh").read_text(encoding="utf-8")
    assert f"--timeout-graceful-shutdown {DRAIN_SECONDS}" in entrypoint
    grace = _seconds(COMPOSE["services"]["backend"].get("stop_grace_period", "10s"))
    assert grace >= DRAIN_SECONDS + 10


def test_the_backend_is_published_on_loopback_only() -> None:
    assert COMPOSE["services"]["backend"]["ports"] == ["127.0.0.1:8000:8000"]
    assert "ports" not in COMPOSE["services"]["db"]
