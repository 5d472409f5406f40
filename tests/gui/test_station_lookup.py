"""Stock lookup through the real station window on both databases: a dock worker in receive mode
scans `@CMD:LOOKUP`, then a bin (what it holds, lots, expiry, on hand, reserved) and an item
label (every bin holding it, in pick-path order), then DONE back to receiving; a counter sees
the same bin without any quantity. Scans are typed as real key events at scanner speed; nothing
is sent to the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app import bootstrap
from app.config import Settings
from app.domain.commands import Opening, OpeningLine, Reserve
from app.domain.workflow import Level
from tests.gui.test_station_modes import Station, proxied, shut_down, start_window
from tests.support.warehouse import Warehouse

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

WIDGET_LABEL = "]C10105901234123457"
"""WIDGET's GTIN as a GS1-128 label sends it."""
LEAVE = "Scan another location or item to look it up; DONE or CANCEL goes back."


@pytest.fixture
def station(
    qtbot: QtBot, qapp: QApplication, db_url: str, warehouse: Warehouse, tmp_path: Path
) -> Iterator[Station]:
    """ST-1's window over a warehouse with WIDGET in two bins (two reserved) and a lot of MILK."""
    lines = (
        OpeningLine("WIDGET", "A-01-01", 3),
        OpeningLine("MILK", "A-01-01", 6, "L1", date(2031, 1, 1)),
        OpeningLine("WIDGET", "A-01-02", 7),
    )
    assert warehouse.run(Opening, lines=lines).ok
    reserve = {"order": "O", "line": 1, "sku": "WIDGET", "qty": 2, "location": "A-01-02"}
    assert warehouse.run(Reserve, **reserve).ok
    with ExitStack() as stack:
        url, outage = proxied(db_url, stack)
        factory = bootstrap.station_factory(
            Settings(url, "test"), "ST-1", tmp_path / "outbox.sqlite"
        )
        opened = start_window(qtbot, factory, outage)
        yield opened
        shut_down([opened.window])


def shown_lines(station: Station) -> str:
    return station.window.current_screen().lines.text()  # type: ignore[attr-defined,no-any-return]


def shown_prompt(station: Station) -> str:
    return station.window.current_screen().prompt.text()  # type: ignore[attr-defined,no-any-return]


def test_a_dock_worker_looks_up_a_bin_and_an_item(station: Station) -> None:
    receiving = station.log_in("D1", "receive")
    asked = station.scan("@CMD:LOOKUP")
    assert asked.prompt.startswith("Lookup: scan a location label")
    looked = station.scan("A-01-01")
    assert looked.feedback is not None and looked.feedback.level is Level.OK
    assert looked.prompt.startswith("A-01-01 holds 9 unit(s) of 2 SKUs and lots (station's copy, ")
    assert looked.prompt.endswith(LEAVE)
    assert looked.lines == (
        "MILK Milk 1 l, lot L1, expires 2031-01-01: on hand 6, reserved 0, available 6",
        "WIDGET Blue widget, no lot: on hand 3, reserved 0, available 3",
    )
    assert shown_lines(station) == "\n".join(looked.lines)
    assert shown_prompt(station) == looked.prompt

    found = station.scan(WIDGET_LABEL)
    assert found.prompt.startswith(
        "WIDGET Blue widget: 8 available, 10 on hand in 2 locations, 2 reserved (station's copy"
    )
    assert found.lines == (
        "A-01-01: no lot: available 3 (on hand 3, reserved 0)",
        "A-01-02: no lot: available 5 (on hand 7, reserved 2)",
    )
    assert shown_lines(station) == "\n".join(found.lines)

    back = station.scan("@CMD:DONE")
    assert back.prompt == receiving.prompt
    assert back.feedback is not None and back.feedback.text == "Lookup closed: nothing was changed."
    assert back.mode is not None and back.mode.value == "receive"
    assert back.transactions == ()  # the lookup sent nothing


def test_a_counter_sees_no_quantities(station: Station) -> None:
    station.log_in("C1", "count")
    station.scan("@CMD:LOOKUP")
    looked = station.scan("A-01-02")
    assert looked.prompt.startswith("A-01-02 holds 1 SKU and lot (station's copy, ")
    assert looked.lines == ("WIDGET Blue widget, no lot",)
    found = station.scan(WIDGET_LABEL)
    assert found.prompt.startswith("WIDGET Blue widget stands in 2 locations (station's copy")
    assert found.lines == ("A-01-01: no lot", "A-01-02: no lot")
    on_screen = shown_prompt(station) + shown_lines(station)
    for word in ("on hand", "reserved", "available", "unit"):
        assert word not in on_screen
    assert station.scan("@CMD:CANCEL").prompt.startswith("Scan the")
