"""A supervisor's CANCELORDER at the ship station through the real window on both databases
(issue 9): the dock worker scans the picked order, scans CANCELORDER, the supervisor scans their
badge and types the PIN on the keypad (sent to the worker as the keypad sends it). Checked as the
people at the station notice it: the banner, the put-back list under the prompt, the sound, the
last scans; and in the database: the order cancelled, none of its reservations open, `perpetua
orders --state cancelled` listing it, the goods still in the outbound lane for the putaway."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.domain.interpret import StationMode
from app.domain.workflow import Entry, Level
from app.ui.screens import ShipScreen
from tests.gui import test_station_modes as modes
from tests.gui.test_station_window import WAIT_MS
from tests.integration.test_station_cancel import cancelled_orders, reservations, stock
from tests.support.shipping import order_status, pick_order
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

open_station = modes.open_station
"""The window over the real session, from the every-mode tests."""


def banner_level(station: modes.Station) -> Level | None:
    """The banner's colour now (a call, so that the checker does not carry one over)."""
    return station.window.banner.level


def test_a_supervisor_cancels_a_picked_order_at_the_ship_station_window(
    open_station: Callable[[], modes.Station], warehouse: Warehouse, db_url: str
) -> None:
    stock(warehouse)  # SO-1: 3 BOLT, 2 WIDGET
    pick_order(warehouse, "SO-1", into="OUT-1")
    station = open_station()
    window = station.window
    station.log_in("D1", "ship")
    screen = window.screens[StationMode.SHIP]
    assert isinstance(screen, ShipScreen) and window.current_screen() is screen

    shown = station.scan("SO-1")
    assert shown.feedback is not None and shown.feedback.level is Level.OK, shown.feedback
    assert "line 2 WIDGET: staged 2 of 2 ordered" in screen.lines.text()

    station.scan("@CMD:CANCELORDER")
    assert banner_level(station) is Level.WARNING
    assert window.banner.text() == (
        "Dana Dock (dock) may not cancel SO-1 alone: a supervisor must approve."
    )
    assert screen.prompt.text().startswith(
        "Supervisor: scan your badge to approve cancelling order SO-1"
    )
    assert order_status(warehouse, "SO-1") == "picked"  # nothing sent yet

    badge = station.scan("S1")
    assert badge.entry is Entry.PIN, badge.prompt
    assert screen.prompt.text() == "Supervisor S1: enter your PIN on the keypad."

    with station.qtbot.waitSignal(
        window.viewShown, timeout=WAIT_MS, check_params_cb=lambda v: v.feedback is not None
    ) as blocker:
        window.worker.submit_entry("123456")  # the PIN, as the keypad sends it
    done = blocker.args[0]
    assert done.feedback is not None and done.feedback.level is Level.OK, done.feedback
    assert banner_level(station) is Level.OK
    assert window.banner.text() == (
        "Cancelled SO-1, approved by S1. Put its picked goods back to stock: the putaway "
        "screen offers them."
    )
    shown_lines = screen.lines.text().splitlines()
    assert "put back: 3 x BOLT in OUT-1 (the putaway screen offers them)" in shown_lines
    assert "put back: 2 x WIDGET in OUT-1 (the putaway screen offers them)" in shown_lines
    assert screen.prompt.text().startswith("Scan the order to ship")
    assert station.sounds.played[-1] is Level.OK and Level.ERROR not in station.sounds.played
    # Newest first: the PIN (masked) sent the cancellation, confirmed in green.
    assert station.shown_states()[0] == "confirmed"
    pin = screen.scans.item(0, 0)
    assert pin is not None and pin.text() == "(PIN)"
    assert window.status.queue.text() == "Queue: 0"

    assert order_status(warehouse, "SO-1") == "cancelled"
    assert reservations(warehouse, "SO-1").get("open", 0) == 0
    assert [(r["order"], r["state"]) for r in cancelled_orders(db_url)] == [
        ("SO-1", "cancelled"),
        ("SO-1", "cancelled"),
    ]
    assert warehouse.on_hand("OUT-1", "BOLT") == 3  # waits in the lane for the putaway
    assert warehouse.on_hand("OUT-1", "WIDGET") == 2
    assert warehouse.on_hand("CUSTOMER", "BOLT") == 0
    assert warehouse.invariants().total == 0
