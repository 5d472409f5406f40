"""Ship mode through the real window on both databases, as a dock worker with a keyboard and a
touch screen would use it: F11 opens the ship screen, the picked order waits on a tile, a tap
puts it on screen with its lines, F10 (Confirm) ships it; the order is shipped and the outbound
lane is empty."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from app.domain.interpret import CommandName, StationMode
from app.domain.workflow import Level
from app.services.station_view import StationView
from app.ui.screens import MODE_KEYS, ShipScreen
from tests.gui import test_station_modes as modes
from tests.gui.test_station_window import WAIT_MS
from tests.support.scenarios import SHIP
from tests.support.shipping import order_status, stock_at
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

open_station = modes.open_station
"""The window over the real session, from the every-mode tests."""


def wait_for(
    station: modes.Station, act: Callable[[], None], shows: Callable[[StationView], bool]
) -> StationView:
    with station.qtbot.waitSignal(
        station.window.viewShown, timeout=WAIT_MS, check_params_cb=shows
    ) as blocker:
        act()
    view: StationView = blocker.args[0]
    return view


def test_a_picked_order_is_shipped_from_its_tile_and_the_confirm_key(
    open_station: Callable[[], modes.Station], warehouse: Warehouse
) -> None:
    SHIP.setup(warehouse)  # SO-1 picked into OUT-1
    station = open_station()
    window = station.window
    station.scan("D1")
    view = wait_for(
        station,
        lambda: QTest.keySequence(window, QKeySequence(MODE_KEYS[StationMode.SHIP])),
        lambda v: v.mode is StationMode.SHIP,
    )
    screen = window.screens[StationMode.SHIP]
    assert isinstance(screen, ShipScreen) and window.current_screen() is screen
    assert set(screen.action_buttons) == {
        CommandName.CONFIRM,
        CommandName.CANCELORDER,
        CommandName.CANCEL,
        CommandName.LOGOUT,
    }
    assert view.choices == ("SO-1",) and screen.choices.isVisible()
    tile = screen.choices.visualItemRect(screen.choices.item(0)).center()
    shown = wait_for(
        station,
        lambda: QTest.mouseClick(
            screen.choices.viewport(),
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            tile,
        ),
        lambda v: v.prompt.startswith("CONFIRM to ship SO-1"),
    )
    assert "line 1 BOLT: staged 3 of 3 ordered" in shown.lines
    assert screen.prompt.text() == "CONFIRM to ship SO-1, or CANCEL to leave it."
    assert window.banner.level is Level.OK
    done = wait_for(
        station,
        lambda: QTest.keySequence(window, QKeySequence("F10")),
        lambda v: v.feedback is not None and v.feedback.text.startswith("Shipped"),
    )
    assert done.feedback is not None and done.feedback.level is Level.OK
    assert window.banner.text() == "Shipped SO-1: 3 unit(s) to the customer."
    assert station.sounds.played[-1] is Level.OK and Level.ERROR not in station.sounds.played
    assert station.shown_states()[0] == "confirmed"
    assert not screen.choices.isVisible() or screen.choices.count() == 0
    assert order_status(warehouse, "SO-1") == "shipped"
    assert stock_at(warehouse, "OUT-1") == []
    assert warehouse.invariants().total == 0
