"""Every station mode end to end through the real window on both databases: the session built by
the composition root on the window's worker thread, the badge, the mode barcode and every scan of
the mode's scenario typed as real key events at scanner speed, each answer waited for on screen,
then the stock in the database and what the operator sees (banner, sounds, the last scans).
And the GUI under an outage (RELIABILITY.md T14): receipts queue, the status strip says so,
logging out needs a supervisor, and once the database is back the drain timer sends the queue
exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app import bootstrap
from app.config import Settings
from app.domain.commands import Command
from app.domain.interpret import StationMode
from app.domain.ledger import Outcome
from app.domain.ports import DatabaseUnavailable, UnitOfWorkFactory
from app.domain.wedge import WedgeConfig
from app.domain.workflow import Entry, Level
from app.services.station import StationSession
from app.services.station_view import ScanState, StationView
from app.ui.station_window import StationWindow
from app.ui.wedge_filter import WedgeFilter
from tests.gui.test_station_screens import RecordingSoundPlayer
from tests.gui.test_station_window import WAIT_MS
from tests.gui.test_wedge_filter import Keyboard
from tests.support.scenarios import SCENARIOS, WIDGET_GTIN, Scenario
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

DRAIN_MS = 200
"""The drain timer's interval in these tests: short, so a lifted outage is noticed at once."""
QUEUE_SHOWN_S = 1.0
"""RELIABILITY.md T14: the queue is on screen within a second of the scan that queued."""
BADGES = WedgeConfig(min_length=2)
"""The test warehouse's badges are two characters ("D1"); this station's scanners are set up to
send codes that short as scans (the default, 4, would hand them to the focused widget)."""


class OutageSwitch:
    """The network between the station and the database: while `cut` is set, every transaction
    the session sends fails as an outage. Set on the GUI thread, read on the worker's."""

    def __init__(self) -> None:
        self.cut = threading.Event()

    def wrap(
        self, submit: Callable[[Command, UnitOfWorkFactory], Outcome]
    ) -> Callable[[Command, UnitOfWorkFactory], Outcome]:
        def cuttable(command: Command, uow: UnitOfWorkFactory) -> Outcome:
            if self.cut.is_set():
                raise DatabaseUnavailable("connection refused")
            return submit(command, uow)

        return cuttable


class RealSessionFactory:
    """`bootstrap.station_factory` for a station (ST-1 unless told), with the outage switch put
    between the session it builds (on the worker's thread) and the ledger."""

    def __init__(
        self, db_url: str, outbox: Path, outage: OutageSwitch, station: str = "ST-1"
    ) -> None:
        self._build = bootstrap.station_factory(Settings(db_url, "test"), station, outbox)
        self._outage = outage

    def __call__(self) -> StationSession:
        session = self._build()
        session._submit = self._outage.wrap(session._submit)
        return session


@dataclass
class Station:
    """A started window over the real session, and a keyboard that types scans into it."""

    window: StationWindow
    sounds: RecordingSoundPlayer
    outage: OutageSwitch
    qtbot: QtBot
    keyboard: Keyboard
    inputs: int = 0

    def scan(self, text: str) -> StationView:
        """`text` and Enter at scanner speed, after a pause; the view answering it, on screen."""
        self.inputs += 1
        seq = self.inputs
        with self.qtbot.waitSignal(
            self.window.viewShown,
            timeout=WAIT_MS,
            check_params_cb=lambda view: view.input_seq == seq,
        ) as blocker:
            self.keyboard.pause()
            self.keyboard.type(text + "\r")
        view: StationView = blocker.args[0]
        assert view.scans and view.scans[0].text == text, "the scan arrived changed or not at all"
        assert view.scans[0].source == "wedge", "the scan reached the session not as a scan"
        return view

    def log_in(self, badge: str, mode: str) -> StationView:
        view = self.scan(badge)
        assert view.operator is not None and view.operator.badge == badge, view.feedback
        view = self.scan(f"@CMD:MODE:{mode.upper()}")
        assert view.mode is not None and view.mode.value == mode, view.feedback
        assert self.window.current_screen() is self.window.screens[view.mode]
        return view

    def shown_states(self) -> list[str]:
        """The State column of the last scans as the screen shows them, newest first."""
        table = self.window.current_screen().scans  # type: ignore[attr-defined]
        return [table.state_of(row) for row in range(table.rowCount())]


@pytest.fixture
def open_station(
    qtbot: QtBot, qapp: QApplication, db_url: str, warehouse: Warehouse, tmp_path: Path
) -> Iterator[Callable[[], Station]]:
    """Opens the station window on the test database (after the test's own setup); its threads
    have all ended after the test."""
    windows: list[StationWindow] = []

    def open_it() -> Station:
        outage = OutageSwitch()
        station = start_window(
            qtbot, RealSessionFactory(db_url, tmp_path / "outbox.sqlite", outage), outage
        )
        windows.append(station.window)
        return station

    yield open_it
    shut_down(windows)


def start_window(qtbot: QtBot, factory: RealSessionFactory, outage: OutageSwitch) -> Station:
    """A station window over the session `factory` builds, shown, started, at its login."""
    sounds = RecordingSoundPlayer()
    window = StationWindow(
        factory, sounds=sounds, wedge=WedgeFilter(BADGES), drain_interval_ms=DRAIN_MS
    )
    window.wedge.setParent(window)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitActive(window)
    with qtbot.waitSignal(
        window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.operator is None
    ):
        window.start()
    assert window.current_screen() is window.login
    return Station(window, sounds, outage, qtbot, Keyboard(window))


def shut_down(windows: list[StationWindow]) -> None:
    """Every window's threads have ended."""
    for window in windows:
        assert window.shutdown(), "a thread of the station window did not end"
        assert not window.worker.running


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_each_mode_by_scans_through_the_window(
    scenario: Scenario, open_station: Callable[[], Station], warehouse: Warehouse
) -> None:
    scenario.setup(warehouse)
    station = open_station()
    station.log_in(scenario.operator, scenario.mode)
    for text in scenario.scans:
        view = station.scan(text)
        assert view.scans[0].state not in (ScanState.REFUSED, ScanState.REJECTED), (
            text,
            view.feedback,
        )
        assert station.shown_states()[0] not in ("refused", "rejected")
    scenario.check(warehouse)
    assert warehouse.invariants().total == 0
    window = station.window
    # What the operator noticed: the last answer was green, with the beep for ok, ...
    assert view.feedback is not None and view.feedback.level is Level.OK, view.feedback
    assert window.banner.level is Level.OK
    assert window.banner.text() == view.feedback.text
    assert station.sounds.played[-1] is Level.OK
    assert Level.ERROR not in station.sounds.played
    # ... the scans that moved stock are confirmed in green, none waits, none was refused ...
    states = station.shown_states()
    assert len(states) == len(scenario.scans) + 2  # with the badge and the mode barcode
    assert "confirmed" in states
    assert not {"queued", "refused", "rejected"} & set(states), states
    # ... and the status strip shows an empty queue and a connected database.
    assert window.status.queue.text() == "Queue: 0"
    assert window.status.database.text() == "Database: connected"
    assert window.current_screen() is window.screens[StationMode(scenario.mode)]


def test_a_refused_scan_shows_red_and_buzzes(
    open_station: Callable[[], Station], warehouse: Warehouse
) -> None:
    station = open_station()
    station.log_in("D1", "receive")
    played = len(station.sounds.played)
    view = station.scan("NOT-A-CODE")
    window = station.window
    assert view.feedback is not None and view.feedback.level is Level.ERROR
    assert window.banner.level is Level.ERROR
    assert "NOT-A-CODE" in window.banner.text()
    assert station.sounds.played[played:] == [Level.ERROR]
    assert station.shown_states()[0] == "refused"
    assert window.current_screen().prompt.text() == view.prompt  # type: ignore[attr-defined]
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 0


def test_t14_receipts_queue_in_an_outage_and_drain_once_when_it_ends(
    open_station: Callable[[], Station], warehouse: Warehouse
) -> None:
    """RELIABILITY.md T14: the queue is on screen at once, logout is blocked while it is not
    empty, and the drain timer sends it, exactly once, when the database is back."""
    station = open_station()
    window, status = station.window, station.window.status
    station.log_in("D1", "receive")
    station.outage.cut.set()
    for _ in range(2):
        started = time.monotonic()
        view = station.scan(WIDGET_GTIN)
        shown_after = time.monotonic() - started
        assert view.scans[0].state is ScanState.QUEUED
    # The view answering the second receipt is on screen: the strip shows the queue and the
    # outage, within T14's second of the scan.
    assert shown_after < QUEUE_SHOWN_S
    assert status.queue.text() == "Queue: 2 waiting"
    assert status.queue_highlighted
    assert status.database.text() == "Database: unreachable: connection refused"
    assert status.database_highlighted
    assert station.shown_states()[:2] == ["queued", "queued"]
    assert window.banner.level is Level.WARNING and "is queued" in window.banner.text()
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 0

    logout = station.scan("@CMD:LOGOUT")
    assert logout.operator is not None, "logged out with transactions still queued"
    assert window.current_screen() is window.screens[StationMode.RECEIVE]
    assert "Supervisor" in logout.prompt and "approve" in logout.prompt
    assert window.banner.level is Level.WARNING
    assert "supervisor must approve" in window.banner.text()
    back = station.scan("@CMD:CANCEL")
    assert back.operator is not None and back.entry is not Entry.PIN

    with station.qtbot.waitSignal(
        window.viewShown,
        timeout=WAIT_MS,
        check_params_cb=lambda v: v.queue_depth == 0 and v.database_ok,
    ):
        station.outage.cut.clear()
    assert status.queue.text() == "Queue: 0"
    assert not status.queue_highlighted
    assert status.database.text() == "Database: connected"
    assert not status.database_highlighted
    # Newest first: CANCEL, LOGOUT, then the two receipts, now confirmed in green.
    assert station.shown_states()[2:4] == ["confirmed", "confirmed"]
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 2
    station.qtbot.wait(3 * DRAIN_MS)  # more drain ticks: nothing is sent twice
    assert warehouse.on_hand("DOCK-1", "WIDGET") == 2
