"""T14 (RELIABILITY.md): the real window through a real proxy cut.

The station window ST-1, built by the composition root (`bootstrap.station_factory`) on its worker
thread, reaches PostgreSQL through a loopback TCP proxy. A dock worker logs in and the test cuts
the network (every connection reset): the outage banner must be on screen within a second. The
worker receives two items and puts one of them away from the dock lane: queued, grey, the queue
depth in the status strip. Logging out needs a supervisor (badge, PIN typed on the keyboard, shown
masked), checked against the station's replica; the worker logs in again, offline. The window is
closed and a new one opened on the same outbox while the network is still cut: it opens from its
replica and shows the queue; one more receipt is queued there. Then the network comes back: the
queue drains to 0, the screen says the queued transactions were confirmed, the scan turns green,
and every screen goes on working online. The exactly-once checker, over the station's outbox,
finds each transaction once in the ledger.

The negative control restarts the station on a fresh outbox file (its copy of the warehouse kept,
its queue not): the same checker must report the queued work that never reached the ledger.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app import bootstrap
from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from app.config import Settings
from app.domain.interpret import StationMode
from app.domain.workflow import Entry, Level
from app.services.station_view import ScanState, StationView
from app.ui.station_window import StationWindow
from app.ui.station_worker import DRAIN_INTERVAL_MS
from app.ui.widgets.keypad import MASK
from app.ui.widgets.recent_scans import STATE_COLOURS
from tests.gui.test_station_modes import Station, shut_down, start_window
from tests.gui.test_station_window import WAIT_MS
from tests.gui.test_wedge_filter import HUMAN_GAP
from tests.support.checker import CheckReport
from tests.support.drill import (
    check_stations,
    confirmed_count,
    emit,
    station_intents,
    through_proxy,
)
from tests.support.proxy import TcpProxy
from tests.support.scenarios import WIDGET_GTIN
from tests.support.warehouse import BINS, Warehouse, seed

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.xdist_group("heavy"),
]

BANNER_WITHIN_MS = 1000
"""RELIABILITY.md T14: the outage banner is on screen within a second of the cut."""
BANNER_TOLERANCE_MS = 250
"""The one time limit asserted, so it carries a tolerance. By design the banner comes at most
one link probe interval (500 ms, app.adapters.db.link) plus one drain tick (500 ms,
app.ui.station_worker) after the cut, plus the failed probe itself: 0 to about 1000 ms, evenly
spread by the two phases (measured: median 495 ms, max 952 ms over 100 cuts on a quiet machine).
The tolerance is for a loaded CI machine; the figure is printed, and so is whether it kept the
promise."""
PATIENCE_MS = 30_000
"""A hang guard for the drain after the network is back (not a speed limit)."""
STATION = "ST-1"
PUTAWAY_BIN = "A-01-01"
ONLINE_BIN = "A-01-02"


@dataclass
class Drill:
    """The warehouse on PostgreSQL, the proxy in front of it, and the windows the drill opens."""

    qtbot: QtBot
    engine: Engine
    warehouse: Warehouse
    proxy: TcpProxy
    url: str
    windows: list[StationWindow] = field(default_factory=list)

    def open(self, outbox: Path) -> Station:
        """A new station window ST-1 on `outbox`, at its login, with the real drain interval."""
        factory = bootstrap.station_factory(Settings(self.url, "test"), STATION, outbox)
        station = start_window(self.qtbot, factory, drain_interval_ms=DRAIN_INTERVAL_MS)
        self.windows.append(station.window)
        return station

    def close(self, station: Station) -> None:
        shut_down([station.window])
        station.window.close()

    def check(self, *outboxes: Path) -> CheckReport:
        return check_stations(self.engine, station_intents(outboxes))


@pytest.fixture
def drill(qtbot: QtBot, qapp: QApplication, postgres_url: str) -> Iterator[Drill]:
    engine = make_engine(postgres_url)
    seed(engine)
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        running = Drill(
            qtbot,
            engine,
            Warehouse(engine, SqlLedger(engine)),
            proxy,
            through_proxy(postgres_url, proxy),
        )
        try:
            yield running
        finally:
            shut_down(running.windows)
            engine.dispose()


def out_of_reach_shown(station: Station) -> Callable[[StationView], bool]:
    window = station.window

    def shown(view: StationView) -> bool:
        return view.database.startswith("out of reach") and window.banner.text().startswith(
            "The database is out of reach"
        )

    return shown


def cut(drill: Drill, station: Station) -> float:
    """Cut the network; the milliseconds until the window shows the outage (database state and
    banner), measured from just before the cut."""
    shown_at: list[float] = []
    offline = out_of_reach_shown(station)

    def stamped(view: StationView) -> bool:
        if offline(view):
            shown_at.append(time.monotonic())
            return True
        return False

    with station.qtbot.waitSignal(
        station.window.viewShown, timeout=WAIT_MS, check_params_cb=stamped
    ):
        started = time.monotonic()
        drill.proxy.cut("reset")
    return (shown_at[0] - started) * 1000


def grey(station: Station, row: int) -> bool:
    """Whether the last scans' `row` is painted in the queued colours."""
    table = station.window.current_screen().scans  # type: ignore[attr-defined]
    background, ink = STATE_COLOURS[ScanState.QUEUED] or (QColor(), QColor())
    item = table.item(row, 0)
    return (
        item is not None
        and item.background().color() == background
        and item.foreground().color() == ink
    )


def queue_work(station: Station) -> StationView:
    """Offline: two receipts and a putaway of one of them from the dock lane, all queued."""
    status = station.window.status
    for depth in (1, 2):
        view = station.scan(WIDGET_GTIN)
        assert view.scans[0].state is ScanState.QUEUED, view.feedback
        assert view.queue_depth == depth
        assert status.queue.text() == f"Queue: {depth} waiting" and status.queue_highlighted
    assert station.shown_states()[:2] == ["queued", "queued"]
    assert grey(station, 0) and grey(station, 1)
    assert station.window.banner.level is Level.WARNING
    assert "is queued" in station.window.banner.text()

    view = station.scan("@CMD:MODE:PUTAWAY")
    assert view.mode is StationMode.PUTAWAY, view.feedback
    station.scan("@CMD:QTY:1")  # one of the two on the dock lane
    view = station.scan(WIDGET_GTIN)
    assert view.feedback is not None and "No bin suggestion" in view.feedback.text
    view = station.scan(PUTAWAY_BIN)
    assert view.scans[0].state is ScanState.QUEUED, view.feedback
    assert view.queue_depth == 3 and status.queue.text() == "Queue: 3 waiting"
    assert station.shown_states()[0] == "queued" and grey(station, 0)
    assert status.database_highlighted
    assert status.database.text().startswith("Database: out of reach since")
    return view


def showing(label: QLabel, text: str) -> Callable[[], bool]:
    return lambda: label.text() == text


def supervisor_logout(station: Station) -> StationView:
    """Logout with a queue: blocked until supervisor S1 approves with badge and a typed PIN,
    which the keypad shows as dots only."""
    window = station.window
    view = station.scan("@CMD:LOGOUT")
    assert view.operator is not None, "logged out with transactions still queued"
    assert "approve" in view.prompt, view.prompt
    assert "supervisor must approve" in window.banner.text()
    view = station.scan("S1")
    assert view.entry is Entry.PIN, view.prompt
    keypad = window.current_screen().keypad
    assert keypad.isVisible()
    for shown, digit in enumerate("123456", start=1):
        station.keyboard.pause(HUMAN_GAP)
        station.keyboard.type(digit, gaps=[HUMAN_GAP])
        station.qtbot.waitUntil(showing(keypad.display, MASK * shown), timeout=WAIT_MS)
    with station.qtbot.waitSignal(
        window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.input_seq > 0
    ) as answered:
        station.keyboard.pause(HUMAN_GAP)
        station.keyboard.type("\r", gaps=[HUMAN_GAP])
    view = answered.args[0]
    assert isinstance(view, StationView)
    station.inputs = view.input_seq  # the PIN was an input too
    assert view.operator is None, view.feedback
    assert view.feedback is not None and "S1" in view.feedback.text, view.feedback
    assert window.current_screen() is window.login
    assert view.queue_depth == 3
    assert not [label for label in window.findChildren(QLabel) if "123456" in label.text()]
    return view


def log_in_offline(station: Station) -> StationView:
    view = station.scan("D1")
    assert view.operator is not None and view.operator.badge == "D1", view.feedback
    assert view.database.startswith("out of reach"), view.database
    return view


def restore(drill: Drill, station: Station) -> tuple[StationView, float]:
    """Bring the network back; the view that shows the queue empty with the database connected,
    and the seconds it took."""
    with station.qtbot.waitSignal(
        station.window.viewShown,
        timeout=PATIENCE_MS,
        check_params_cb=lambda v: v.queue_depth == 0 and v.database_ok,
    ) as drained:
        started = time.monotonic()
        drill.proxy.restore()
    return drained.args[0], time.monotonic() - started


def test_t14_the_window_works_through_a_network_cut_and_each_scan_lands_once(
    drill: Drill, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox-ST-1.sqlite"
    station = drill.open(outbox)
    station.log_in("D1", "receive")
    assert station.window.status.database.text() == "Database: connected"

    banner_ms = cut(drill, station)
    banner = station.window.banner
    assert banner.level is Level.WARNING
    assert "What you do is queued and sent when it is back." in banner.text()
    assert station.window.status.database_highlighted

    queue_work(station)
    supervisor_logout(station)
    log_in_offline(station)
    drill.close(station)

    # A new window on the same outbox while the network is still cut: from its replica.
    again = drill.open(outbox)
    status = again.window.status
    assert status.queue.text() == "Queue: 3 waiting" and status.queue_highlighted
    assert status.database.text().startswith("Database: out of reach since")
    again.log_in("D1", "receive")
    view = again.scan(WIDGET_GTIN)
    assert view.scans[0].state is ScanState.QUEUED and view.queue_depth == 4
    queued = view.queue_depth
    assert drill.warehouse.on_hand("DOCK-1", "WIDGET") == 0, "sent while the network was cut"

    view, drained_s = restore(drill, again)
    assert status.queue.text() == "Queue: 0" and not status.queue_highlighted
    assert status.database.text() == "Database: connected" and not status.database_highlighted
    assert "queued transaction(s) confirmed" in again.window.banner.text()
    assert again.window.banner.level is Level.OK
    assert again.shown_states()[0] == "confirmed"
    assert view.exceptions == ()

    # Every screen moves on: a receipt and a putaway go through at once.
    view = again.scan(WIDGET_GTIN)
    assert view.scans[0].state is ScanState.CONFIRMED, view.feedback
    again.scan("@CMD:MODE:PUTAWAY")
    again.scan("@CMD:QTY:1")
    view = again.scan(WIDGET_GTIN)
    assert view.feedback is None or view.feedback.level is not Level.ERROR, view.feedback
    view = again.scan(ONLINE_BIN)
    assert view.scans[0].state is ScanState.CONFIRMED, view.feedback
    drill.close(again)

    report = drill.check(outbox)
    warehouse = drill.warehouse
    on_hand = {code: warehouse.on_hand(code, "WIDGET") for code in ("DOCK-1", *BINS)}
    figures = {
        "test": "T14",
        "db": "postgresql",
        "banner_ms": round(banner_ms),
        "banner_limit_ms": BANNER_WITHIN_MS,
        "banner_within_limit": banner_ms < BANNER_WITHIN_MS,
        "queued": queued,
        "queue_after_restart": 3,
        "drained_s": round(drained_s, 2),
        "receives": confirmed_count(drill.engine, "receive"),
        "putaways": confirmed_count(drill.engine, "putaway"),
        **report.figures(),
        "invariants": report.invariants.get("total", 0),
    }
    emit(capsys, figures)

    assert report.ok, report.examples
    assert report.lost == 0 and report.duplicated == 0 and report.pending == 0
    assert figures["receives"] == 4 and figures["putaways"] == 2
    assert on_hand["DOCK-1"] == 2, on_hand
    assert on_hand[PUTAWAY_BIN] == 1 and on_hand[ONLINE_BIN] == 1, on_hand
    assert sum(on_hand.values()) == 4
    limit = BANNER_WITHIN_MS + BANNER_TOLERANCE_MS
    assert banner_ms < limit, f"the outage banner took {banner_ms:.0f} ms"


def copy_replica(outbox: Path, fresh: Path) -> None:
    """The station's copy of the warehouse, and only that, beside a fresh outbox."""
    uri = f"{bootstrap.replica_path(outbox).as_uri()}?mode=ro"
    with (
        closing(sqlite3.connect(uri, uri=True)) as source,
        closing(sqlite3.connect(bootstrap.replica_path(fresh))) as target,
    ):
        source.backup(target)


def test_t14_control_a_restart_on_a_fresh_outbox_is_caught_as_lost_work(
    drill: Drill, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = tmp_path / "outbox-ST-1.sqlite"
    station = drill.open(outbox)
    station.log_in("D1", "receive")
    cut(drill, station)
    queue_work(station)
    drill.close(station)

    # BROKEN on purpose: the station comes back on a new outbox file; its queue stays behind.
    fresh = tmp_path / "fresh" / "outbox-ST-1.sqlite"
    fresh.parent.mkdir()
    copy_replica(outbox, fresh)
    again = drill.open(fresh)
    assert again.window.status.queue.text() == "Queue: 0"
    again.log_in("D1", "receive")
    view, drained_s = restore(drill, again)
    drill.close(again)

    report = drill.check(outbox, fresh)
    emit(
        capsys,
        {
            "test": "T14",
            "control": "restart_on_a_fresh_outbox",
            "db": "postgresql",
            "queued": 3,
            "drained_s": round(drained_s, 2),
            **report.figures(),
            "detected": report.pending > 0,
        },
    )
    assert view.queue_depth == 0
    assert report.pending == 3, "the checker missed the queue left behind"
    assert not report.ok
    assert drill.warehouse.on_hand("DOCK-1", "WIDGET") == 0
