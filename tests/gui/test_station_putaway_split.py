"""A putaway split across two bins through the real station window on both databases (issue 12,
point 4): 400 widgets on the dock, bins of 150. The item scan offers what one suggested bin
takes, the bin scan puts those away and takes the rest as the next task at once, the keypad
changes how many go into a bin, and when no bin has room the station says how many stay on
the dock. Checked as the worker sees it (prompt, banner, keypad, sounds) and in the ledger
(the moves `perpetua moves` lists, the stock, no hold left behind)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from app import bootstrap
from app.adapters.db import queries
from app.adapters.db.uow import SqlLedger
from app.config import Settings
from app.domain.commands import Receive
from app.domain.interpret import StationMode
from app.domain.workflow import Level
from app.services.station_view import StationView
from app.ui.station_window import StationWindow
from tests.gui import test_station_modes as modes
from tests.gui.test_station_window import WAIT_MS
from tests.support.scenarios import WIDGET_GTIN
from tests.support.stow import bin_spec, counter_drift, hold_count, stow_warehouse
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

BINS = ("BIN-1", "BIN-2")
ASK = "Scan the bin; QTY or the keypad changes how many."


@pytest.fixture
def dock_of_400(engine: Engine, ledger: SqlLedger) -> Warehouse:
    """Two bins in the station's zone that take 150 units each, and 400 widgets on DOCK-1."""
    wh = stow_warehouse(
        engine, ledger, [bin_spec(code, "A", n, units=150) for n, code in enumerate(BINS, 1)]
    )
    received = wh.run(Receive, sku="WIDGET", qty=400, to_location="DOCK-1")
    assert received.ok, received.message
    return wh


@pytest.fixture
def station(
    qtbot: QtBot, qapp: QApplication, db_url: str, dock_of_400: Warehouse, tmp_path: Path
) -> Iterator[modes.Station]:
    """The window of station ST-1 (dock DOCK-1, zone A) over the real session."""
    windows: list[StationWindow] = []
    with ExitStack() as stack:
        url, outage = modes.proxied(db_url, stack)
        factory = bootstrap.station_factory(
            Settings(url, "test"), "ST-1", tmp_path / "outbox.sqlite"
        )
        opened = modes.start_window(qtbot, factory, outage)
        windows.append(opened.window)
        yield opened
        modes.shut_down(windows)


def suggested(view: StationView, portion: str) -> str:
    """The bin the prompt suggests for `portion` ("150 of 400 x WIDGET")."""
    found = re.fullmatch(
        rf"Put {portion} into (BIN-\d) \(suggested\)\. {re.escape(ASK)}", view.prompt
    )
    assert found is not None, view.prompt
    return found.group(1)


def banner(view: StationView) -> tuple[Level | None, str]:
    return (view.feedback.level, view.feedback.text) if view.feedback else (None, "")


def test_a_putaway_split_across_two_bins_through_the_window(
    station: modes.Station, dock_of_400: Warehouse, engine: Engine
) -> None:
    window, qtbot = station.window, station.qtbot
    station.log_in("D1", "putaway")
    screen = window.screens[StationMode.PUTAWAY]

    taken = station.scan(WIDGET_GTIN)
    first = suggested(taken, "150 of 400 x WIDGET")
    assert screen.prompt.text() == taken.prompt
    assert screen.keypad.isVisible()  # the station asks how many
    second = next(code for code in BINS if code != first)

    into_first = station.scan(first)
    assert banner(into_first) == (
        Level.OK,
        "Put 150 x WIDGET into " + first + ". Next: the other 250 x WIDGET.",
    )
    assert suggested(into_first, "150 of 250 x WIDGET") == second  # the next task, at once
    assert window.banner.text() == banner(into_first)[1]

    # The worker carries 100 of them: typed on the keypad at the bin step.
    with qtbot.waitSignal(
        window.viewShown,
        timeout=WAIT_MS,
        check_params_cb=lambda v: v.prompt.startswith("Put 100 of 250"),
    ) as blocker:
        for key in ("1", "0", "0", "enter"):
            screen.keypad.press(key)
    typed: StationView = blocker.args[0]
    station.inputs += 1  # the keypad's entry is an input too
    assert banner(typed) == (Level.OK, f"Quantity 100: put 100 of 250 x WIDGET into {second}.")
    assert suggested(typed, "100 of 250 x WIDGET") == second

    into_second = station.scan(second)
    assert banner(into_second)[1] == (
        f"Put 100 x WIDGET into {second}. Next: the other 150 x WIDGET."
    )
    assert suggested(into_second, "50 of 150 x WIDGET") == second  # its last room

    last = station.scan(second)
    assert banner(last) == (
        Level.WARNING,
        f"Put 50 x WIDGET into {second}. Next: the other 100 x WIDGET. No bin has room for the "
        "other 100 x WIDGET: they stay on DOCK-1. Tell a supervisor.",
    )
    assert window.banner.text() == banner(last)[1]
    assert last.prompt == "Scan an item or licence plate on DOCK-1 to put it away."
    assert not screen.keypad.isVisible()
    assert station.sounds.played[-1] is Level.WARNING
    assert Level.ERROR not in station.sounds.played
    # Newest first: the two bin scans, the keypad's 100, the first bin scan, the item.
    assert station.shown_states()[:5] == [
        "confirmed",
        "confirmed",
        "accepted",
        "confirmed",
        "accepted",
    ]

    # The ledger (what `perpetua moves` lists): three putaways by this station and operator,
    # into the two bins.
    with engine.connect() as c:
        rows = queries.moves(c, "WIDGET")
    putaways = [
        (row["from"], row["to"], row["qty"], row["station"], row["operator"])
        for row in rows
        if row["kind"] == "putaway"
    ]
    assert sorted(putaways) == sorted(
        [
            ("DOCK-1", first, 150, "ST-1", "D1"),
            ("DOCK-1", second, 100, "ST-1", "D1"),
            ("DOCK-1", second, 50, "ST-1", "D1"),
        ]
    )
    assert {code: dock_of_400.on_hand(code, "WIDGET") for code in (*BINS, "DOCK-1")} == {
        first: 150,
        second: 150,
        "DOCK-1": 100,
    }
    assert hold_count(engine) == 0 and counter_drift(engine) == []
    assert dock_of_400.invariants().total == 0
