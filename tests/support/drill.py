"""Station sessions driven on threads of their own, for the fault drills (T2, T3, T4).

A `StationDriver` owns one real `StationSession`, built by the composition root on the driver's
own thread (one session, one thread), and plays a deterministic `ScanScript` through it for a
given number of scan cycles: receive `@CMD:QTY:n` + an item in receive mode and, every few cycles,
put part of the dock lane away into a bin. It keeps scanning whatever the link does (what may wait
is queued by the station), ticks `drain()` between scans as the window's worker does, drains until
its queue is empty at the end, and counts what happened (`DriverFigures`).

The fault itself is the test's business (a proxy cut, a server restart, a killed process);
`check_stations` then runs the exactly-once checker over every station's outbox.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from app.adapters.db import catalogue
from app.adapters.db.schema import LocationRow, QuantRow, SkuRow, TransactionRow, table
from app.adapters.outbox import Outbox, OutboxEntry
from app.bootstrap import open_station
from app.config import Settings
from app.domain.catalogue import LocationSpec, OperatorSpec, StationSpec
from app.domain.commands import Command
from app.domain.interpret import StationMode
from app.domain.ledger import Outcome
from app.domain.model import LocationKind, Role
from app.domain.ports import UnitOfWorkFactory
from app.domain.workflow import Level
from app.services.station import StationSession
from app.services.station_view import ScanState, StationView
from tests.support.checker import CheckReport, check, payload_hash
from tests.support.proxy import TcpProxy
from tests.support.scenarios import WIDGET_GTIN
from tests.support.session import scan
from tests.support.warehouse import BINS

DRILLS_ENV = "PERPETUA_DRILLS"
PATIENCE_S = 60.0
"""How long a driver waits for its queue to drain, or a test for the drivers, before it calls
the wait a hang."""
TICK_S = 0.1
ADVISORY = "hold_bin"
"""Bin suggestions: sent only online with an empty queue, never resent; a hold the ledger took
while its answer was lost is advisory, not a scan."""

Submit = Callable[[Command, UnitOfWorkFactory], Outcome]


def full_size() -> bool:
    """Figure size (`make drills` sets PERPETUA_DRILLS=full), else the smaller CI size."""
    return os.environ.get(DRILLS_ENV, "").lower() == "full"


# --- the warehouse the drivers work in -----------------------------------------------------------


def dock_stations(engine: Engine, count: int) -> list[tuple[str, str]]:
    """`count` dock stations (ST-1.., each with its own dock lane DOCK-n) and dock badges (D1..)
    in a seeded warehouse: ST-1/DOCK-1, ST-2/DOCK-2 and D1 are the seed's, the rest are added.
    Returns (station, badge) pairs."""
    extra = range(3, count + 1)
    with engine.begin() as c:
        catalogue.add_locations(
            c, [LocationSpec(f"DOCK-{n}", LocationKind.DOCK, zone="A") for n in extra]
        )
        catalogue.add_stations(
            c, [StationSpec(f"ST-{n}", f"Dock {n}", "A", f"DOCK-{n}") for n in extra]
        )
        catalogue.add_operators(
            c, [OperatorSpec(f"D{n}", f"Dock worker {n}", Role.DOCK) for n in range(2, count + 1)]
        )
    return [(f"ST-{n}", f"D{n}") for n in range(1, count + 1)]


def through_proxy(url: str, proxy: TcpProxy) -> str:
    """`url` with its port replaced by the proxy's (and no TLS, so the proxy sees the bytes)."""
    parsed = make_url(url).set(port=proxy.port, query={"sslmode": "disable"})
    return parsed.render_as_string(hide_password=False)


# --- the scan script -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanScript:
    """What a dock worker scans in each cycle, the same on every run.

    Cycle i receives `receive_qty(i)` units of the item (blind receipt: `@CMD:QTY:n`, the GTIN).
    Every `putaway_every`-th cycle (0: never) first puts half of what the worker knows to be on
    the dock lane (at least 1) into `bins[i % len(bins)]`, then goes back to receiving."""

    badge: str = "D1"
    gtin: str = WIDGET_GTIN
    bins: tuple[str, ...] = tuple(BINS)
    putaway_every: int = 5
    max_qty: int = 3

    def receive_qty(self, cycle: int) -> int:
        return 1 + cycle % self.max_qty

    def putaway_due(self, cycle: int) -> bool:
        return self.putaway_every > 0 and cycle > 0 and cycle % self.putaway_every == 0

    def bin_for(self, cycle: int) -> str:
        return self.bins[cycle % len(self.bins)]


@dataclass
class DriverFigures:
    """What one driver did. A transaction scan is an item scan in receive mode or a bin scan in
    putaway mode: each is meant to become one ledger transaction."""

    station: str
    cycles: int = 0
    scans: int = 0
    """Transaction scans made."""
    receives: int = 0
    units_received: int = 0
    putaways: int = 0
    units_put_away: int = 0
    confirmed_at_once: int = 0
    queued_while_offline: int = 0
    """Transaction scans the station queued instead of confirming at once (the database was
    out of reach, or the send failed)."""
    refused: int = 0
    """Scans the station or the ledger refused (a drill expects none)."""
    max_queue: int = 0
    final_queue: int = -1
    exceptions: int = 0
    """Refusals after an outage still shown in red at the end."""
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.notes) < 5:
            self.notes.append(text)


class ScriptError(Exception):
    """The station answered a step of the script in a way no drill expects (a driver bug, or
    one in the station)."""


class StationDriver(threading.Thread):
    """One station session on a thread of its own, playing `script` for `cycles` cycles, or
    fewer when the test calls `finish(after=n)` (n more cycles, then drain and stop): a drill
    places its faults by progress (`cycles_done`) and lets the stations go on scanning until the
    last one has passed.

    `pace_s` is a pause after every cycle. `prepare` is called with the session on the driver's
    thread before the first scan (a negative control breaks the station there). After `join()`,
    `error` holds the traceback of whatever stopped the driver (None: it played its cycles and
    drained its queue)."""

    def __init__(
        self,
        url: str,
        station: str,
        outbox: Path,
        script: ScanScript,
        cycles: int,
        *,
        pace_s: float = 0.0,
        prepare: Callable[[StationSession], None] | None = None,
        patience_s: float = PATIENCE_S,
    ) -> None:
        super().__init__(name=f"drill-{station}", daemon=True)
        self.url = url
        self.station = station
        self.outbox = outbox
        self.script = script
        self.cycles = cycles
        self.pace_s = pace_s
        self.prepare = prepare
        self.patience_s = patience_s
        self.figures = DriverFigures(station)
        self.cycles_done = 0
        self._last = cycles
        self.ready = threading.Event()
        """Set once the session is open and the worker logged in (or the driver failed)."""
        self.error: str | None = None
        self._on_dock = 0

    def run(self) -> None:
        try:
            session = open_station(Settings(self.url, "test"), self.station, self.outbox)
        except Exception:  # the thread boundary: the test reports it
            self.error = traceback.format_exc()
            self.ready.set()
            return
        try:
            if self.prepare is not None:
                self.prepare(session)
            self._play(session)
        except Exception:  # the thread boundary: the test reports it
            self.error = traceback.format_exc()
        finally:
            self.ready.set()
            session.close()

    def finish(self, after: int) -> None:
        """Play `after` more cycles (at most), then drain and stop. Any thread may call it."""
        self._last = min(self._last, self.cycles_done + after)

    @property
    def left(self) -> int:
        """Cycles still to play."""
        return max(self._last - self.cycles_done, 0)

    # --- the script ---

    def _play(self, session: StationSession) -> None:
        view = self._scan(session, self.script.badge)
        if view.operator is None or view.mode is not StationMode.RECEIVE:
            raise ScriptError(f"{self.station}: badge {self.script.badge} did not log in: {view}")
        self.ready.set()
        cycle = 0
        while cycle < self._last:
            if self.script.putaway_due(cycle) and self._on_dock > 0:
                self._putaway(session, cycle)
            self._receive(session, cycle)
            cycle += 1
            self.cycles_done = self.figures.cycles = cycle
            if self.pace_s:
                time.sleep(self.pace_s)
        view = drain_until_empty(session, self.patience_s)
        self.figures.final_queue = view.queue_depth
        self.figures.exceptions = len(view.exceptions)

    def _receive(self, session: StationSession, cycle: int) -> None:
        qty = self.script.receive_qty(cycle)
        self._command(session, f"@CMD:QTY:{qty}")
        self.figures.receives += 1
        self.figures.units_received += qty
        if self._transaction(session, self.script.gtin):
            self._on_dock += qty

    def _putaway(self, session: StationSession, cycle: int) -> None:
        qty = max(1, self._on_dock // 2)
        view = self._command(session, "@CMD:MODE:putaway")
        if view.mode is not StationMode.PUTAWAY:
            raise ScriptError(f"{self.station}: no putaway mode: {_said(view)}")
        self._command(session, f"@CMD:QTY:{qty}")
        view = self._scan(session, self.script.gtin)  # the bin suggestion, if online
        if _refused(view):
            self._refuse(view)
            self._scan(session, "@CMD:CANCEL")  # whatever is pending; nothing may be
        else:
            self.figures.putaways += 1
            self.figures.units_put_away += qty
            if self._transaction(session, self.script.bin_for(cycle)):
                self._on_dock -= qty
        view = self._command(session, "@CMD:MODE:receive")
        if view.mode is not StationMode.RECEIVE:
            raise ScriptError(f"{self.station}: no way back to receiving: {_said(view)}")

    # --- one scan ---

    def _scan(self, session: StationSession, text: str) -> StationView:
        view = scan(session, text)
        self._seen(view)
        session_view = session.drain()  # the worker's tick between scans
        if session_view is not None:
            self._seen(session_view)
        return view

    def _seen(self, view: StationView) -> None:
        self.figures.max_queue = max(self.figures.max_queue, view.queue_depth)

    def _command(self, session: StationSession, text: str) -> StationView:
        view = self._scan(session, text)
        if _refused(view):
            raise ScriptError(f"{self.station}: {text} was refused: {_said(view)}")
        return view

    def _transaction(self, session: StationSession, text: str) -> bool:
        """A scan meant to become one transaction; whether the station took it (confirmed or
        queued)."""
        view = self._scan(session, text)
        self.figures.scans += 1
        row = view.scans[0] if view.scans else None
        if row is None or row.seq != view.input_seq:
            raise ScriptError(f"{self.station}: {text} left no row: {_said(view)}")
        if row.state is ScanState.CONFIRMED:
            self.figures.confirmed_at_once += 1
            return True
        if row.state is ScanState.QUEUED:
            self.figures.queued_while_offline += 1
            return True
        self._refuse(view)
        return False

    def _refuse(self, view: StationView) -> None:
        self.figures.refused += 1
        self.figures.note(_said(view))


def _refused(view: StationView) -> bool:
    return view.feedback is not None and view.feedback.level is Level.ERROR


def _said(view: StationView) -> str:
    feedback = view.feedback.text if view.feedback is not None else "(no feedback)"
    return f"{feedback} [prompt: {view.prompt}; database: {view.database}]"


def drain_until_empty(session: StationSession, patience_s: float = PATIENCE_S) -> StationView:
    """Drain ticks, as the window's worker makes them twice a second, until the queue is empty.
    A queue still there after `patience_s` is a hang (ScriptError)."""
    deadline = time.monotonic() + patience_s
    view = session.drain() or session.view()
    while view.queue_depth:
        if time.monotonic() > deadline:
            raise ScriptError(
                f"{session.shift.station.code}: {view.queue_depth} transaction(s) still queued "
                f"after {patience_s:g} s of drain ticks; database: {view.database}"
            )
        time.sleep(TICK_S)
        view = session.drain() or session.view()
    return view


# --- running drivers -----------------------------------------------------------------------------


def start_all(drivers: Sequence[StationDriver]) -> None:
    """Start every driver and wait until each has logged in; a driver that failed to is raised."""
    for driver in drivers:
        driver.start()
    for driver in drivers:
        if not driver.ready.wait(PATIENCE_S):
            raise AssertionError(f"{driver.station} did not open within {PATIENCE_S:g} s")
    failed(drivers)


def _wait(
    drivers: Sequence[StationDriver], done: Callable[[StationDriver], bool], what: str
) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not all(done(d) or not d.is_alive() for d in drivers):
        failed(drivers)
        if time.monotonic() > deadline:
            where = {d.station: dataclasses.asdict(d.figures) for d in drivers if not done(d)}
            raise AssertionError(f"the stations never {what}: {where}")
        time.sleep(TICK_S / 5)
    failed(drivers)


def play(drivers: Sequence[StationDriver], cycles: int) -> None:
    """Wait until every driver has played `cycles` more cycles (or finished)."""
    goal = {d.station: d.cycles_done + cycles for d in drivers}
    _wait(drivers, lambda d: d.cycles_done >= goal[d.station], f"played {cycles} more cycles")


def play_online(drivers: Sequence[StationDriver], scans: int) -> None:
    """Wait until every driver has had `scans` more transaction scans confirmed at once: its
    station is connected again and has sent what it queued before."""
    goal = {d.station: d.figures.confirmed_at_once + scans for d in drivers}
    _wait(
        drivers,
        lambda d: d.figures.confirmed_at_once >= goal[d.station],
        f"had {scans} more scans confirmed at once",
    )


def play_offline(drivers: Sequence[StationDriver], scans: int) -> None:
    """Wait until every driver has had `scans` more transaction scans queued (not confirmed at
    once): its station works on without the database."""
    goal = {d.station: d.figures.queued_while_offline + scans for d in drivers}
    _wait(
        drivers,
        lambda d: d.figures.queued_while_offline >= goal[d.station],
        f"queued {scans} more scans",
    )


def finish_all(drivers: Sequence[StationDriver], after: int | None = None) -> None:
    """Let every driver play `after` more cycles (None: the rest of its cycles), then wait until
    all have drained and stopped."""
    if after is not None:
        for driver in drivers:
            driver.finish(after)
    for driver in drivers:
        driver.join(PATIENCE_S + driver.left * max(driver.pace_s, 0.5))
        if driver.is_alive():
            raise AssertionError(f"{driver.station} never finished (cycle {driver.cycles_done})")
    failed(drivers)


def failed(drivers: Sequence[StationDriver]) -> None:
    """Raise what stopped any driver, with its traceback."""
    errors = [f"{d.station}:\n{d.error}" for d in drivers if d.error is not None]
    if errors:
        raise AssertionError("a station driver failed:\n" + "\n".join(errors))


# --- a broken station, for the negative controls -------------------------------------------------


def fresh_id_per_resend(submit: Submit) -> Submit:
    """BROKEN on purpose: a transaction sent again (after a send that failed) goes out under a new
    id, and its answer comes back under the old one so the outbox can mark it. After a lost
    acknowledgement the ledger cannot tell the resend from a new scan: the checker must see a
    duplicate. Install it as `session._submit = fresh_id_per_resend(session._submit)`."""
    sent: set[uuid.UUID] = set()

    def resend(command: Command, uow_factory: UnitOfWorkFactory) -> Outcome:
        if command.tx_id not in sent:
            sent.add(command.tx_id)
            return submit(command, uow_factory)
        outcome = submit(dataclasses.replace(command, tx_id=uuid.uuid4()), uow_factory)
        return dataclasses.replace(outcome, tx_id=command.tx_id)

    return resend


# --- checking and reporting ----------------------------------------------------------------------


def station_intents(outboxes: Iterable[Path]) -> list[OutboxEntry]:
    """Every command the stations meant to send, read from their outbox files."""
    entries: list[OutboxEntry] = []
    for path in outboxes:
        with Outbox(path) as outbox:
            entries.extend(outbox.entries())
    return entries


def check_stations(engine: Engine, intents: Sequence[OutboxEntry]) -> CheckReport:
    """The exactly-once checker over the stations' intents, bin suggestions left out: a hold is
    never resent, and one whose answer was lost stands refused (offline) in the outbox while
    the ledger has it. The holds the stations did send are not phantoms either."""
    report = check(engine, [e for e in intents if e.kind != ADVISORY])
    holds = {payload_hash(e.payload) for e in intents if e.kind == ADVISORY}
    t = TransactionRow.__table__
    with engine.connect() as c:
        stored = c.execute(select(t.c.payload_hash).where(t.c.kind == ADVISORY)).scalars().all()
    report.phantom -= sum(1 for h in stored if h in holds)
    return report


def confirmed_count(engine: Engine, kind: str) -> int:
    """Confirmed transactions of one kind in the ledger."""
    t = TransactionRow.__table__
    with engine.connect() as c:
        query = select(func.count()).where(t.c.kind == kind, t.c.status == "confirmed")
        return int(c.execute(query).scalar_one())


def replayed(intents: Iterable[OutboxEntry]) -> int:
    """Answers that were the ledger's stored outcome for a resend of the same id: each one a
    transaction whose first answer was lost (or whose send failed after its commit)."""
    return sum(1 for e in intents if e.outcome is not None and e.outcome.get("replayed"))


def total(drivers: Sequence[StationDriver]) -> dict[str, int]:
    """The drivers' figures summed (max_queue: the longest queue of any one station)."""
    rows = [dataclasses.asdict(d.figures) for d in drivers]
    names = [name for name, value in rows[0].items() if isinstance(value, int)]
    sums = {name: sum(row[name] for row in rows) for name in names}
    sums["max_queue"] = max(row["max_queue"] for row in rows)
    return sums


def notes(drivers: Sequence[StationDriver]) -> list[str]:
    return [f"{d.station}: {n}" for d in drivers for n in d.figures.notes]


def stock_on_hand(engine: Engine, sku: str) -> int:
    """Units of `sku` in the warehouse: on hand in every location but the virtual ones."""
    q, loc, s = table(QuantRow), table(LocationRow), table(SkuRow)
    query = (
        select(func.coalesce(func.sum(q.c.on_hand), 0))
        .select_from(q.join(loc, loc.c.id == q.c.location_id).join(s, s.c.id == q.c.sku_id))
        .where(s.c.code == sku, loc.c.kind != LocationKind.VIRTUAL.value)
    )
    with engine.connect() as c:
        return int(c.execute(query).scalar_one())


def drill_figures(
    engine: Engine,
    drivers: Sequence[StationDriver],
    intents: Sequence[OutboxEntry],
    report: CheckReport,
    sku: str = "WIDGET",
) -> dict[str, Any]:
    """A drill's figures: what the stations did, what the checker found, and what the ledger
    holds (confirmed receives; units of the scanned item in stock)."""
    return {
        "stations": len(drivers),
        **total(drivers),
        "replayed": replayed(intents),
        **report.figures(),
        "invariants": report.invariants.get("total", 0),
        "receives_confirmed": confirmed_count(engine, "receive"),
        "units_in_stock": stock_on_hand(engine, sku),
        "notes": notes(drivers),
    }


def stop_all(drivers: Sequence[StationDriver], patience_s: float = 30.0) -> None:
    """Stop whatever drivers still run (a test that failed midway), without judging them."""
    for driver in drivers:
        driver.finish(0)
    for driver in drivers:
        if driver.is_alive():
            driver.join(patience_s)


def emit(capsys: pytest.CaptureFixture[str], figures: Mapping[str, Any]) -> None:
    """The drill's one JSON line of figures, shown even under pytest's capture."""
    with capsys.disabled():
        print("\n" + json.dumps(figures))
