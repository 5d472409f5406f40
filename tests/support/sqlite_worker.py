"""One station process for the SQLite multi-process tests (T6, and the T5 deferred-BEGIN control).

    python -m tests.support.sqlite_worker --db sqlite:///ledger.db --outbox st-0.outbox --worker 0

The station first drains what its outbox holds (a previous run of it may have been killed with
a command stored but unsent, or sent but unanswered), then carries on with its scans from where
the outbox says it stopped: scan i is the same command whichever run makes it (only the id is
new, and a scan that never reached the outbox was never sent). Every scan is enqueued before it
is sent. At the end it prints one JSON line: scans made, answers, and how many attempts failed
with "database is locked".
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

from sqlalchemy import Connection, event

from app.adapters.db.engine import _sqlite_on_begin, make_engine
from app.adapters.db.uow import SqlLedger
from app.adapters.outbox import Outbox
from app.services.ledger import submit
from tests.support.workload import HOTSPOT, Scans

LOCKED = "database is locked"


class LockedCounter(logging.Handler):
    """Counts retried attempts that failed because another process held the database."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.locked = 0
        self.failed = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.failed += 1
        self.locked += LOCKED in record.getMessage()


def _deferred_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--outbox", required=True, type=Path)
    parser.add_argument("--worker", required=True, type=int)
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between scans")
    parser.add_argument(
        "--deferred-begin", action="store_true", help="broken on purpose: plain BEGIN for writes"
    )
    args = parser.parse_args(argv)

    counter = LockedCounter()
    ledger_log = logging.getLogger("app.services.ledger")
    ledger_log.setLevel(logging.INFO)
    ledger_log.addHandler(counter)

    engine = make_engine(args.db)
    if args.deferred_begin:
        event.remove(engine, "begin", _sqlite_on_begin)
        event.listen(engine, "begin", _deferred_begin)
    ledger = SqlLedger(engine)
    outbox = Outbox(args.outbox)
    scans = Scans(HOTSPOT, args.worker, reservations=False)
    # Tell the supervisor this run is past its imports: kills from now on land mid-work.
    args.outbox.with_suffix(".ready").write_text(str(os.getpid()))

    recovered = outbox.depth()
    print(json.dumps({"worker": args.worker, "start": True, "recovered": recovered}), flush=True)
    first = outbox.drain(ledger, submit)
    replayed, unavailable = sum(o.replayed for o in first.outcomes), int(first.stopped)
    start = len(outbox.entries())
    for index in range(start, args.scans):
        outbox.enqueue(scans.make(index))
        report = outbox.drain(ledger, submit)
        replayed += sum(o.replayed for o in report.outcomes)
        unavailable += report.stopped
        if args.pace:
            time.sleep(args.pace)
    for _ in range(20):
        if outbox.depth() == 0:
            break
        report = outbox.drain(ledger, submit)
        replayed += sum(o.replayed for o in report.outcomes)
        unavailable += report.stopped
    figures = {
        "worker": args.worker,
        "resumed_at": start,
        "recovered": recovered,
        "replayed": replayed,
        "unavailable": unavailable,
        "left": outbox.depth(),
        "failed_attempts": counter.failed,
        "locked": counter.locked,
    }
    outbox.close()
    engine.dispose()
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
