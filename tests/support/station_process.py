"""One real station in a process of its own, for the station-crash drill (T2).

    python -m tests.support.station_process --db URL --station ST-1 --outbox st-1.outbox \
        --cycles 20 --seed 7 [--crash-after-commit 0.1]

The station is built by the composition root (`app.bootstrap.open_station`: outbox, replica,
link watcher), a dock badge logs in, and the process scans a fixed script through the wedge
source, ticking `session.drain()` between scans as the window's worker does. Cycle i receives
1..3 WIDGET into the station's dock lane (`@CMD:QTY:n`, then the GTIN); every PUTAWAY_EVERY-th
cycle then puts one away from the dock into a seed bin (the bin suggestion is sent too, as a
station does). Every scan is a new command with the station's own clock, so no two payloads are
alike.

A restarted station first drains whatever its outbox still holds (a command stored but not sent,
or sent and committed but never answered), then carries on from the cycle its outbox shows it
reached (the count of its receive entries), so a killed and restarted station still makes its
N cycles, each exactly once.

`--crash-after-commit P`: the ledger's `submit` is wrapped so that, with probability P, once the
ledger has COMMITTED a transaction and before the station records the answer, the process dies
at once (`os._exit(137)`): a real crash at the worst moment, not a stub (the real submit ran).

`--resend-fresh-id` breaks the station on purpose (the drill's negative control): at start it
sends every unanswered command again under a fresh transaction id instead of its own.

The process prints JSON lines: one when it starts, one when it has finished its cycles.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.adapters.outbox import QUEUED, Outbox
from app.bootstrap import StationOffline, open_station
from app.config import Settings
from app.domain.commands import Command
from app.domain.ledger import Outcome
from app.domain.ports import UnitOfWorkFactory
from app.services import ledger as ledger_service
from app.services.station import StationSession
from app.services.station_view import ScanState, StationView
from tests.support.scenarios import WIDGET_GTIN
from tests.support.session import scan

CRASH_EXIT = 137
"""The exit status of a crash after COMMIT (what a shell shows for a kill -9)."""
BADGE = "D1"
BINS = ("A-01-01", "A-01-02", "A-01-03", "A-02-01", "B-01-01", "B-01-02")
PUTAWAY_EVERY = 4
RECEIVE = "receive"
PATIENCE_S = 60.0
"""How long the final drain may wait for the database (a hung station fails the drill)."""

Submit = Callable[..., Outcome]


def crashing(submit: Submit, probability: float, rng: random.Random) -> Submit:
    """`submit`, and then, with `probability`, death before the caller hears the answer."""

    def submit_then_maybe_crash(
        command: Command, uow_factory: UnitOfWorkFactory, **options: Any
    ) -> Outcome:
        outcome = submit(command, uow_factory, **options)
        # The ledger has committed (submit returns only after COMMIT): die before the station
        # marks the answer in its outbox. No cleanup, no flush: as a power cut would.
        if rng.random() < probability:
            os._exit(CRASH_EXIT)
        return outcome

    return submit_then_maybe_crash


def receive_qty(cycle: int) -> int:
    return 1 + cycle % 3


def putaway_bin(cycle: int) -> str | None:
    """The bin of the cycle's putaway, None in a cycle without one."""
    if cycle % PUTAWAY_EVERY != PUTAWAY_EVERY - 1:
        return None
    return BINS[(cycle // PUTAWAY_EVERY) % len(BINS)]


class Script:
    """The station's scans, step by step, with a drain tick after each (the worker's)."""

    def __init__(self, session: StationSession, pace: float) -> None:
        self.session = session
        self.pace = pace

    def scan(self, text: str, *, sends: bool = False) -> StationView:
        view = scan(self.session, text)
        if sends and view.scans and view.scans[0].state in (ScanState.REFUSED, ScanState.REJECTED):
            feedback = view.feedback.text if view.feedback else ""
            raise RuntimeError(f"{self.session.shift.station.code}: {text!r} refused: {feedback}")
        self.session.drain()
        if self.pace:
            time.sleep(self.pace)
        return view

    def login(self) -> None:
        view = self.scan(BADGE)
        if view.operator is None or view.operator.badge != BADGE:
            raise RuntimeError(f"the dock badge did not log in: {view.prompt}")

    def cycle(self, cycle: int) -> None:
        self.scan(f"@CMD:QTY:{receive_qty(cycle)}")
        self.scan(WIDGET_GTIN, sends=True)
        target = putaway_bin(cycle)
        if target is None:
            return
        self.scan("@CMD:MODE:putaway")
        self.scan("@CMD:QTY:1")
        self.scan(WIDGET_GTIN)  # asks the ledger for a bin suggestion (HoldBin)
        self.scan(target, sends=True)
        self.scan("@CMD:MODE:receive")


def reached(outbox: Path) -> tuple[int, int]:
    """The cycles this station's outbox shows (its receive entries) and its queue depth."""
    with Outbox(outbox) as box:
        entries = box.entries()
    receives = sum(1 for e in entries if e.kind == RECEIVE)
    return receives, sum(1 for e in entries if e.state == QUEUED)


def resend_under_fresh_ids(outbox: Path) -> int:
    """Broken on purpose: every unanswered command is queued again with a new id (the station
    forgot that an id is the operation, so the ledger cannot tell a resend from a new scan)."""
    with Outbox(outbox) as box:
        commands = box.pending()
        for command in commands:
            box.enqueue(dataclasses.replace(command, tx_id=uuid.uuid4()))
    return len(commands)


def drain_all(session: StationSession) -> int:
    """Tick the drain until the queue is empty; what is left when patience runs out."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        view = session.drain() or session.view()
        if view.queue_depth == 0 or time.monotonic() > deadline:
            return view.queue_depth
        time.sleep(0.1)


def open_when_reachable(settings: Settings, station: str, outbox: Path) -> StationSession:
    """The station's session. Its very first start needs the database once (for its replica);
    on a machine loaded with the drill's own processes the first probe may be slow, so it tries
    again (StationOffline says the station keeps trying)."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        try:
            return open_station(settings, station, outbox)
        except StationOffline:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def say(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--station", required=True)
    parser.add_argument("--outbox", required=True, type=Path)
    parser.add_argument("--cycles", required=True, type=int)
    parser.add_argument("--seed", required=True, type=int)
    parser.add_argument("--crash-after-commit", type=float, default=0.0, metavar="P")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds after each scan")
    parser.add_argument(
        "--resend-fresh-id", action="store_true", help="broken on purpose: a new id per resend"
    )
    args = parser.parse_args(argv)

    if args.crash_after_commit:
        # Before the composition root binds `submit` into the session: the station then runs
        # the real ledger service, and dies after its COMMIT now and then.
        rng = random.Random(args.seed)
        ledger_service.submit = crashing(ledger_service.submit, args.crash_after_commit, rng)
    resent = resend_under_fresh_ids(args.outbox) if args.resend_fresh_id else 0
    _, recovered = reached(args.outbox)
    session = open_when_reachable(Settings(args.db, "test"), args.station, args.outbox)
    # Past imports and start-up: the drill's kills from now on land mid-work.
    args.outbox.with_suffix(".ready").write_text(str(os.getpid()))
    say({"station": args.station, "start": True, "recovered": recovered, "resent": resent})
    try:
        left_at_start = drain_all(session)
        start, _ = reached(args.outbox)
        script = Script(session, args.pace)
        script.login()
        for cycle in range(start, args.cycles):
            script.cycle(cycle)
        left = drain_all(session)
        done, _ = reached(args.outbox)
    finally:
        session.close()
    say(
        {
            "station": args.station,
            "start": False,
            "resumed_at": start,
            "recovered": recovered,
            "left_at_start": left_at_start,
            "cycles": done,
            "left": left,
        }
    )
    return 0 if left == 0 and done == args.cycles else 1


if __name__ == "__main__":
    sys.exit(main())
