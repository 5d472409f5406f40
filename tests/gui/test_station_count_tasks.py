"""Count tasks on a counter's station through the real window on both databases: tasks raised
through the ledger (one while the station is already open) wait on the count screen's tiles in
pick-path order, blind (no reason, which names quantities); a tap on a tile starts the count of
that bin, DONE posts it and the tile is gone. A task assigned to another counter is not shown to
this one, and is on that counter's tiles when they log in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from sqlalchemy import select

from app.adapters.db import catalogue
from app.adapters.db.schema import CountTaskRow, LocationRow, table
from app.domain.catalogue import OperatorSpec
from app.domain.commands import Opening, OpeningLine, RaiseCount
from app.domain.interpret import StationMode
from app.domain.model import Role
from app.domain.workflow import Level
from app.services.station_view import StationView
from app.ui.screens import CountScreen
from tests.gui import test_station_modes as modes
from tests.gui.test_station_ship import wait_for
from tests.integration.test_count_tasks_for import assign
from tests.support.scenarios import WIDGET_GTIN
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

open_station = modes.open_station
"""The window over the real session, from the every-mode tests."""

SHORT = "short pick: 3 of 5 WIDGET found"
WAITING = "for you: scan a bin or touch it below."


def task_state(warehouse: Warehouse, location: str) -> list[str]:
    t, loc = table(CountTaskRow), table(LocationRow)
    with warehouse.engine.connect() as c:
        rows = c.execute(
            select(t.c.state).join(loc, loc.c.id == t.c.location_id).where(loc.c.code == location)
        )
        return [str(state) for state in rows.scalars()]


def tiles(station: modes.Station) -> tuple[str, ...]:
    """The codes on the count screen's tiles, as shown."""
    return station.window.screens[StationMode.COUNT].choices.codes


def tap(station: modes.Station, code: str, shows: Callable[[StationView], bool]) -> StationView:
    """A finger on `code`'s tile of the count screen (an input, as a scan is)."""
    station.inputs += 1
    tiles = station.window.screens[StationMode.COUNT].choices
    tile = tiles.visualItemRect(tiles.item(tiles.codes.index(code))).center()
    return wait_for(
        station,
        lambda: QTest.mouseClick(
            tiles.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, tile
        ),
        shows,
    )


def log_out(station: modes.Station) -> StationView:
    """`@CMD:LOGOUT` scanned; the view answering it (a logged-out screen lists no scans)."""
    station.inputs += 1

    def scan() -> None:
        station.keyboard.pause()
        station.keyboard.type("@CMD:LOGOUT\r")

    return wait_for(station, scan, lambda v: v.input_seq == station.inputs)


def test_a_counter_counts_a_task_from_its_tile_and_the_tile_goes(
    open_station: Callable[[], modes.Station], warehouse: Warehouse
) -> None:
    lines = (OpeningLine("WIDGET", "A-01-02", 3), OpeningLine("BOLT", "A-01-01", 4))
    assert warehouse.run(Opening, lines=lines).ok
    with warehouse.engine.begin() as c:
        catalogue.add_operators(c, [OperatorSpec("C2", "Cid Counter", Role.COUNTER)])
    assert warehouse.run(RaiseCount, location="B-01-01", reason="a doubt").ok
    assert warehouse.run(RaiseCount, location="A-01-01", reason="a doubt").ok
    assign(warehouse.engine, "A-01-01", to="C2")
    station = open_station()
    # Raised while the station is open: the login's refresh brings it.
    assert warehouse.run(RaiseCount, location="A-01-02", reason=SHORT).ok

    view = station.log_in("C1", "count")
    screen = station.window.current_screen()
    assert isinstance(screen, CountScreen)
    assert view.choices == ("A-01-02", "B-01-01")  # pick-path order; A-01-01 is C2's
    assert screen.choices.isVisible() and tiles(station) == view.choices
    assert view.prompt == f"2 count tasks {WAITING}" == screen.prompt.text()
    on_screen = screen.prompt.text() + screen.lines.text()
    assert "short" not in on_screen and "3 of 5" not in on_screen and "doubt" not in on_screen

    counting = tap(station, "A-01-02", lambda v: v.prompt.startswith("Count everything"))
    assert counting.prompt.startswith("Count everything in A-01-02")
    assert counting.scans[0].text == "A-01-02" and counting.choices == ()
    assert not screen.choices.isVisible()
    for _ in range(3):
        station.scan(WIDGET_GTIN)
    done = station.scan("@CMD:DONE")
    assert done.feedback is not None and done.feedback.level is Level.OK, done.feedback
    assert done.feedback.text.startswith("Count of A-01-02 posted: 0 adjustment(s).")
    assert done.choices == ("B-01-01",) and tiles(station) == ("B-01-01",)
    assert done.prompt == f"1 count task {WAITING}"
    assert task_state(warehouse, "A-01-02") == ["done"]
    assert warehouse.on_hand("A-01-02", "WIDGET") == 3

    # The other counter finds the task assigned to them, first on the pick path.
    out = log_out(station)
    assert out.operator is None, out.feedback
    theirs = station.log_in("C2", "count")
    assert theirs.choices == ("A-01-01", "B-01-01")
    assert warehouse.invariants().total == 0
