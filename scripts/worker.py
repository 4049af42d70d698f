"""Run the background work as its own process (for deployments that keep it apart from the web app):
the WhatsApp sender and the outbox (re-matching, alerts and everything else that follows a write), and
the scheduled work of each drainer round (meeting reminders).

python scripts/worker.py                  # work until SIGTERM / Ctrl-C
python scripts/worker.py --until-idle     # do what is due now, then exit (cron, one-off runs)

Set WHATSAPP_INAPP_SENDER=false and JOBS_INAPP=false on the web app when this runs instead. Any number
of workers may run against PostgreSQL (they never take the same message or outbox row, and share
WHATSAPP_SEND_RATE); on SQLite run one. SIGTERM lets the message in hand finish; a worker killed outright
leaves at most one message in `sending`, which the next worker marks `unknown` instead of sending it again,
and its outbox rows are taken again once their lease ends.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text

from backend.config import EXIT_DATABASE, settings_or_exit
from backend.database import get_engine
from backend.logs import configure_logging
from backend.services import outbox, reminders
from backend.services.matching import register_hooks
from backend.services.whatsapp.pacing import Timing
from backend.services.whatsapp.sender import Sender

log = logging.getLogger("worker")


def wait_for_database(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            return
        except Exception as exc:  # keep trying until the deadline
            if time.monotonic() > deadline:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                print(f"The database did not answer within {timeout:.0f} s: {reason}", file=sys.stderr)
                sys.exit(EXIT_DATABASE)
            time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=None, help="messages per second (default WHATSAPP_SEND_RATE)")
    parser.add_argument("--until-idle", action="store_true", help="exit once nothing is due")
    parser.add_argument(
        "--stale-after",
        type=float,
        default=None,
        help="seconds after which a message left in `sending` counts as interrupted and becomes `unknown` "
        "(default: connect + read timeout + 30 s; 0 only when no other sender is running)",
    )
    parser.add_argument("--wait-db", type=float, default=60.0, help="seconds to wait for the database at start")
    args = parser.parse_args()
    settings = settings_or_exit()  # every settings problem at once, before waiting for the database
    configure_logging(settings.log_level, settings.log_format)
    wait_for_database(args.wait_db)
    register_hooks()  # the after-write work this process drains from the outbox
    reminders.register()  # and the meeting reminders it sends when due
    sender = Sender(rate=args.rate, timing=Timing(stale_after=args.stale_after), name="whatsapp-worker")

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the message in hand", signum)
        sender.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.until_idle:
        jobs = outbox.drain_all()
        outbox.run_rounds()  # reminders due now are queued for the sender below
        count = sender.run_until_idle()
        print(f"processed {count} message(s) and {jobs} outbox entr{'y' if jobs == 1 else 'ies'}")
    else:
        drainer = outbox.start_inapp()
        sender.run()
        drainer.stop()
    sender.stop(timeout=0)


if __name__ == "__main__":
    main()
