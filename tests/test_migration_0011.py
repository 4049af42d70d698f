"""Migration 0011 on a database that already holds a match pair twice (Base44 never enforced one record per
pair): one record stays — the one an agent worked on — and the others move, intact, to the document store,
before the unique key is added. Run on a scratch database of its own (SQLite file, or a PostgreSQL database
next to the test database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tests.conftest import _DB_URL, IS_POSTGRES, ROOT


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[str]:
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'mig.db'}"
        return
    base, name = _DB_URL.rsplit("/", 1)
    url, admin = f"{base}/{name}_mig", create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_mig"'))
        conn.execute(text(f'CREATE DATABASE "{name}_mig"'))
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_mig" WITH (FORCE)'))
    admin.dispose()


def _migrate(url: str, revision: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes.update(skip_logging=True, url=url)
    command.upgrade(config, revision)


def _add(engine: Engine, match_id: str, pair: tuple[str, str], status: str, day: int, deleted: bool = False) -> None:
    when = dt.datetime(2025, 1, day)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO matches_brokerage (id, property_id, buyer_id, match_score, status, created_date, "
                "updated_date, is_sample, deleted_at, version, extra) VALUES (:id, :p, :b, 85, :status, :when, "
                ":when, false, :deleted, 1, :extra)"
            ),
            {"id": match_id, "p": pair[0], "b": pair[1], "status": status, "when": when,
             "deleted": when if deleted else None, "extra": '{"note": "x"}'},
        )  # fmt: skip


def test_duplicate_pairs_are_set_aside_before_the_unique_key(scratch: str) -> None:
    _migrate(scratch, "0010")
    engine = create_engine(scratch)
    twice, once = ("p1", "b1"), ("p2", "b1")
    _add(engine, "m-new-late", twice, "הותאם", 9)
    _add(engine, "m-sent", twice, "נשלח", 2)  # the agent worked on this one: it stays
    _add(engine, "m-trashed", twice, "לא רלוונטי", 10, deleted=True)
    _add(engine, "m-once", once, "הותאם", 3)
    engine.dispose()

    _migrate(scratch, "head")
    engine = create_engine(scratch)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT id FROM matches_brokerage ORDER BY id")).scalars().all()
        moved = conn.execute(text("SELECT id, entity_name, deleted_at FROM documents ORDER BY id")).all()
        extra = conn.execute(text("SELECT extra FROM documents WHERE id = 'm-new-late'")).scalar_one()
    assert kept == ["m-once", "m-sent"]
    assert [(r[0], r[1], r[2]) for r in moved] == [
        ("m-new-late", "MatchesBrokerageDuplicate", None),
        ("m-trashed", "MatchesBrokerageDuplicate", None),
    ]
    if isinstance(extra, str):
        import json

        extra = json.loads(extra)
    assert extra == {"note": "x", "property_id": "p1", "buyer_id": "b1", "match_score": 85, "status": "הותאם"}
    with pytest.raises(IntegrityError):
        _add(engine, "m-again", twice, "הותאם", 11)
    engine.dispose()
