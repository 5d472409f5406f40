"""Every station mode end to end through the real window on both databases: the session built by
the composition root on the window's worker thread, the badge, the mode barcode and every scan of
the mode's scenario typed as real key events at scanner speed, each answer waited for on screen,
then the stock in the database and what the operator sees (banner, sounds, the last scans).

On PostgreSQL the window reaches the database through a loopback TCP proxy, so that a test that
needs an outage cuts the network for real (`station.outage.cut.set()`); the GUI outage drill
itself is T14 (tests/gui/test_drill_t14.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy.engine import make_url

from app import bootstrap
from app.config import Settings
from app.domain.interpret import StationMode
from app.domain.wedge import WedgeConfig
from app.domain.workflow import Level
from app.services.station_view import ScanState, StationView
from app.ui.station_window import StationWindow
from app.ui.station_worker import SessionFactory
from app.ui.supervisor import Desk
from app.ui.wedge_filter import WedgeFilter
from tests.gui.test_station_screens import RecordingSoundPlayer
from tests.gui.test_station_window import WAIT_MS
from tests.gui.test_wedge_filter import Keyboard
from tests.support.drill import through_proxy
from tests.support.proxy import TcpProxy
from tests.support.scenarios import SCENARIOS, Scenario
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

DRAIN_MS = 200
"""The drain timer's interval in these tests: short, so a lifted outage is noticed at once."""
BADGES = WedgeConfig(min_length=2)
"""The test warehouse's badges are two characters ("D1"); this station's scanners are set up to
send codes that short as scans (the default, 4, would hand them to the focused widget)."""


class NetworkCut:
    """The network between a station and PostgreSQL, a loopback TCP proxy: `set()` resets every
    live connection and every new one (what a dead switch does to TCP), `clear()` forwards
    again. A station on SQLite has no network: a test that cuts one runs on PostgreSQL only."""

    def __init__(self, proxy: TcpProxy | None) -> None:
        self.proxy = proxy
        self._cut = False

    def set(self) -> None:
        assert self.proxy is not None, "only a station on PostgreSQL has a network to cut"
        self.proxy.cut("reset")
        self._cut = True

    def clear(self) -> None:
        if self.proxy is not None and self._cut:
            self.proxy.restore()
        self._cut = False

    def is_set(self) -> bool:
        return self._cut


@dataclass(frozen=True)
class Outage:
    """How a test takes the database away from a station: `cut.set()`, and back: `cut.clear()`."""

    cut: NetworkCut = field(default_factory=lambda: NetworkCut(None))


def proxied(db_url: str, stack: ExitStack) -> tuple[str, Outage]:
    """`db_url` as a station reaches it: PostgreSQL through a proxy (started on `stack`) that
    the returned outage cuts; SQLite as it is."""
    if make_url(db_url).get_backend_name() != "postgresql":
        return db_url, Outage()
    url = make_url(db_url)
    proxy = stack.enter_context(TcpProxy(url.host or "127.0.0.1", url.port or 5432))
    return through_proxy(db_url, proxy), Outage(NetworkCut(proxy))


@dataclass
class Station:
    """A started window over the real session, and a keyboard that types scans into it."""

    window: StationWindow
    sounds: RecordingSoundPlayer
    outage: Outage
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
    """Opens the station window ST-1 on the test database (after the test's own setup); its
    threads have all ended after the test."""
    windows: list[StationWindow] = []
    with ExitStack() as stack:
        url, outage = proxied(db_url, stack)

        def open_it() -> Station:
            factory = bootstrap.station_factory(
                Settings(url, "test"), "ST-1", tmp_path / "outbox.sqlite"
            )
            station = start_window(qtbot, factory, outage)
            windows.append(station.window)
            return station

        yield open_it
        shut_down(windows)  # before the proxy goes


def start_window(
    qtbot: QtBot,
    factory: SessionFactory,
    outage: Outage | None = None,
    drain_interval_ms: int = DRAIN_MS,
    desk_factory: Callable[[], Desk] | None = None,
) -> Station:
    """A station window over the session `factory` builds, shown, started, at its login.
    `outage`: how the test may cut it from its database (None: it cannot). `desk_factory`: the
    supervisor's screen's desk (None: the window has no supervisor's screen)."""
    sounds = RecordingSoundPlayer()
    window = StationWindow(
        factory,
        sounds=sounds,
        wedge=WedgeFilter(BADGES),
        drain_interval_ms=drain_interval_ms,
        desk_factory=desk_factory,
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
    return Station(window, sounds, outage or Outage(), qtbot, Keyboard(window))


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
