"""Kill the sender process mid-batch and start a new one: nothing is sent twice, nothing is lost.

The first worker is `python scripts/worker.py` in its own process, killed with SIGKILL while it waits
for the fake's answer about the ambiguous recipient (the fake has recorded that message as accepted).
The fake's record of accepted messages is the oracle.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from backend.services.whatsapp.pacing import Timing
from tests.conftest import ROOT
from tests.whatsapp_support import (  # noqa: F401
    FAST,
    VALID,
    bulk,
    by_phone,
    drain,
    fake_fixture,
    meta_fixture,
    senders_fixture,
    wait_for,
)

AMBIGUOUS = "+972509990009"


def _worker(fake: Any, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,  # the test database and secrets conftest set
        "WHATSAPP_PROVIDER": "meta",
        "WHATSAPP_API_URL": fake.url,
        "WHATSAPP_PHONE_NUMBER_ID": fake.phone_number_id,
        "WHATSAPP_ACCESS_TOKEN": fake.token,
        "WHATSAPP_READ_TIMEOUT": "60",
        "WHATSAPP_SEND_RATE": "50",
        "LOG_LEVEL": "INFO",
    }
    with log_path.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "scripts/worker.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def test_killed_worker_then_new_worker_sends_each_message_exactly_once(
    client: Any, manager: dict[str, Any], meta: Any, senders: Any, tmp_path: Path
) -> None:
    recipients = [*VALID[:10], AMBIGUOUS, *VALID[10:20]]
    batch_id = bulk(client, manager["headers"], recipients).json()["batch_id"]
    meta.ambiguous_delay = 120.0  # the first worker is surely still waiting when it is killed
    log_path = tmp_path / "worker.log"
    process = _worker(meta, log_path)
    try:
        wait_for(
            lambda: AMBIGUOUS[1:] in meta.accepted_to() or process.poll() is not None,
            timeout=60,
            what="the worker to reach the ambiguous recipient",
        )
        assert process.poll() is None, log_path.read_text()
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == -signal.SIGKILL

    before = {phone: row.status for phone, row in by_phone(batch_id).items()}
    assert before[AMBIGUOUS] == "sending"  # the killed worker's message, outcome unknown
    assert {before[p] for p in VALID[:10]} == {"sent"} and {before[p] for p in VALID[10:20]} == {"queued"}

    # A new worker (stale_after=0: we know the old one is dead) finishes the batch.
    drain(senders(timing=Timing(**{**FAST.__dict__, "stale_after": 0})))

    after = by_phone(batch_id)
    assert (after[AMBIGUOUS].status, after[AMBIGUOUS].error_code) == ("unknown", "interrupted")
    assert {after[p].status for p in VALID[:20]} == {"sent"}
    assert Counter(meta.accepted_to()) == {p[1:]: 1 for p in recipients}  # every valid recipient exactly once
    batch = client.get(f"/api/whatsapp/batches/{batch_id}", headers=manager["headers"]).json()
    assert (batch["status"], batch["sent"], batch["unknown"]) == ("finished", 20, 1)
