"""Scan terminator -> feedback banner painted at the real station, on SQLite and on PostgreSQL
while 8 other simulated stations write, and start -> login screen shown (DESIGN.md section 7:
"The station shows every scan's fate within 100 ms of the terminator").

A. Per database (a new SQLite file; a new PostgreSQL database perpetua_station_<random>, dropped
WITH (FORCE) after), `perpetua demo --bins 2000 --skus 500` migrates it and builds the demo
warehouse, as a user would. Eight simulated stations (SIM-1..SIM-8, each with its own dock) then
write receive -> putaway -> transfer cycles of demo SKUs through app.services.ledger.submit on the
same database until the measurement ends. The real StationWindow opens on the real session
(bootstrap.station_factory) under QT_QPA_PLATFORM=offscreen at 1024x768, badge D001 (dock) logs in
and the station stays in receive mode: each scan of a demo SKU's GTIN is one blind Receive, written
to the station's outbox and sent to the ledger. Each scan is typed as key events stamped at scanner
speed (1-5 ms apart) and posted to the window, as the window system queues them, so that the
application-wide WedgeFilter assembles them into a Scan. t0 is taken when the Enter key press is
delivered (by an event filter installed after the wedge's, so it sees the key just before the
wedge does), t1 when `banner.painted` fires for the view that answers that scan; the figure is
t1 - t0.

Two baselines, interleaved with the receive scans so that all three meet the same moments of a
shared machine and the same load (STYLE.md rule 19):
  refused  a command barcode the station does not know (@CMD:BENCHNOP), typed the same way: the
           interpreter refuses it with no ledger work, so this is the key events, the wedge, the
           worker thread's round trip, the view and the paint alone. (The view is built as every
           view is, which reads the open receipts shown as choices and the outbox depth.)
  bare     a one-row INSERT + COMMIT on the same database (bench/ledger.py's BareCommit), from
           the GUI process, while no scan is in flight.

The simulated stations are processes by default (--load processes): the other stations of a
warehouse are other computers, whereas threads in the station's process share its GIL and would
hold its GUI thread's key events and paints behind their Python work. --load threads measures that
case. Two load levels by default, one after the other with the same window (--load-pause-ms
500,0): each station pausing 500 ms after each transaction (about 16 transactions a second
together, eight people scanning briskly), then flat out, far above what people can make: a worst
case for the database's locks (on SQLite, one writer at a time for the whole file) and, on a small
machine, for its CPUs. Each level has its own warm-up rounds, untimed.

B. Start -> login screen shown: `perpetua --db URL station --station ST-1` as a subprocess (the
same offscreen platform; XDG data and config directories in a temporary folder, so that no user
config is read and the outbox stays there) until the login screen's first view is shown, which
app/ui/app.py writes into the file named by PERPETUA_STARTUP_PROBE (wall time, time.time(), so it
compares across processes) before it quits. Baseline: a Python that imports PySide6, creates a
QApplication and shows an empty QMainWindow, timed the same way (its time written at the first
turn of the event loop after show). Launches alternate, after one untimed launch of each; the
figure is the median. No load runs during part B.

    .venv/bin/python bench/station.py [--scans N] [--launches N] [--quick] [--sqlite-only]
        [--load processes|threads] [--load-pause-ms MS,MS] [--gap-ms MS] [--pg-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import queue
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from typing import Any, Protocol

import psycopg
import PySide6
import sqlalchemy
from ledger import DEFAULT_PG_URL, BareCommit, say, stop
from machine import machine as machine_info
from machine import scratch_pg_database
from PySide6.QtCore import QEvent, QEventLoop, QObject, Qt, QTimer, Signal, Slot, qVersion
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.adapters.db import catalogue
from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from app.bootstrap import station_factory
from app.config import Settings
from app.domain.catalogue import LocationSpec, OperatorSpec, StationSpec
from app.domain.commands import Command, Putaway, Receive, Transfer
from app.domain.model import LocationKind, Role, Tracking
from app.domain.ports import DatabaseUnavailable
from app.domain.workflow import Level
from app.services import demo as demo_plan
from app.services.ledger import submit
from app.services.station_view import StationView
from app.ui.app import STARTUP_PROBE_ENV
from app.ui.station_window import StationWindow

ROOT = Path(__file__).resolve().parent.parent
BINS, SKUS, SEED = 2_000, 500, 1  # `perpetua demo --bins 2000 --skus 500` (seed 1, its default)
STATION, BADGE = "ST-1", "D001"
NOP = "@CMD:BENCHNOP"
LOAD_STATIONS = 8
LOAD_BADGE = "SIM-D"
SCANS, QUICK_SCANS = 300, 60
LAUNCHES, QUICK_LAUNCHES = 5, 3
WARMUP, QUICK_WARMUP = 10, 5
GAP_MS = 100
PACES_MS = (500.0, 0.0)
"""Load levels: each simulated station pauses this long after each transaction (about 2 a
second each, 16 a second together: eight busy people scanning), then none at all (flat out)."""
PROMISE_MS = 100.0
SCANNER_GAPS = (2, 1, 3, 5, 2, 4)  # ms between a scanner's keys (tests/gui/test_wedge_filter.py)
PAUSE_MS = 500  # keyboard time before each scan: a burst only starts after a pause
HANG_GUARD_S = 600
"""A guard against a hung launch, not a limit on the figures."""
WINDOW_SIZE = (1024, 768)
EMPTY_WINDOW = """\
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
def shown():
    with open(sys.argv[1], "w", encoding="utf-8") as probe:
        probe.write(repr(time.time()))
    app.quit()
window.showMaximized()
QTimer.singleShot(0, shown)
sys.exit(app.exec())
"""


# --- figures ----------------------------------------------------------------------------------


def summary(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50, p95, p99 and max in ms, and how many took longer than the 100 ms promise."""
    ms = [s * 1000 for s in seconds]
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "n": len(ms),
        "p50_ms": cuts[49],
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "max_ms": max(ms),
        "over_100ms": sum(1 for m in ms if m > PROMISE_MS),
    }


class RetryCounter(logging.Handler):
    """Counts the retries `submit()` logs, the simulated stations' (threads named SIM-n, or
    another process) apart from the measured station's."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.station = 0
        self.load = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "attempt" not in record.getMessage():
            return
        if record.threadName and record.threadName.startswith("SIM-"):
            self.load += 1
        else:
            self.station += 1


@contextmanager
def counting_retries() -> Iterator[RetryCounter]:
    counter = RetryCounter()
    logger = logging.getLogger("app.services.ledger")
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.INFO)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)


# --- databases made and dropped by this run ---------------------------------------------------


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="perpetua_station_") as directory:
        yield f"sqlite:///{Path(directory) / 'station.db'}"


def pg_url(server_url: str) -> AbstractContextManager[str]:
    """A database perpetua_station_<random> on the server, dropped however we leave."""
    return scratch_pg_database(server_url, "perpetua_station")


def pg_version(server_url: str) -> str:
    engine = create_engine(make_url(server_url).set(drivername="postgresql+psycopg"), pool_size=1)
    try:
        with engine.connect() as c:
            return str(c.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def perpetua() -> list[str]:
    script = Path(sys.executable).with_name("perpetua")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def build(url: str) -> tuple[float, str]:
    """`perpetua demo` as a user runs it: migrations, then the demo warehouse; seconds, summary."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [*perpetua(), "--db", url, "demo", "--bins", str(BINS), "--skus", str(SKUS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"perpetua demo failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout.splitlines()[0] if done.stdout else ""


@dataclass(frozen=True)
class Goods:
    """What the scans and the simulated stations use, from the demo's own plan (same seed)."""

    gtins: tuple[str, ...]
    """GTINs of untracked demo SKUs: one scan, one Receive of 1 unit, no lot or serial asked."""
    light: tuple[str, ...]
    """Small, light untracked SKUs for the load, so that bins do not fill up during a run."""
    bins: tuple[str, ...]


def demo_goods() -> Goods:
    plan = demo_plan.build_demo(BINS, SKUS, SEED)
    plain = [s for s in plan.skus if s.tracking is Tracking.NONE]
    gtins = tuple(code for s in plain for code, kind in s.barcodes if kind == "gtin")
    light = tuple(s.code for s in plain if s.unit_volume_cm3 <= 400 and s.unit_weight_g <= 250)
    bins = tuple(loc.code for loc in plan.locations if loc.kind is LocationKind.BIN)
    return Goods(gtins, light, bins)


def add_load_stations(url: str) -> None:
    """SIM-1..SIM-8, each with its own dock, and a dock worker's badge for them."""
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            catalogue.add_locations(
                c,
                [
                    LocationSpec(f"SIM-DOCK-{i}", LocationKind.DOCK, zone="A")
                    for i in range(1, LOAD_STATIONS + 1)
                ],
            )
            catalogue.add_operators(c, [OperatorSpec(LOAD_BADGE, "Simulated dock", Role.DOCK)])
            catalogue.add_stations(
                c,
                [
                    StationSpec(f"SIM-{i}", f"Simulated station {i}", "A", f"SIM-DOCK-{i}")
                    for i in range(1, LOAD_STATIONS + 1)
                ],
            )
    finally:
        engine.dispose()


# --- the other eight stations -----------------------------------------------------------------


def signed(cls: type[Command], station: str, **fields: Any) -> Command:
    return cls(tx_id=uuid.uuid4(), station=station, operator=LOAD_BADGE, **fields)


class Stopper(Protocol):
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class Sink(Protocol):
    def put(self, item: Any) -> None: ...


def load_station(
    url: str,
    index: int,
    skus: Sequence[str],
    bins: Sequence[str],
    pause_s: float,
    stopped: Stopper,
    ready: Sink,
    results: Sink,
) -> None:
    """One simulated station: receive 1 unit on its dock, put it away into a random bin, move it
    on to another, until `stopped`; its counts go to `results` (a dict, so that it crosses a
    process boundary as it is)."""
    if multiprocessing.parent_process() is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it and cleans up
    counts: dict[str, Any] = {
        "confirmed": 0,
        "refused": 0,
        "unavailable": 0,
        "retries": 0,
        "seconds": 0.0,
    }
    in_process = multiprocessing.parent_process() is not None
    try:
        # In a process of its own, its retries are counted here; as a thread, by the parent's
        # counter (which tells the threads apart by name).
        with counting_retries() if in_process else nullcontext(None) as retries:
            engine = make_engine(url, pool_size=1)
            try:
                ledger = SqlLedger(engine)
                rng = random.Random(f"sim:{index}")
                station, dock = f"SIM-{index}", f"SIM-DOCK-{index}"

                def cycle_once() -> None:
                    sku, (a, b) = rng.choice(skus), rng.sample(bins, 2)
                    commands: list[Command] = [
                        signed(Receive, station, sku=sku, qty=1, to_location=dock),
                        signed(Putaway, station, sku=sku, qty=1, from_location=dock, to_location=a),
                        signed(Transfer, station, sku=sku, qty=1, from_location=a, to_location=b),
                    ]
                    for command in commands:
                        try:
                            outcome = submit(command, ledger)
                        except DatabaseUnavailable:
                            counts["unavailable"] += 1
                            continue
                        counts["confirmed" if outcome.ok else "refused"] += 1
                        if pause_s:
                            stopped.wait(pause_s)

                cycle_once()  # opens the connection before the measurement starts
                counts.update(confirmed=0, refused=0, unavailable=0)
                ready.put(index)
                start = time.perf_counter()
                while not stopped.is_set():
                    cycle_once()
                counts["seconds"] = time.perf_counter() - start
            finally:
                engine.dispose()
        if retries is not None:
            counts["retries"] = retries.station + retries.load
    except BaseException as error:  # a thread or process boundary: report, the parent raises
        counts["error"] = f"{type(error).__name__}: {error}"
        ready.put(index)
    results.put(counts)


class Load:
    """The eight simulated stations, as processes (spawned: the parent runs Qt) or threads."""

    def __init__(
        self, url: str, goods: Goods, kind: str, pause_ms: float, stations: int = LOAD_STATIONS
    ) -> None:
        self.kind = kind
        self.stations = stations
        context = multiprocessing.get_context("spawn")
        self._stopped: Any
        self._ready: Any
        self._results: Any
        if kind == "processes":
            self._stopped, self._ready, self._results = (
                context.Event(),
                context.Queue(),
                context.Queue(),
            )
        else:
            self._stopped, self._ready, self._results = (
                threading.Event(),
                queue.Queue(),
                queue.Queue(),
            )
        args = (list(goods.light), list(goods.bins), pause_ms / 1000)
        self._runners: list[Any] = []
        for i in range(1, stations + 1):
            full = (url, i, *args, self._stopped, self._ready, self._results)
            if kind == "processes":
                self._runners.append(
                    context.Process(target=load_station, args=full, name=f"SIM-{i}")
                )
            else:
                self._runners.append(
                    threading.Thread(target=load_station, args=full, name=f"SIM-{i}")
                )

    def start(self) -> None:
        """Start every station and wait until each has written its first cycle."""
        for runner in self._runners:
            runner.start()
        for _ in self._runners:
            self._ready.get()

    def stop(self) -> dict[str, Any]:
        """Stop them all; their summed counts."""
        self._stopped.set()
        results = [self._results.get() for runner in self._runners if runner.ident is not None]
        for runner in self._runners:
            if runner.ident is not None:
                runner.join()
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise RuntimeError(f"a simulated station failed: {errors[0]}")
        total: dict[str, Any] = {
            k: sum(r[k] for r in results)
            for k in ("confirmed", "refused", "unavailable", "retries")
        }
        seconds = statistics.mean(r["seconds"] for r in results) if results else 0.0
        total["tx_per_s"] = (total["confirmed"] + total["refused"]) / seconds if seconds else 0.0
        return total

    def abandon(self) -> None:
        """After a failure elsewhere: stop them without waiting for their counts."""
        self._stopped.set()
        for runner in self._runners:
            if runner.ident is None:
                continue
            runner.join(60)
            if isinstance(runner, multiprocessing.process.BaseProcess) and runner.is_alive():
                runner.terminate()
                runner.join()


@contextmanager
def load_running(
    url: str, goods: Goods, kind: str, pause_ms: float
) -> Iterator[Callable[[], dict[str, Any]]]:
    """Yields `stop()`, which ends the load and returns its counts; on a failure the stations are
    stopped all the same."""
    load = Load(url, goods, kind, pause_ms)
    done = False

    def finish() -> dict[str, Any]:
        nonlocal done
        done = True
        return load.stop()

    try:
        load.start()
        yield finish
    finally:
        if not done:
            load.abandon()


# --- the station window, driven by key events -------------------------------------------------


class Keyboard:
    """Key events as the window system delivers them: posted to the window (Qt routes them on to
    the focused widget), stamped with the keyboard's clock at scanner speed (tests/gui/
    test_wedge_filter.py's Keyboard in its posting mode)."""

    def __init__(self, window: QWidget) -> None:
        self.window = window
        self.now = 1_000_000

    def scan(self, code: str) -> None:
        """A pause, then `code` and Enter."""
        self.now += PAUSE_MS
        for char, gap in zip(code, cycle(SCANNER_GAPS), strict=False):
            if char.isupper():
                shift = Qt.KeyboardModifier.ShiftModifier
                self._post(QEvent.Type.KeyPress, Qt.Key.Key_Shift, "", shift)
                self._tap(ord(char), char, shift)
                self._post(QEvent.Type.KeyRelease, Qt.Key.Key_Shift, "")
            else:
                self._tap(ord(char.upper()), char)
            self.now += gap
        self._tap(Qt.Key.Key_Return, "\r")

    def _tap(
        self,
        key: int,
        text: str,
        modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
    ) -> None:
        self._post(QEvent.Type.KeyPress, key, text, modifiers)
        self._post(QEvent.Type.KeyRelease, key, text, modifiers)

    def _post(
        self,
        kind: QEvent.Type,
        key: int,
        text: str,
        modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
    ) -> None:
        event = QKeyEvent(kind, key, modifiers, text)
        event.setTimestamp(self.now)
        QApplication.postEvent(self.window.windowHandle(), event)


class Probe(QObject):
    """Times one scan at a time: t0 when its Enter key press is delivered (an application event
    filter installed after the wedge's is called before it), t1 when the banner has painted the
    view that answers it. `changed` is emitted whenever something the driver waits for happens."""

    changed = Signal()

    def __init__(self, window: StationWindow) -> None:
        super().__init__(window)
        self.window = window
        self.expect = 0
        self.t0: float | None = None
        self.t1: float | None = None
        self.answer: StationView | None = None
        self.last: StationView | None = None
        self.fault = ""
        self.merged = 0
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.window.viewShown.connect(self._on_view_shown)
        self.window.banner.painted.connect(self._on_painted)
        self.window.worker.failed.connect(self._on_failed)

    def arm(self, seq: int) -> None:
        self.expect, self.t0, self.t1, self.answer = seq, None, None, None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            self.expect
            and self.t0 is None
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Return
        ):
            self.t0 = time.perf_counter()
        return False

    @Slot(StationView)
    def _on_view_shown(self, view: StationView) -> None:
        self.last = view
        if self.expect and view.input_seq == self.expect:
            self.answer = view
        self.changed.emit()

    @Slot(int)
    def _on_painted(self, seq: int) -> None:
        if self.t0 is None or self.t1 is not None:
            return
        if seq == self.expect:
            self.t1 = time.perf_counter()
        elif self.answer is not None:
            # A view nobody asked for (an outbox drain) came before the paint: the banner
            # painted once, showing this scan's answer still (a view without feedback keeps it).
            self.t1 = time.perf_counter()
            self.merged += 1
        self.changed.emit()

    @Slot(str)
    def _on_failed(self, text: str) -> None:
        self.fault = text
        self.changed.emit()


class Driver:
    """The window's whole life for one database: open, log in, scan, close."""

    def __init__(self, app: QApplication, url: str, outbox: Path) -> None:
        self.app = app
        settings = Settings(database_url=url, source="bench/station.py")
        self.window = StationWindow(
            station_factory(settings, STATION, outbox), title=f"Perpetua station {STATION}"
        )
        self.window.resize(*WINDOW_SIZE)
        self.probe = Probe(self.window)
        self.keyboard = Keyboard(self.window)
        self.seq = 0

    def open(self) -> None:
        self.window.show()
        self.window.activateWindow()
        self.window.start()
        self.app.installEventFilter(self.probe)  # after the wedge's: Qt asks the last one first
        self.until(lambda: self.probe.last is not None)
        self.seq = self.probe.last.input_seq if self.probe.last else 0

    def close(self) -> None:
        self.app.removeEventFilter(self.probe)
        if not self.window.shutdown():
            say("  a thread of the station window did not end")
        self.window.close()
        self.window.deleteLater()
        self.app.processEvents()

    def until(self, done: Callable[[], bool]) -> None:
        """Run the event loop until `done()`; a station fault is raised."""
        loop = QEventLoop()

        def check() -> None:
            if done() or self.probe.fault:
                loop.quit()

        self.probe.changed.connect(check)
        try:
            if not (done() or self.probe.fault):
                loop.exec()
        finally:
            self.probe.changed.disconnect(check)
        if self.probe.fault:
            raise RuntimeError(f"station fault: {self.probe.fault}")

    def idle(self, ms: int) -> None:
        """Let the event loop run for `ms` (the station's drain timer, repaints)."""
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def scan(self, code: str) -> tuple[float, StationView]:
        """Type `code` + Enter; seconds from the Enter key press to the banner painted, and the
        view that answered it."""
        self.seq += 1
        self.probe.arm(self.seq)
        self.keyboard.scan(code)
        self.until(lambda: self.probe.t1 is not None and self.probe.answer is not None)
        t0, t1, answer = self.probe.t0, self.probe.t1, self.probe.answer
        assert t0 is not None and t1 is not None and answer is not None
        self.probe.arm(0)
        return t1 - t0, answer

    def login(self) -> None:
        _, view = self.scan(BADGE)
        if view.operator is None or view.mode is None or view.mode.value != "receive":
            feedback = view.feedback.text if view.feedback else view.prompt
            raise RuntimeError(f"badge {BADGE} did not log in to receive mode: {feedback}")


@dataclass
class Samples:
    receive: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    received: int = 0
    """Receive scans the banner showed as confirmed (green)."""
    refusals: int = 0
    """NOP scans the banner showed as refused (red)."""
    other: list[str] = field(default_factory=list)


def rounds(driver: Driver, bare: BareCommit, gtins: Sequence[str], n: int, gap_ms: int) -> Samples:
    """n rounds of: a receive scan, the refused command, a bare commit; `gap_ms` between them."""
    out = Samples()
    for i in range(n):
        driver.idle(gap_ms)
        seconds, view = driver.scan(gtins[i % len(gtins)])
        out.receive.append(seconds)
        if view.feedback and view.feedback.level is Level.OK:
            out.received += 1
        elif len(out.other) < 3:
            out.other.append(view.feedback.text if view.feedback else "(no feedback)")
        driver.idle(gap_ms)
        seconds, view = driver.scan(NOP)
        out.refused.append(seconds)
        out.refusals += bool(view.feedback and view.feedback.level is Level.ERROR)
        driver.idle(gap_ms)
        out.bare.append(bare())
    return out


def part_a(
    app: QApplication,
    db: str,
    url: str,
    scans: int,
    warmup: int,
    load_kind: str,
    paces_ms: Sequence[float],
    gap_ms: int,
) -> dict[str, Any]:
    """One window, logged in once; per load pace, the load started, warm-up rounds, timed rounds,
    the load stopped."""
    say(f"  {db}: perpetua demo --bins {BINS} --skus {SKUS}")
    build_s, built = build(url)
    say(f"    built in {build_s:.1f} s: {built}")
    add_load_stations(url)
    goods = demo_goods()
    engine = make_engine(url)
    bare = BareCommit(engine)
    levels: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="perpetua_station_outbox_") as folder:
            driver = Driver(app, url, Path(folder) / "outbox.sqlite")
            try:
                driver.open()
                driver.login()
                for pace in paces_ms:
                    say(
                        f"    {LOAD_STATIONS} simulated stations ({load_kind}, {pace_text(pace)}):"
                        f" {warmup} untimed rounds, then {scans} timed"
                    )
                    levels[pace_text(pace)] = level(
                        driver, bare, url, goods, scans, warmup, load_kind, pace, gap_ms
                    )
            finally:
                driver.close()
    finally:
        engine.dispose()
    return {"build_s": build_s, "demo": built, "levels": levels}


def pace_text(pause_ms: float) -> str:
    return "flat out" if not pause_ms else f"{pause_ms:g} ms pauses"


def level(
    driver: Driver,
    bare: BareCommit,
    url: str,
    goods: Goods,
    scans: int,
    warmup: int,
    load_kind: str,
    pause_ms: float,
    gap_ms: int,
) -> dict[str, Any]:
    merged = driver.probe.merged
    with counting_retries() as retries:
        with load_running(url, goods, load_kind, pause_ms) as stop_load:
            rounds(driver, bare, goods.gtins, warmup, gap_ms)
            samples = rounds(driver, bare, goods.gtins[warmup:], scans, gap_ms)
            load = stop_load()
        station_retries = retries.station
        load["retries"] += retries.load  # threads: counted here
    result: dict[str, Any] = {
        "pause_ms": pause_ms,
        "receive": summary(samples.receive),
        "refused": summary(samples.refused),
        "bare": summary(samples.bare),
        "received": samples.received,
        "refusals": samples.refusals,
        "not_received": samples.other,
        "merged_paints": driver.probe.merged - merged,
        "station_retries": station_retries,
        "load": load,
    }
    result["receive_x_refused_p50"] = result["receive"]["p50_ms"] / result["refused"]["p50_ms"]
    result["receive_x_bare_p50"] = result["receive"]["p50_ms"] / result["bare"]["p50_ms"]
    return result


# --- part B: start -> login screen ------------------------------------------------------------


def launch(command: Sequence[str], env: dict[str, str], probe: Path) -> float:
    """Seconds from starting `command` to the time it wrote into `probe`."""
    probe.unlink(missing_ok=True)
    started = time.time()
    done = subprocess.run(
        command,
        env={**env, STARTUP_PROBE_ENV: str(probe)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=HANG_GUARD_S,
    )
    if done.returncode or not probe.exists():
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode} without writing {probe}:\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return float(probe.read_text(encoding="utf-8")) - started


def part_b(url: str, launches: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="perpetua_station_start_") as folder:
        home = Path(folder)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PERPETUA_DATABASE_URL", "PERPETUA_CONFIG")
        }
        env.update(
            QT_QPA_PLATFORM=QGuiApplication.platformName() or "offscreen",
            XDG_DATA_HOME=str(home / "data"),
            XDG_CONFIG_HOME=str(home / "config"),
        )
        probe = home / "shown"
        station = [*perpetua(), "--db", url, "station", "--station", STATION]
        empty = [sys.executable, "-c", EMPTY_WINDOW, str(probe)]
        launch(station, env, probe)  # untimed: warms the page cache for both
        launch(empty, env, probe)
        times: dict[str, list[float]] = {"station": [], "empty": []}
        for _ in range(launches):
            times["station"].append(launch(station, env, probe))
            times["empty"].append(launch(empty, env, probe))
    result: dict[str, Any] = {k: statistics.median(v) for k, v in times.items()}
    result["all"] = times
    result["ratio"] = result["station"] / result["empty"]
    return result


# --- output -----------------------------------------------------------------------------------


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"Perpetua station benchmark, {m['time']}")
    print(f"machine: {m['cpu_count']} CPUs ({m['cpu']}), {m['platform']}")
    print(f"load average (1 min): {m['load_start']:.2f} at start, {m['load_end']:.2f} at end")
    print(
        f"python {m['python']}, PySide6 {m['pyside6']} (Qt {m['qt']}, platform "
        f"{m['qt_platform']}), SQLAlchemy {m['sqlalchemy']}, psycopg {m['psycopg']}"
    )
    print(f"sqlite {m['sqlite']}; postgresql {m['postgresql'] or '-'}")
    print(f"run took {report['seconds']:.0f} s")
    a = report["a"]
    print()
    print(
        f"A. Scan terminator (Enter delivered) -> feedback banner painted, ms. N = {a['scans']} "
        f"rounds after {a['warmup']} untimed, actions\n   {a['gap_ms']} ms apart; station "
        f"{STATION} logged in as {BADGE}, receive mode, demo warehouse of {BINS} bins, {SKUS} "
        "SKUs.\n"
        "   receive = a demo GTIN at scanner speed: one blind Receive through outbox and ledger\n"
        f"   refused = {NOP}, refused by the interpreter: GUI + worker thread round trip alone\n"
        "   bare    = one-row INSERT + COMMIT on the same database under the same load, no GUI\n"
        f"   load    = {LOAD_STATIONS} simulated stations as {a['load']}, receive -> putaway -> "
        "transfer cycles through submit(),\n"
        "             flat out, or with a pause after each transaction"
    )
    head = (
        f"{'database':<11}{'load':<16}{'path':<9}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>8}"
        f"{'>100ms':>7} |{'receive p50 / it':>17} |{'load tx/s':>10}"
    )
    print()
    print(head)
    print("-" * len(head))
    for db, r in a["databases"].items():
        for pace, lv in r["levels"].items():
            for path in ("receive", "refused", "bare"):
                f = lv[path]
                ratio = {
                    "receive": "",
                    "refused": f"{lv['receive_x_refused_p50']:.2f}x",
                    "bare": f"{lv['receive_x_bare_p50']:.2f}x",
                }[path]
                first = path == "receive"
                print(
                    f"{db if first else '':<11}{pace if first else '':<16}{path:<9}"
                    f"{f['p50_ms']:>7.1f}{f['p95_ms']:>7.1f}{f['p99_ms']:>7.1f}{f['max_ms']:>8.1f}"
                    f"{f['over_100ms']:>7} |{ratio:>17} |"
                    + (f"{lv['load']['tx_per_s']:>10.0f}" if first else "")
                )
    print()
    for db, r in a["databases"].items():
        print(f"{db}: demo built in {r['build_s']:.1f} s ({r['demo']})")
        for pace, lv in r["levels"].items():
            load = lv["load"]
            merged = f"; {lv['merged_paints']} paints after a drain view" * bool(
                lv["merged_paints"]
            )
            print(
                f"  {pace}: banner green for {lv['received']} of {lv['receive']['n']} receives, "
                f"red for {lv['refusals']} of {lv['refused']['n']} refused; station retries "
                f"{lv['station_retries']}{merged}; load {load['confirmed']} confirmed, "
                f"{load['refused']} refused, {load['unavailable']} unavailable, "
                f"{load['retries']} retries"
            )
            for text_ in lv["not_received"]:
                print(f"    a receive not green: {text_}")
    b = report["b"]
    if b["databases"]:
        print()
        print(
            f"B. Start -> login screen shown, s: median of {b['launches']} launches each, "
            "alternating, after one untimed of each; no load.\n"
            f"   station = perpetua --db URL station --station {STATION}; empty = python -c "
            "'import PySide6; QApplication; empty QMainWindow shown'"
        )
        head = f"{'database':<11}{'station':>9}{'empty':>9}{'station / empty':>17}"
        print()
        print(head)
        print("-" * len(head))
        for db, r in b["databases"].items():
            print(f"{db:<11}{r['station']:>9.2f}{r['empty']:>9.2f}{r['ratio']:>16.2f}x")
    for note in report["notes"]:
        print(f"note: {note}")


# --- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scans", type=int, help=f"timed rounds per database ({SCANS})")
    parser.add_argument("--launches", type=int, help=f"timed launches of each ({LAUNCHES})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a short run: {QUICK_SCANS} scans, {QUICK_LAUNCHES} launches, {QUICK_WARMUP} warm-up",
    )
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--load", choices=("processes", "threads"), default="processes")
    parser.add_argument(
        "--load-pause-ms",
        default=",".join(f"{p:g}" for p in PACES_MS),
        help="load levels: each simulated station's pause after each transaction, ms, "
        "comma-separated (0: flat out); --quick runs the first only",
    )
    parser.add_argument("--gap-ms", type=int, default=GAP_MS, help="real time between actions")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PERPETUA_BENCH_DATABASE_URL")
        or os.environ.get("PERPETUA_TEST_DATABASE_URL")
        or DEFAULT_PG_URL,
        help="a server to make the bench database on (the database named here is left alone)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    scans = args.scans or (QUICK_SCANS if args.quick else SCANS)
    launches = args.launches or (QUICK_LAUNCHES if args.quick else LAUNCHES)
    warmup = QUICK_WARMUP if args.quick else WARMUP
    paces = [float(p) for p in args.load_pause_ms.split(",") if p.strip()]
    if args.quick:
        paces = paces[:1]
    if scans < 2 or launches < 1 or args.gap_ms < 0 or not paces or min(paces) < 0:
        parser.error("--scans must be at least 2, --launches at least 1, pauses not negative")

    started = time.perf_counter()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    notes: list[str] = []
    server: str | None = None if args.sqlite_only else args.pg_url
    postgresql = None
    if server is not None:
        try:
            postgresql = pg_version(server)
        except sqlalchemy.exc.OperationalError as error:
            notes.append(
                f"PostgreSQL at {make_url(server).render_as_string()} unreachable, skipped: "
                f"{str(error.orig).strip().splitlines()[0]}"
            )
            server = None
    info = machine_info(
        pyside6=PySide6.__version__,
        qt=qVersion(),
        qt_platform=QGuiApplication.platformName(),
        sqlalchemy=sqlalchemy.__version__,
        psycopg=psycopg.__version__,
        sqlite=sqlite3.sqlite_version,
        postgresql=postgresql,
    )
    report: dict[str, Any] = {
        "machine": info,
        "a": {
            "scans": scans,
            "warmup": warmup,
            "gap_ms": args.gap_ms,
            "load": args.load,
            "load_pause_ms": paces,
            "databases": {},
        },
        "b": {"launches": launches, "databases": {}},
        "notes": notes,
    }
    scratch: list[tuple[str, Callable[[], Any]]] = [("sqlite", sqlite_url)]
    if server is not None:
        pg = server
        scratch.append(("postgresql", lambda: pg_url(pg)))
    for db, make in scratch:
        say(f"{db}:")
        with make() as url:
            report["a"]["databases"][db] = part_a(
                app, db, url, scans, warmup, args.load, paces, args.gap_ms
            )
            say(f"  start -> login screen: {launches} launches of each, after one untimed")
            report["b"]["databases"][db] = part_b(url, launches)

    info["load_end"] = os.getloadavg()[0]
    report["seconds"] = time.perf_counter() - started
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    try:
        with suppress(BrokenPipeError):
            sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted; the bench databases and files were dropped")
        sys.exit(130)
